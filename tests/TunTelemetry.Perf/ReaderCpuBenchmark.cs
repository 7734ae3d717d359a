using System.Diagnostics;
using System.Globalization;
using TunTelemetry.Readers;

namespace TunTelemetry.Perf;

/// <summary>
/// What reading one reader's CPU costs (<see cref="ReaderCpuSampler.Sample"/>: its stat and schedstat, its cgroup file,
/// and, in a cgroup with a CPU quota, the cgroup's cpu.stat and quota files): wall time, CPU time and managed bytes per
/// sample of process <c>pid</c>, over <c>rounds</c> samples after one warm-up. The agent takes one per reader of a
/// watched device per reader interval; none for a device without readers.
/// </summary>
public static class ReaderCpuBenchmark
{
    public static int Run(int pid, int rounds)
    {
        var sampler = new ReaderCpuSampler();
        ReaderCpu? warm = sampler.Sample(pid);
        if (warm is null)
        {
            Console.Error.WriteLine($"cannot read /proc/{pid}/stat");
            return 1;
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread();
        double cpu = ProcessCpu.SelfMicroseconds();
        var wall = Stopwatch.StartNew();
        for (int i = 0; i < rounds; i++)
        {
            _ = sampler.Sample(pid);
        }

        wall.Stop();
        double cpuUs = ProcessCpu.SelfMicroseconds() - cpu;
        long bytes = GC.GetAllocatedBytesForCurrentThread() - allocated;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"reader-cpu pid {pid} ({(warm.Throttling is null ? "no CPU quota" : $"cgroup {warm.Throttling.Cgroup} with a quota")}): {rounds} samples, "
            + $"{wall.Elapsed.TotalMicroseconds / rounds:0.0} us wall, {cpuUs / rounds:0.0} us CPU, {bytes / rounds} B per sample"));
        return 0;
    }
}
