using System.Collections.Concurrent;
using Akka.Dispatch;

namespace TunTelemetry.Dispatch;

/// <summary>
/// Runs actor mailboxes on a few dedicated threads that sleep without spinning and are woken once per burst of work,
/// not once per item.
/// </summary>
/// <remarks>
/// The agent's work arrives in bursts: every scheduler tick (100 ms) the timer thread hands a batch of due pollers
/// over at once, each poll takes a few microseconds, and then nothing happens until the next tick. General-purpose
/// pools (the .NET thread pool, Akka's dedicated thread pool) spin before sleeping and wake a thread per queued item,
/// which for this load cost several times the syscall itself (see docs/performance.md). Here one thread drains a
/// burst, including the aggregator messages the polls produce, so a reading is not handed to another thread.
/// A second thread is woken only when no thread is awake, or when the awake one has not started an item for
/// <see cref="StallMilliseconds"/> (it is blocked, e.g. in a netlink receive waiting for its timeout).
/// </remarks>
internal sealed class QuietThreadsExecutor : ExecutorService
{
    /// <summary>How long work may wait behind a blocked thread before another thread is woken for it.</summary>
    public const int StallMilliseconds = 10;

    private readonly ConcurrentQueue<IRunnable> _queue = new();
    private readonly object _gate = new();
    private readonly List<Sleeper> _sleepers = []; // the threads asleep or about to be, each with its own parker
    private int _awake;
    private int _sleeping;
    private long _lastStarted;
    private volatile bool _shutdown;

    public QuietThreadsExecutor(string id, int threadCount)
        : base(id)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threadCount, 1);
        _awake = threadCount;
        for (int i = 0; i < threadCount; i++)
        {
            var sleeper = new Sleeper();
            new Thread(() => Work(sleeper)) { IsBackground = true, Name = $"{id}-{i + 1}" }.Start();
        }
    }

    public override void Execute(IRunnable run)
    {
        if (_shutdown)
        {
            throw new RejectedExecutionException($"Executor {Id} is shut down.");
        }

        _queue.Enqueue(run);

        // Enqueue is a full fence, and so are the worker's decrements below: either this sees a thread going to
        // sleep, or that thread sees the item.
        if (Volatile.Read(ref _sleeping) > 0
            && (Volatile.Read(ref _awake) == 0 || Environment.TickCount64 - Volatile.Read(ref _lastStarted) > StallMilliseconds))
        {
            Wake();
        }
    }

    public override void Shutdown()
    {
        _shutdown = true;
        Sleeper[] sleepers;
        lock (_gate)
        {
            sleepers = [.. _sleepers];
        }

        foreach (Sleeper sleeper in sleepers)
        {
            sleeper.Parker.Unpark();
        }
    }

    private void Work(Sleeper me)
    {
        while (true)
        {
            while (_queue.TryDequeue(out IRunnable? run))
            {
                Volatile.Write(ref _lastStarted, Environment.TickCount64);
                run.Run(); // a mailbox run handles its actor's failures itself
            }

            if (_shutdown)
            {
                return;
            }

            Sleep(me);
        }
    }

    // The waker counts the thread as awake at once, so the rest of a burst queued before it runs does not wake
    // another one; it unparks the thread after leaving the lock, so the thread does not wake into a lock still held.
    private void Wake()
    {
        Sleeper woken;
        lock (_gate)
        {
            if (_sleepers.Count == 0)
            {
                return;
            }

            woken = _sleepers[^1];
            _sleepers.RemoveAt(_sleepers.Count - 1);
            woken.Woken = true;
            Interlocked.Decrement(ref _sleeping);
            Interlocked.Increment(ref _awake);
            Volatile.Write(ref _lastStarted, Environment.TickCount64);
        }

        woken.Parker.Unpark();
    }

    private void Sleep(Sleeper me)
    {
        lock (_gate)
        {
            Interlocked.Decrement(ref _awake);
            Interlocked.Increment(ref _sleeping);
            me.Woken = false;
            _sleepers.Add(me);
        }

        while (true)
        {
            lock (_gate)
            {
                if (me.Woken)
                {
                    return; // a producer counted this thread awake and took it off the list
                }

                if (_shutdown || !_queue.IsEmpty)
                {
                    _sleepers.Remove(me);
                    Interlocked.Decrement(ref _sleeping);
                    Interlocked.Increment(ref _awake);
                    return;
                }
            }

            me.Parker.Park(Timeout.Infinite);
        }
    }

    /// <summary>A worker thread as the sleepers' list holds it.</summary>
    private sealed class Sleeper
    {
        public ThreadParker Parker { get; } = new();

        public bool Woken { get; set; } // written under the executor's lock
    }
}
