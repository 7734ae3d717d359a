using TunTelemetry.Netlink;

namespace TunTelemetry.Testing;

/// <summary>Readings for specs: a few named counters set, every other field zero.</summary>
internal static class Readings
{
    /// <param name="fields">24 for a kernel without <c>rx_otherhost_dropped</c>.</param>
    public static LinkStats64 Stats(ulong txDropped, ulong rxPackets = 0, ulong txPackets = 0, ulong rxBytes = 0, int fields = LinkStats64.MaxFieldCount)
    {
        ulong[] counters = new ulong[fields];
        counters[(int)LinkStats64Field.TxDropped] = txDropped;
        counters[(int)LinkStats64Field.RxPackets] = rxPackets;
        counters[(int)LinkStats64Field.TxPackets] = txPackets;
        counters[(int)LinkStats64Field.RxBytes] = rxBytes;
        return LinkStats64.FromCounters(counters);
    }
}
