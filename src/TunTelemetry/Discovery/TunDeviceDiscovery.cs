using TunTelemetry.Devices;
using TunTelemetry.Netlink;

namespace TunTelemetry.Discovery;

/// <summary>Finds the TUN/TAP devices of this network namespace with one RTM_GETLINK dump.</summary>
internal static class TunDeviceDiscovery
{
    public static IReadOnlyList<TunDevice> List(RouteSocket socket, DeviceSelection selection)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(selection);
        return socket.DumpLinks(LinkTarget.Own)
            .Select(selection.Select)
            .OfType<TunDevice>()
            .OrderBy(d => d.IfIndex)
            .ToArray();
    }
}
