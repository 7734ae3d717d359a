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

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "sendto", SetLastError = true)]
    public static unsafe partial nint SendTo(int fd, byte* buffer, nuint length, int flags, SockAddrLl* address, int addressLength);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [StructLayout(LayoutKind.Sequential)]
    public struct SockAddrLl
    {
        public ushort Family;
        public ushort Protocol; // network byte order
        public int IfIndex;
        public ushort HaType;
        public byte PacketType;
        public byte HaLength;
        public ulong Address;
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
