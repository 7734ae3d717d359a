using System.Runtime.InteropServices;

namespace TunTelemetry.Agent.Os;

/// <summary>
/// Every watched device costs two descriptors (poller and link-state sockets). The usual soft limit of 1,024 would stop
/// a host with 500 devices, so the agent raises its soft limit to the hard limit at start, as it is allowed to do
/// without privilege. Device sockets still leave the last descriptors under it to the process
/// (<c>TunTelemetryOptions.DescriptorReserve</c>); devices beyond wait, and the supervisor says so in one line.
/// </summary>
internal static partial class FileDescriptorLimit
{
    private const int RLIMIT_NOFILE = 7;

    /// <summary>Raises the soft limit to the hard one; returns the limit now in force (0 if unknown).</summary>
    internal static ulong RaiseToHardLimit()
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
