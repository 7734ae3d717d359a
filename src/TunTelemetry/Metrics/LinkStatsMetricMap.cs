using TunTelemetry.Netlink;

namespace TunTelemetry.Metrics;

/// <summary>One kernel counter feeding one counter series (besides the device name attribute).</summary>
/// <param name="Detailed">Exported only when <c>tuntelemetry.metrics.detailed = on</c>.</param>
internal sealed record LinkStatsMetricBinding(
    LinkStats64Field Field, string Metric, string Unit, string? Direction, string? ErrorType, bool Detailed)
{
    /// <summary>The binding's own attributes: its direction and error type, where it has them.</summary>
    internal KeyValuePair<string, object?>[] Tags()
    {
        var tags = new List<KeyValuePair<string, object?>>(2);
        if (Direction is not null)
        {
            tags.Add(new(MetricNames.Direction, Direction));
        }

        if (ErrorType is not null)
        {
            tags.Add(new(MetricNames.ErrorType, ErrorType));
        }

        return [.. tags];
    }
}

/// <summary>
/// Where every <c>rtnl_link_stats64</c> field goes: the single table behind both the instruments and README's metric
/// table. Every one of the 25 fields is bound at least once; <c>tx_dropped</c> twice (the seed's metric and the
/// semantic-convention one).
/// </summary>
internal static class LinkStatsMetricMap
{
    private const string Rx = MetricNames.Receive;
    private const string Tx = MetricNames.Transmit;

    public static IReadOnlyList<LinkStatsMetricBinding> Bindings { get; } =
    [
        new(LinkStats64Field.TxDropped, MetricNames.TxQueueDrops, "{packet}", null, null, false),
        new(LinkStats64Field.RxBytes, MetricNames.NetworkIo, "By", Rx, null, false),
        new(LinkStats64Field.TxBytes, MetricNames.NetworkIo, "By", Tx, null, false),
        new(LinkStats64Field.RxPackets, MetricNames.NetworkPacketCount, "{packet}", Rx, null, false),
        new(LinkStats64Field.TxPackets, MetricNames.NetworkPacketCount, "{packet}", Tx, null, false),
        new(LinkStats64Field.RxErrors, MetricNames.NetworkErrors, "{error}", Rx, null, false),
        new(LinkStats64Field.TxErrors, MetricNames.NetworkErrors, "{error}", Tx, null, false),
        new(LinkStats64Field.RxDropped, MetricNames.NetworkPacketDropped, "{packet}", Rx, null, false),
        new(LinkStats64Field.TxDropped, MetricNames.NetworkPacketDropped, "{packet}", Tx, null, false),

        new(LinkStats64Field.RxLengthErrors, MetricNames.LinkErrors, "{error}", Rx, "length", true),
        new(LinkStats64Field.RxOverErrors, MetricNames.LinkErrors, "{error}", Rx, "over", true),
        new(LinkStats64Field.RxCrcErrors, MetricNames.LinkErrors, "{error}", Rx, "crc", true),
        new(LinkStats64Field.RxFrameErrors, MetricNames.LinkErrors, "{error}", Rx, "frame", true),
        new(LinkStats64Field.RxFifoErrors, MetricNames.LinkErrors, "{error}", Rx, "fifo", true),
        new(LinkStats64Field.RxMissedErrors, MetricNames.LinkErrors, "{error}", Rx, "missed", true),
        new(LinkStats64Field.TxAbortedErrors, MetricNames.LinkErrors, "{error}", Tx, "aborted", true),
        new(LinkStats64Field.TxCarrierErrors, MetricNames.LinkErrors, "{error}", Tx, "carrier", true),
        new(LinkStats64Field.TxFifoErrors, MetricNames.LinkErrors, "{error}", Tx, "fifo", true),
        new(LinkStats64Field.TxHeartbeatErrors, MetricNames.LinkErrors, "{error}", Tx, "heartbeat", true),
        new(LinkStats64Field.TxWindowErrors, MetricNames.LinkErrors, "{error}", Tx, "window", true),
        new(LinkStats64Field.Multicast, MetricNames.LinkMulticast, "{packet}", Rx, null, true),
        new(LinkStats64Field.Collisions, MetricNames.LinkCollisions, "{collision}", null, null, true),
        new(LinkStats64Field.RxCompressed, MetricNames.LinkCompressed, "{packet}", Rx, null, true),
        new(LinkStats64Field.TxCompressed, MetricNames.LinkCompressed, "{packet}", Tx, null, true),
        new(LinkStats64Field.RxNohandler, MetricNames.LinkNoHandler, "{packet}", Rx, null, true),
        new(LinkStats64Field.RxOtherhostDropped, MetricNames.LinkOtherhostDropped, "{packet}", Rx, null, true),
    ];

    public static string Description(string metric) => metric switch
    {
        MetricNames.TxQueueDrops => "Packets the kernel dropped at a TUN/TAP device's TX queue because its reader fell behind (tx_dropped).",
        MetricNames.NetworkIo => "Bytes received and transmitted by the device.",
        MetricNames.NetworkPacketCount => "Packets received and transmitted by the device.",
        MetricNames.NetworkErrors => "Receive and transmit errors of the device.",
        MetricNames.NetworkPacketDropped => "Packets dropped by the device on receive or transmit.",
        MetricNames.LinkErrors => "Receive and transmit errors of the device by kind (the kernel's detailed error counters).",
        MetricNames.LinkMulticast => "Multicast packets received by the device.",
        MetricNames.LinkCollisions => "Collisions during transmission.",
        MetricNames.LinkCompressed => "Compressed packets received and transmitted (CSLIP, PPP).",
        MetricNames.LinkNoHandler => "Packets received but dropped because no protocol handler wanted them (rx_nohandler).",
        MetricNames.LinkOtherhostDropped => "Packets dropped because they were addressed to another host (rx_otherhost_dropped).",
        _ => metric,
    };
}
