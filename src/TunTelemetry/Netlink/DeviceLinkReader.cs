namespace TunTelemetry.Netlink;

/// <summary>
/// Reads one device, of the agent's namespace or another, over a <see cref="RouteSocket"/> of its own: its counters
/// for a poller and its link for the link-state gauges. It keeps what every read of the device needs: its namespace
/// (<see cref="LinkTarget"/>) and its name, which a read of another namespace checks (<see cref="RouteSocket.ReadStats"/>;
/// null only for a device of ours).
/// </summary>
internal sealed class DeviceLinkReader(RouteSocket socket, LinkTarget target, string? name) : ILinkStatsReader
{
    public static DeviceLinkReader Open(NetlinkSocketOptions options, LinkTarget target, string? name) =>
        new(RouteSocket.Open(options), target, name);

    public LinkStats64 Read(int ifIndex) => socket.ReadStats(target, ifIndex, name);

    /// <summary>The device's link by its ifindex; null when it (or its namespace) is gone.</summary>
    public LinkDescription? GetLink(int ifIndex) => socket.GetLink(target, ifIndex);

    public void Dispose() => socket.Dispose();
}
