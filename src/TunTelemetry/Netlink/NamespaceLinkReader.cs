namespace TunTelemetry.Netlink;

/// <summary>
/// Reads one device of another network namespace over its own socket in the agent's namespace, by the namespace's id
/// in ours (<c>IFLA_TARGET_NETNSID</c>): its counters for a poller (RTM_GETLINK, since RTM_GETSTATS cannot be
/// targeted; measured about 1.5–1.9× an RTM_GETSTATS poll, docs/performance.md) and its link for the link-state gauges.
/// </summary>
/// <remarks>
/// The reply's name is checked against the device's: a namespace id is reused once its namespace dies, and a poll
/// through a reused id must find the device gone, not read a stranger's counters.
/// </remarks>
internal sealed class NamespaceLinkReader(NetnsRouteSocket socket, int nsid, string name) : ILinkStatsReader, ILinkLookup
{
    public static NamespaceLinkReader Open(NetlinkSocketOptions options, int nsid, string name) =>
        new(NetnsRouteSocket.Open(options), nsid, name);

    public LinkStats64 Read(int ifIndex) => socket.ReadStats(nsid, ifIndex, name);

    public LinkDescription? GetLink(int ifIndex) => socket.GetLink(nsid, ifIndex);

    public void Dispose() => socket.Dispose();
}
