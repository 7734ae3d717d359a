using System.Runtime.InteropServices;

namespace TunTelemetry.IntegrationTests.Support;

/// <summary>
/// Runs code as <c>nobody</c> with no capability, in this process, on a thread of its own. Linux keeps credentials per
/// thread; glibc's setresuid changes every thread of the process, the raw system calls only the calling one. Leaving
/// root clears the thread's capabilities, and threads it starts inherit its credentials, so the code sees the kernel
/// exactly as an unprivileged agent would. The thread ends afterwards: its credentials cannot come back to root.
/// The code must not queue thread-pool work (a pool thread started from here would stay unprivileged).
/// </summary>
internal static partial class UnprivilegedThread
{
    private const uint Nobody = 65534;

    public static void Run(Action action)
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                DropToNobody();
                action();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            throw new InvalidOperationException("the unprivileged part failed", failure);
        }
    }

    private static void DropToNobody()
    {
        (long setgroups, long setresgid, long setresuid) = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => (116L, 119L, 117L),
            Architecture.Arm64 => (159L, 149L, 147L),
            var other => throw new PlatformNotSupportedException($"system call numbers for {other}"),
        };
        Check(Syscall(setgroups, 0, 0, 0), "setgroups");
        Check(Syscall(setresgid, Nobody, Nobody, Nobody), "setresgid");
        Check(Syscall(setresuid, Nobody, Nobody, Nobody), "setresuid");
        string capabilities = File.ReadLines("/proc/thread-self/status").Single(l => l.StartsWith("CapEff:", StringComparison.Ordinal));
        if (!capabilities.EndsWith("0000000000000000", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"capabilities left after leaving root: {capabilities}");
        }
    }

    private static void Check(long result, string call)
    {
        if (result != 0)
        {
            throw new InvalidOperationException($"{call} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, ulong a, ulong b, ulong c);
}
