using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;

namespace TunTelemetry.Agent.Os;

/// <summary>
/// Once a minute, hands the memory that glibc's <c>malloc</c> keeps after it was freed back to the kernel
/// (<c>malloc_trim</c>).
/// </summary>
/// <remarks>
/// With tiered compilation off, the runtime compiles the agent's code at start-up and on the first export; the JIT's
/// scratch memory is freed afterwards but stays in malloc's arenas, counted in the agent's RSS for good. At 10,000
/// devices one <c>malloc_trim(0)</c> took RSS from 167 to 155 MB, and it stayed there. A timer catches it whenever the
/// compiling happens; a trim with nothing to return is cheap. Where there is no glibc (musl), it stops at the first try.
/// </remarks>
internal sealed partial class NativeHeapTrimmer : BackgroundService
{
    internal static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    /// <summary>Trims now; false where the C library has no <c>malloc_trim</c>.</summary>
    internal static bool TryTrim()
    {
        try
        {
            MallocTrim(0);
            return true;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return false;
        }
    }

    // On a thread of its own that sleeps out the interval: a PeriodicTimer wakes the .NET timer thread, a thread-pool
    // worker and the pool's gate thread (two or three times more over the next second) once a minute, five wake-ups
    // where this is one (docs/performance-log.md "Idle cost, 2026-12-08").
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!OperatingSystem.IsLinux())
        {
            return Task.CompletedTask;
        }

        return Task.Factory.StartNew(
            () =>
            {
                while (!stoppingToken.WaitHandle.WaitOne(Interval) && TryTrim())
                {
                }
            },
            stoppingToken,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
