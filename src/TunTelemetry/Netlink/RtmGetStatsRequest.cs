namespace TunTelemetry.Netlink;

/// <summary>
/// Encodes the 28-byte <c>RTM_GETSTATS</c> request for one ifindex with filter <c>IFLA_STATS_LINK_64</c>. No
/// <c>NLM_F_ACK</c>: the kernel then answers with exactly one message, RTM_NEWSTATS or NLMSG_ERROR.
/// </summary>
internal static class RtmGetStatsRequest
{
    public const int Size = NetlinkHeader.Size + IfStatsMsg.Size;

    public static int Write(Span<byte> destination, uint sequence, int ifIndex)
    {
        new NetlinkHeader(Size, NetlinkMessageType.GetStats, NetlinkMessageFlags.Request, sequence, PortId: 0)
            .Write(destination);
        new IfStatsMsg(Family: 0, ifIndex, IfStatsMsg.StatsLink64FilterMask).Write(destination[NetlinkHeader.Size..]);
        return Size;
    }
}
