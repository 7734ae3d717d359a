using TunTelemetry.Netlink;

namespace TunTelemetry.Devices;

public enum TunDeviceKind
{
    Tun,
    Tap,
}

/// <summary>
/// One TUN or TAP device. The ifindex is its identity: a device deleted and re-created under the same name gets a new
/// one, and is a new device with counters starting from zero. Ifindexes are per network namespace: a device read
/// from another namespace carries it in <see cref="Namespace"/>, and (namespace, ifindex) is then its identity.
/// </summary>
public sealed record TunDevice(int IfIndex, string Name, TunDeviceKind Kind)
{
    /// <summary>The device's interface index in its namespace.</summary>
    public int IfIndex { get; internal init; } = IfIndex;

    /// <summary>The device's name in its namespace (<c>network.interface.name</c>).</summary>
    public string Name { get; internal init; } = Name;

    public TunDeviceKind Kind { get; internal init; } = Kind;

    /// <summary>
    /// The namespace of a device read from another network namespace (with <c>--all-namespaces</c>); null for a device
    /// of the agent's own namespace, in either mode (with <c>--all-namespaces</c> its series still carry the agent's
    /// own namespace's attributes). A device with a namespace cannot be read through the agent's <c>/sys/class/net</c>
    /// or its own netlink sockets by ifindex.
    /// </summary>
    public DeviceNamespace? Namespace
    {
        get => Home.IsAgents ? null : Home;
        internal init => Home = value ?? DeviceNamespace.Agents;
    }

    /// <summary>
    /// The device's namespace, never null: the agent's own is <see cref="DeviceNamespace.Agents"/>, flagged
    /// <see cref="DeviceNamespace.IsAgents"/>. What the code asks; <see cref="Namespace"/> keeps the null that the 1.0
    /// API gives extensions for the agent's own.
    /// </summary>
    internal DeviceNamespace Home { get; private init; } = DeviceNamespace.Agents;

    /// <summary>Where its netlink requests go: the agent's own namespace, or another by its id in ours.</summary>
    internal LinkTarget Target => Home.IsAgents ? LinkTarget.Own : LinkTarget.Namespace(Home.Nsid);

    /// <summary>(namespace inode, ifindex): what tells devices apart.</summary>
    internal DeviceId Identity => new(Home.Inode, IfIndex);

    internal string KindName => Kind == TunDeviceKind.Tap ? LinkKinds.Tap : LinkKinds.Tun;

    internal static TunDevice? FromLink(LinkDescription link) => link.Kind switch
    {
        LinkKinds.Tun => new TunDevice(link.IfIndex, link.Name, TunDeviceKind.Tun),
        LinkKinds.Tap => new TunDevice(link.IfIndex, link.Name, TunDeviceKind.Tap),
        _ => null,
    };

    public override string ToString() => Home.IsAgents
        ? $"{Name} (ifindex {IfIndex}, {KindName})"
        : $"{Name} (ifindex {IfIndex}, {KindName}, netns {Home.Name})";
}
