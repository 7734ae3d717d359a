using System.Runtime.InteropServices;

namespace TunTelemetry.Netlink;

/// <summary>
/// Keeps the last descriptors under <c>RLIMIT_NOFILE</c> for the process itself. The kernel gives every new descriptor
/// the lowest free number (POSIX <c>open(2)</c>, <c>socket(2)</c>), so a new socket numbered within the top
/// <c>keepFree</c> of the limit means every number below it is taken: holding on to it would leave fewer than
/// <c>keepFree</c> for what the process still has to open. Device sockets that respect this never sit in the top
/// numbers, so those stay for the runtime (a thread it starts needs a pipe, an assembly it loads two descriptors: the
/// runtime reports either failing as "Out of memory." and dies), the exporter's connections and the <c>/proc</c> scan.
/// </summary>
internal static partial class DescriptorReserve
{
    private const int RLIMIT_NOFILE = 7;

    /// <summary>
    /// The reserve the agent keeps. Measured on Linux 6.18 with .NET 10 (the agent in a namespace with no devices, its
    /// <c>/proc/PID/fd</c> counted every 20 ms): about 206 descriptors once the first devices are listed (two per loaded
    /// assembly, most of them), then 4 more at the first OTLP export, 2–3 for a Prometheus scrape and 1–2 at a time
    /// for a reader scan, 213 at most through shutdown. 64 is eight times that growth: room for what the measurement
    /// did not make happen (a failing export loading its exception assemblies, new thread-pool threads, reconnects,
    /// namespace files with <c>--all-namespaces</c>), and at the usual 20,000 hard limit it costs 32 devices.
    /// </summary>
    public const int AgentDefault = 64;

    /// <summary>The soft <c>RLIMIT_NOFILE</c> now in force, or null when it is unlimited or cannot be read.</summary>
    public static ulong? SoftLimit()
    {
        if (GetRLimit(RLIMIT_NOFILE, out RLimit limit) != 0 || limit.Current == ulong.MaxValue)
        {
            return null;
        }

        return limit.Current;
    }

    /// <summary>
    /// Raises the soft <c>RLIMIT_NOFILE</c> to the hard one, as any process may without privilege: each watched device
    /// costs a descriptor per actor, and the usual soft limit of 1,024 would stop a host at about 400 devices. Returns
    /// the limit now in force (0 if unknown). Device sockets still leave the reserve under it.
    /// </summary>
    public static ulong RaiseSoftLimitToHard()
    {
        if (GetRLimit(RLIMIT_NOFILE, out RLimit limit) != 0)
        {
            return 0;
        }

        if (limit.Current < limit.Maximum)
        {
            var raised = new RLimit { Current = limit.Maximum, Maximum = limit.Maximum };
            if (SetRLimit(RLIMIT_NOFILE, in raised) == 0)
            {
                return raised.Current;
            }
        }

        return limit.Current;
    }

    /// <summary>
    /// Whether descriptor <paramref name="fd"/>, just opened, sits among the last <paramref name="keepFree"/> numbers
    /// under <paramref name="limit"/> (and so leaves fewer than that free).
    /// </summary>
    public static bool IsWithin(int fd, ulong limit, int keepFree) => keepFree > 0 && (ulong)fd + (ulong)keepFree >= limit;

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRLimit(int resource, out RLimit limit);

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetRLimit(int resource, in RLimit limit);

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }
}
