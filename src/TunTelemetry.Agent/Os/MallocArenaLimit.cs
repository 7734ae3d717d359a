using System.Runtime.InteropServices;

namespace TunTelemetry.Agent.Os;

/// <summary>
/// Caps glibc's <c>malloc</c> at two arenas, what <c>MALLOC_ARENA_MAX=2</c> does, unless that variable is set.
/// </summary>
/// <remarks>
/// glibc gives a thread that meets a busy arena one of its own, up to eight per core, and each keeps freed memory. The
/// agent's threads allocate natively only in bursts (the JIT, sockets, the exporter), so more arenas buy nothing and
/// hold memory: an agent on 3 devices had 19-20 MB anonymous memory without the variable and 15 MB with it
/// (perf/footprint.sh; docs/performance.md "Fixed cost per host"). The systemd unit and the compose file set the
/// variable; this gives README's command the same. It must run before the host starts its threads; arenas that
/// already exist stay. Where there is no glibc (musl), <c>mallopt</c> ignores it or is missing, and nothing changes.
/// </remarks>
internal static partial class MallocArenaLimit
{
    internal const int Arenas = 2;
    private const int MArenaMax = -8; // M_ARENA_MAX in glibc's malloc.h

    /// <param name="environmentValue">MALLOC_ARENA_MAX as the process got it: when set, glibc already applied it.</param>
    /// <returns>True when the cap was set here.</returns>
    internal static bool Apply(string? environmentValue)
    {
        if (!OperatingSystem.IsLinux() || !string.IsNullOrEmpty(environmentValue))
        {
            return false;
        }

        try
        {
            return Mallopt(MArenaMax, Arenas) == 1;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int Mallopt(int param, int value);
}
