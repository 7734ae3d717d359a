using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace TunTelemetry.Dispatch;

/// <summary>
/// A wake-up permit for one thread that sleeps until another wakes it or a timeout passes, on a Linux futex: one
/// system call to sleep and one to wake, no lock held by either side.
/// </summary>
/// <remarks>
/// The agent's own threads (the scheduler's, the dispatchers') sleep between bursts of work and are woken once per
/// burst, ten times a second at 1 s polls. <see cref="Monitor.Wait(object, int)"/> and <see cref="Monitor.Pulse"/>
/// go through the runtime's wait machinery on a mutex and condition variable: the waker signals while holding that
/// mutex, so the woken thread often blocks on it once more, and each wake-up costs both threads more code, and
/// more cache misses after 100 ms asleep, than the futex does (docs/performance-log.md, "Fixed cost per round").
/// A <see cref="Park"/> may return early (a permit left from an earlier <see cref="Unpark"/>, a signal): callers
/// look at their state again after every return.
/// </remarks>
internal sealed unsafe partial class ThreadParker
{
    private const int Empty = 0;
    private const int Parked = -1;
    private const int Notified = 1;

    private const long SysFutex = 202; // x86-64; arm64 below
    private const long SysFutexArm64 = 98;
    private const int FutexWaitPrivate = 128; // FUTEX_WAIT | FUTEX_PRIVATE_FLAG
    private const int FutexWakePrivate = 129; // FUTEX_WAKE | FUTEX_PRIVATE_FLAG

    private static readonly long FutexNumber = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? SysFutexArm64 : SysFutex;

    // The futex word: on the pinned object heap, so its address stays put for the kernel.
    private readonly int[] _state = GC.AllocateArray<int>(1, pinned: true);

    private int* State => (int*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_state));

    /// <summary>Sleeps until <see cref="Unpark"/> (at once if it was called since the last return) or the timeout.</summary>
    /// <param name="timeoutMilliseconds"><see cref="Timeout.Infinite"/>, or how long to sleep at most.</param>
    public void Park(int timeoutMilliseconds)
    {
        if (Interlocked.Decrement(ref *State) == Empty)
        {
            return; // a permit was waiting
        }

        // Parked: sleeps only while the word still says so, so an Unpark between the decrement and the call is not lost.
        if (timeoutMilliseconds == Timeout.Infinite)
        {
            Futex(State, FutexWaitPrivate, Parked, null);
        }
        else
        {
            TimeSpec timeout = new() { Seconds = timeoutMilliseconds / 1000, Nanoseconds = timeoutMilliseconds % 1000 * 1_000_000L };
            Futex(State, FutexWaitPrivate, Parked, &timeout);
        }

        // Woken, timed out or interrupted: either way the permit, if any, is used up.
        Interlocked.Exchange(ref *State, Empty);
    }

    /// <summary>Wakes the parked thread, or lets its next <see cref="Park"/> return at once.</summary>
    public void Unpark()
    {
        if (Interlocked.Exchange(ref *State, Notified) == Parked)
        {
            Futex(State, FutexWakePrivate, 1, null);
        }
    }

    // The result is not looked at: every outcome (woken, EAGAIN because the word changed, ETIMEDOUT, EINTR) returns to a
    // caller that looks at its state again.
    private static void Futex(int* word, int operation, int value, TimeSpec* timeout) =>
        LibCSyscall(FutexNumber, word, operation, value, timeout, null, 0);

    // syscall(2) is variadic; its integer arguments go in the same registers as a fixed prototype's on x86-64 and arm64
    // Linux.
    [LibraryImport("libc", EntryPoint = "syscall")]
    private static partial long LibCSyscall(long number, int* word, int operation, int value, TimeSpec* timeout, int* word2, int value3);

    /// <summary><c>struct timespec</c> on 64-bit Linux: a relative timeout for <c>FUTEX_WAIT</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
