using System.Runtime.InteropServices;

namespace TunTelemetry.Benchmarks;

/// <summary>The few libc calls the benchmarks need for exact CPU time.</summary>
internal static partial class Native
{
    private const int ClockProcessCpuTime = 2;
    private const int ClockThreadCpuTime = 3;

    /// <summary>CPU time (user + system) of the whole process, all threads including exited ones, in ns.</summary>
    public static long ProcessCpuNs() => Clock(ClockProcessCpuTime);

    /// <summary>CPU time (user + system) of the calling thread, in ns.</summary>
    public static long ThreadCpuNs() => Clock(ClockThreadCpuTime);

    private static long Clock(int clock)
    {
        if (ClockGetTime(clock, out TimeSpec ts) != 0)
        {
            throw new InvalidOperationException($"clock_gettime({clock}) failed: errno {Marshal.GetLastPInvokeError()}");
        }

        return (ts.Seconds * 1_000_000_000L) + ts.Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime", SetLastError = true)]
    private static partial int ClockGetTime(int clock, out TimeSpec ts);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
