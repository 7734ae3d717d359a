using TunTelemetry.Devices;

namespace TunTelemetry.Supervision;

/// <summary>
/// The order in which to start (and so to poll) devices found together: devices the kernel keeps in the same ifindex
/// hash bucket next to each other, and within a bucket the oldest first.
/// </summary>
/// <remarks>
/// Every <c>RTM_GETSTATS</c> request finds its device with <c>__dev_get_by_index</c>, which walks one chain of the
/// namespace's <c>dev_index_head</c>: bucket <c>ifindex &amp; (NETDEV_HASHENTRIES - 1)</c>, 256 buckets
/// (<c>NETDEV_HASHBITS 8</c> in <c>include/linux/netdevice.h</c>), newest device first. At 10,000 devices a chain is
/// about 40 devices, a cache miss each, and the walk was a third of the agent's CPU. Polls in ifindex order touch every
/// chain once per burst, cold; polls grouped by bucket walk one chain many times while it is hot, and the oldest
/// device's walk warms the whole chain for the rest. Measured with <c>perf/cpoller.c</c> at 10,000 devices, bursts of
/// 333 polls every 500 ms (the agent's pattern at 15 s): 8.5–9.1 µs per poll in ifindex order, 4.4–4.7 µs grouped
/// (docs/performance.md). The order lasts: <see cref="Dispatch.QuietTickScheduler"/> runs the work due in one tick in
/// the order it was scheduled and re-schedules a period in the same order, and the executor runs mailboxes in the order
/// they were queued, so pollers started in this order keep polling in it. The bucket count is a kernel detail, not an
/// interface: on a kernel that hashed differently this order would cost nothing and gain nothing.
/// </remarks>
internal static class KernelLookupOrder
{
    /// <summary>The number of ifindex hash buckets per network namespace (<c>NETDEV_HASHENTRIES</c>).</summary>
    public const int HashBuckets = 256;

    public static int Bucket(int ifIndex) => ifIndex & (HashBuckets - 1);

    /// <summary><paramref name="devices"/> sorted by hash bucket, then by ifindex.</summary>
    public static TunDevice[] Sort(IEnumerable<TunDevice> devices)
    {
        ArgumentNullException.ThrowIfNull(devices);
        TunDevice[] sorted = devices.ToArray();
        Array.Sort(sorted, static (a, b) =>
        {
            int byBucket = Bucket(a.IfIndex).CompareTo(Bucket(b.IfIndex));
            return byBucket != 0 ? byBucket : a.IfIndex.CompareTo(b.IfIndex);
        });
        return sorted;
    }
}
