using TunTelemetry.Devices;
using TunTelemetry.Discovery;
using TunTelemetry.Netlink;

namespace TunTelemetry.Perf;

/// <summary>The devices a benchmark runs over: those whose names start with a prefix (perf/run.sh makes tb0, tb1, ...).</summary>
public static class PerfDevices
{
    public static TunDevice[] List(string prefix)
    {
        using RouteSocket socket = RouteSocket.Open();
        return TunDeviceDiscovery.List(socket, new DeviceSelection(include: [$"^{prefix}"])).ToArray();
    }
}
