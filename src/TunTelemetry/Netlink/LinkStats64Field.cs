namespace TunTelemetry.Netlink;

/// <summary>
/// The fields of <c>struct rtnl_link_stats64</c> (<c>uapi/linux/if_link.h</c>), in the kernel's order: the value is the
/// field's index, its byte offset is eight times that.
/// </summary>
internal enum LinkStats64Field
{
    RxPackets,
    TxPackets,
    RxBytes,
    TxBytes,
    RxErrors,
    TxErrors,
    RxDropped,
    TxDropped,
    Multicast,
    Collisions,
    RxLengthErrors,
    RxOverErrors,
    RxCrcErrors,
    RxFrameErrors,
    RxFifoErrors,
    RxMissedErrors,
    TxAbortedErrors,
    TxCarrierErrors,
    TxFifoErrors,
    TxHeartbeatErrors,
    TxWindowErrors,
    RxCompressed,
    TxCompressed,
    RxNohandler,

    /// <summary>Added in Linux 5.19; absent from a 192-byte payload.</summary>
    RxOtherhostDropped,
}

/// <summary>Names of <see cref="LinkStats64Field"/> as the kernel spells them (and as sysfs names its files).</summary>
internal static class LinkStats64FieldNames
{
    private static readonly string[] KernelNames =
    [
        "rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_errors", "tx_errors", "rx_dropped", "tx_dropped",
        "multicast", "collisions", "rx_length_errors", "rx_over_errors", "rx_crc_errors", "rx_frame_errors",
        "rx_fifo_errors", "rx_missed_errors", "tx_aborted_errors", "tx_carrier_errors", "tx_fifo_errors",
        "tx_heartbeat_errors", "tx_window_errors", "rx_compressed", "tx_compressed", "rx_nohandler",
        "rx_otherhost_dropped",
    ];

    public static string KernelName(this LinkStats64Field field) => KernelNames[(int)field];

    public static IReadOnlyList<string> All => KernelNames;
}
