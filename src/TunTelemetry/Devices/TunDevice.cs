using TunTelemetry.Netlink;

namespace TunTelemetry.Devices;

public enum TunDeviceKind
{
    Tun,
    Tap,
}

/// <summary>
/// One TUN or TAP device. The ifindex is its identity: a device deleted and re-created under the same name gets a new
/// one, and is a new device with counters starting from zero.
/// </summary>
public sealed record TunDevice(int IfIndex, string Name, TunDeviceKind Kind)
{
    public string KindName => Kind == TunDeviceKind.Tap ? LinkKinds.Tap : LinkKinds.Tun;

    public static TunDevice? FromLink(LinkDescription link) => link.Kind switch
    {
        LinkKinds.Tun => new TunDevice(link.IfIndex, link.Name, TunDeviceKind.Tun),
        LinkKinds.Tap => new TunDevice(link.IfIndex, link.Name, TunDeviceKind.Tap),
        _ => null,
    };

    public override string ToString() => $"{Name} (ifindex {IfIndex}, {KindName})";
}
