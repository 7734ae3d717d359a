using System.Diagnostics;
using TunTelemetry.Netlink;

namespace TunTelemetry.Perf;

/// <summary>One RTM_GETSTATS round trip plus decode through <see cref="RouteSocket.ReadStats"/>: time and allocation.</summary>
public static class PollBenchmark
{
    public static int Run(int ifIndex, int iterations)
    {
        using RouteSocket socket = RouteSocket.Open();
        ulong sink = 0;
        for (int i = 0; i < 50_000; i++)
        {
            sink += socket.ReadStats(LinkTarget.Own, ifIndex, name: null).TxDropped; // warm-up: JIT tiers, caches
        }

        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        double cpuBefore = ProcessCpu.SelfMicroseconds();
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < iterations; i++)
        {
            sink += socket.ReadStats(LinkTarget.Own, ifIndex, name: null).TxDropped;
        }

        TimeSpan elapsed = Stopwatch.GetElapsedTime(start);
        double cpu = ProcessCpu.SelfMicroseconds() - cpuBefore;
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        Console.WriteLine($"dotnet_poll_ns={elapsed.TotalNanoseconds / iterations:0} dotnet_poll_cpu_ns={cpu * 1000 / iterations:0} "
            + $"bytes_per_poll={(double)allocated / iterations:0.###} (sink {sink % 7})");
        return 0;
    }
}
