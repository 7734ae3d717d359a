using System.Diagnostics;
using TunTelemetry.Demo;
using TunTelemetry.Netlink;

namespace TunTelemetry.Benchmarks;

/// <summary>
/// The floor of everything else: one RTM_GETSTATS round trip plus decode through
/// <see cref="NetlinkRouteSocket.GetLinkStats"/>, in a tight loop on one thread. Reports wall ns, the thread's CPU ns
/// (clock_gettime(CLOCK_THREAD_CPUTIME_ID): user + kernel, so comparable with the C poller's getrusage) and managed
/// bytes allocated per poll (GC.GetAllocatedBytesForCurrentThread).
/// </summary>
internal static class PollBenchmark
{
    public static int Run(Options options)
    {
        int iterations = options.Int("iterations", 200_000);
        int warmup = options.Int("warmup", 20_000);

        Measure("lo", 1, iterations, warmup);

        // bench/run.sh passes a TUN device it created, so the C poller measures the very same device.
        if (options.Get("tun-ifindex") is not null)
        {
            Measure("tun", options.Int("tun-ifindex", 0), iterations, warmup);
            return 0;
        }

        DroppingTunDevice tun;
        try
        {
            tun = DroppingTunDevice.Create();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.WriteLine($"poll on a TUN device skipped (needs root / CAP_NET_ADMIN): {e.Message}");
            return 0;
        }

        using (tun)
        {
            Console.WriteLine($"TUN device {tun.Name} ifindex {tun.IfIndex}");
            Results.Put("poll.tun.ifindex", tun.IfIndex);
            Measure("tun", tun.IfIndex, iterations, warmup);
        }

        return 0;
    }

    /// <summary>Times <paramref name="iterations"/> polls; returns CPU ns per poll.</summary>
    public static double Measure(string label, int ifIndex, int iterations, int warmup, bool report = true)
    {
        using NetlinkRouteSocket socket = NetlinkRouteSocket.Open();
        ulong checksum = 0;
        for (int i = 0; i < warmup; i++)
        {
            checksum += socket.GetLinkStats(ifIndex)[LinkStats64Field.RxPackets];
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        int gen0 = GC.CollectionCount(0);
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        long cpu = Native.ThreadCpuNs();
        long started = Stopwatch.GetTimestamp();
        for (int i = 0; i < iterations; i++)
        {
            checksum += socket.GetLinkStats(ifIndex)[LinkStats64Field.RxPackets];
        }

        double wallNs = Stopwatch.GetElapsedTime(started).TotalNanoseconds / iterations;
        double cpuNs = (double)(Native.ThreadCpuNs() - cpu) / iterations;
        double bytes = (double)(GC.GetAllocatedBytesForCurrentThread() - allocated) / iterations;
        int collections = GC.CollectionCount(0) - gen0;
        GC.KeepAlive(checksum);

        if (report)
        {
            Console.WriteLine($"poll {label} (ifindex {ifIndex}): {iterations} polls, {wallNs:F0} ns wall/poll, {cpuNs:F0} ns CPU/poll, " +
                $"{bytes:F4} bytes allocated/poll, {collections} gen0 GCs");
            Results.Put($"poll.{label}.wall_ns", wallNs, "F0");
            Results.Put($"poll.{label}.cpu_ns", cpuNs, "F0");
            Results.Put($"poll.{label}.bytes", bytes, "F4");
            Results.Put($"poll.{label}.iterations", iterations);
        }

        return cpuNs;
    }
}
