using System.Globalization;

namespace TunTelemetry.Benchmarks;

/// <summary>One reading of another process's resource use, from /proc.</summary>
internal readonly record struct ProcSample(long StatCpuNs, long SchedCpuNs, long RssKb, int Fds, int Threads, long WallTicks);

/// <summary>
/// Reads a process's CPU time two ways: utime+stime from /proc/PID/stat (the whole process including exited threads,
/// in clock ticks of 10 ms) and the sum of /proc/PID/task/*/schedstat (ns, live threads only). Over a window of a few
/// seconds the 10 ms tick is too coarse for a mostly idle process, so the tables use the schedstat figure and the
/// detail lines print both.
/// </summary>
internal static class ProcStats
{
    private const long NsPerTick = 10_000_000; // CLK_TCK is 100 on Linux

    public static ProcSample Sample(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        // Fields after the command name, which is in parentheses and may contain spaces.
        string[] f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long utime = long.Parse(f[11], CultureInfo.InvariantCulture);
        long stime = long.Parse(f[12], CultureInfo.InvariantCulture);

        long sched = 0;
        int threads = 0;
        foreach (string task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                string s = File.ReadAllText(Path.Combine(task, "schedstat"));
                sched += long.Parse(s.AsSpan(0, s.IndexOf(' ')), CultureInfo.InvariantCulture);
                threads++;
            }
            catch (IOException)
            {
                // the thread exited while we listed
            }
        }

        long rss = 0;
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
            }
        }

        int fds = Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd").Count();
        return new ProcSample((utime + stime) * NsPerTick, sched, rss, fds, threads, System.Diagnostics.Stopwatch.GetTimestamp());
    }
}
