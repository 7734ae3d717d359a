namespace TunTelemetry.Perf;

/// <summary>CPU time of this process or another (utime + stime from /proc/PID/stat), in microseconds.</summary>
public static class ProcessCpu
{
    private static readonly double TicksPerSecond = 100.0; // USER_HZ on Linux

    // Environment.CpuUsage allocates nothing; Process.GetCurrentProcess() allocates a Process each call (264 bytes),
    // which the benchmarks' allocation windows counted as bytes per poll.
    public static double SelfMicroseconds() => Environment.CpuUsage.TotalTime.TotalMicroseconds;

    public static double OfMicroseconds(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // fields[11] = utime, fields[12] = stime (fields 14 and 15 of stat(5), counted after the command name)
        return (long.Parse(fields[11]) + long.Parse(fields[12])) / TicksPerSecond * 1e6;
    }
}
