using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using Akka.Dispatch;
using Akka.Event;

namespace TunTelemetry.Dispatch;

/// <summary>
/// Akka's scheduler on one dedicated thread that sleeps until the next tick something is due at, and then runs
/// everything due in that tick. Chosen by <c>akka.scheduler.implementation</c> (see
/// <see cref="Hosting.TunTelemetryOptions.SchedulerHocon"/>); it honours <c>akka.scheduler.tick-duration</c> the way
/// Akka's <see cref="HashedWheelTimerScheduler"/> does: work runs at the first tick at or after its due time.
/// </summary>
/// <remarks>
/// Akka's own scheduler on .NET 6 and later is a <see cref="PeriodicTimer"/> awaited on the thread pool. Every tick
/// then wakes the .NET timer thread, which wakes a pool worker, which often wakes a second one, and keeps the pool's
/// gate thread busy; with pollers spread over the interval there is work due at every tick, so that is three or four
/// thread wake-ups per tick where one does the job (measured in docs/performance.md). Work runs on this thread, as it
/// runs on the timer's pool worker in Akka's: scheduled tells (all the agent schedules) only enqueue a message.
/// Due times come from a monotonic clock, so a wall-clock step moves no timer.
/// </remarks>
internal sealed class QuietTickScheduler : SchedulerBase, IDateTimeOffsetNowTimeProvider, IDisposable
{
    private static readonly long Started = Stopwatch.GetTimestamp();

    private readonly long _tick; // TimeSpan ticks
    private readonly TimeSpan _shutdownTimeout;
    private readonly object _gate = new();

    // Work by the tick it is due at, in the order it was scheduled, and the ticks that have work, earliest first. A
    // heap of every registration costs a dozen cache misses per poller per period at 10,000 pollers; this touches a
    // registration and its tick's list, and the heap holds only the (at most a few dozen) distinct ticks.
    private readonly Dictionary<long, List<Registration>> _byTick = [];
    private readonly PriorityQueue<long, long> _ticks = new();
    private readonly Stack<List<Registration>> _spareLists = new();
    private readonly List<Registration> _batch = [];
    private readonly Thread _thread;
    private readonly ThreadParker _parker = new();
    private long _sleepingUntil = long.MaxValue; // long.MinValue while the thread runs a batch: nothing to wake
    private bool _stopping;

    public QuietTickScheduler(Config scheduler, ILoggingAdapter log)
        : base(scheduler, log)
    {
        TimeSpan tick = SchedulerConfig.GetTimeSpan("akka.scheduler.tick-duration", TimeSpan.FromMilliseconds(10));
        if (tick <= TimeSpan.Zero)
        {
            throw new ConfigurationException($"akka.scheduler.tick-duration must be positive, was {tick}.");
        }

        _tick = tick.Ticks;
        _shutdownTimeout = SchedulerConfig.GetTimeSpan("akka.scheduler.shutdown-timeout", TimeSpan.FromSeconds(5));
        _thread = new Thread(Run) { IsBackground = true, Name = "tuntelemetry-scheduler" };
        _thread.Start();
    }

    public override TimeSpan MonotonicClock => Stopwatch.GetElapsedTime(Started);

    public override TimeSpan HighResMonotonicClock => Stopwatch.GetElapsedTime(Started);

    protected override DateTimeOffset TimeNow => DateTimeOffset.UtcNow;

    /// <summary>
    /// Stops the thread and runs, once, every registration still waiting that is not cancelled, as Akka's scheduler
    /// does when its actor system shuts down.
    /// </summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_stopping)
            {
                return;
            }

            _stopping = true;
        }

        _parker.Unpark();

        if (!_thread.Join(_shutdownTimeout))
        {
            Log.Warning("The scheduler thread did not stop within {0}", _shutdownTimeout);
            return;
        }

        lock (_gate)
        {
            TakeThrough(long.MaxValue);
        }

        foreach (Registration registration in _batch)
        {
            if (!registration.Cancelled)
            {
                TryRun(registration, stopping: true);
            }
        }

        _batch.Clear();
    }

    protected override void InternalScheduleTellOnce(TimeSpan delay, ICanTell receiver, object message, IActorRef sender, ICancelable cancelable) =>
        Add(new Registration(new ScheduledTell(receiver, message, sender), cancelable), delay, TimeSpan.Zero);

    protected override void InternalScheduleTellRepeatedly(TimeSpan initialDelay, TimeSpan interval, ICanTell receiver, object message, IActorRef sender, ICancelable cancelable) =>
        Add(new Registration(new ScheduledTell(receiver, message, sender), cancelable), initialDelay, interval);

    protected override void InternalScheduleOnce(TimeSpan delay, Action action, ICancelable cancelable) =>
        Add(new Registration(new ActionRunnable(action), cancelable), delay, TimeSpan.Zero);

    protected override void InternalScheduleOnce(TimeSpan delay, IRunnable action, ICancelable cancelable) =>
        Add(new Registration(action, cancelable), delay, TimeSpan.Zero);

    protected override void InternalScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, Action action, ICancelable cancelable) =>
        Add(new Registration(new ActionRunnable(action), cancelable), initialDelay, interval);

    protected override void InternalScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, IRunnable action, ICancelable cancelable) =>
        Add(new Registration(action, cancelable), initialDelay, interval);

    private static long Now() => Stopwatch.GetElapsedTime(Started).Ticks;

    // The first tick at or after the due time (as a tick number): work due within one tick shares one wake-up.
    private long TickAtOrAfter(long due) => DivideRoundingUp(due, _tick);

    // Not (value + divisor - 1) / divisor, which overflows for a value near long.MaxValue.
    private static long DivideRoundingUp(long value, long divisor) => (value / divisor) + (value % divisor == 0 ? 0 : 1);

    // Due times saturate rather than wrap: a delay or interval near TimeSpan.MaxValue means "never", and a wrapped sum
    // would be in the past and run at once, for a repeated registration on every pass.
    private static long AddSaturated(long time, long span) => span > long.MaxValue - time ? long.MaxValue : time + span;

    private void Add(Registration registration, TimeSpan delay, TimeSpan interval)
    {
        registration.Interval = Math.Max(0, interval.Ticks); // as in Akka's scheduler, no positive interval means once
        registration.Due = AddSaturated(Now(), Math.Max(0, delay.Ticks));
        bool wake;
        lock (_gate)
        {
            if (_stopping)
            {
                throw new SchedulerException("The scheduler has been shut down.");
            }

            wake = Enqueue(registration);
        }

        // Outside the lock, so the thread woken does not find it still held.
        if (wake)
        {
            _parker.Unpark();
        }
    }

    /// <summary>Files the registration under its tick; true when that tick is before the one the thread sleeps until.</summary>
    private bool Enqueue(Registration registration)
    {
        long tick = TickAtOrAfter(registration.Due);
        if (!_byTick.TryGetValue(tick, out List<Registration>? due))
        {
            due = _spareLists.Count > 0 ? _spareLists.Pop() : [];
            _byTick.Add(tick, due);
            _ticks.Enqueue(tick, tick);
        }

        due.Add(registration);
        return tick < _sleepingUntil;
    }

    private void Run()
    {
        while (TakeDue())
        {
            long now = Now();
            foreach (Registration registration in _batch)
            {
                if (registration.Cancelled || !TryRun(registration) || registration.Interval == 0)
                {
                    registration.Done = true;
                    continue;
                }

                // The next period from the nominal due time, so ticks that do not divide the interval cause no drift;
                // a period missed entirely (the thread was starved) is skipped rather than run in a burst.
                registration.Due = AddSaturated(registration.Due, registration.Interval);
                if (registration.Due <= now)
                {
                    registration.Due = AddSaturated(now, registration.Interval);
                }
            }

            lock (_gate)
            {
                foreach (Registration registration in _batch)
                {
                    if (!registration.Done)
                    {
                        _ = Enqueue(registration); // this thread: it looks at the ticks before it sleeps
                    }
                }
            }

            _batch.Clear();
        }
    }

    /// <summary>Sleeps until something is due and moves everything due into <see cref="_batch"/>; false once stopping.</summary>
    private bool TakeDue()
    {
        while (true)
        {
            int sleep;
            lock (_gate)
            {
                if (_stopping)
                {
                    return false;
                }

                long now = Now();
                if (TakeThrough(now / _tick))
                {
                    _sleepingUntil = long.MinValue;
                    return true;
                }

                if (!_ticks.TryPeek(out long next, out _))
                {
                    _sleepingUntil = long.MaxValue;
                    sleep = Timeout.Infinite;
                }
                else
                {
                    _sleepingUntil = next;
                    // Rounded up: a wait cut short by rounding would wake before the tick and spin on zero-length waits.
                    long wait = next > long.MaxValue / _tick ? long.MaxValue : (next * _tick) - now;
                    sleep = (int)Math.Min(int.MaxValue, DivideRoundingUp(wait, TimeSpan.TicksPerMillisecond));
                }
            }

            // Work added from here on for an earlier tick, or a stop, unparks the thread (a permit if it has not parked yet).
            _parker.Park(sleep);
        }
    }

    /// <summary>Moves the work of every tick up to <paramref name="lastTick"/> into <see cref="_batch"/>, earliest first.</summary>
    private bool TakeThrough(long lastTick)
    {
        while (_ticks.TryPeek(out long tick, out _) && tick <= lastTick)
        {
            _ticks.Dequeue();
            _byTick.Remove(tick, out List<Registration>? due);
            _batch.AddRange(due!);
            due!.Clear();
            _spareLists.Push(due);
        }

        return _batch.Count > 0;
    }

    private bool TryRun(Registration registration, bool stopping = false)
    {
        try
        {
            registration.Action.Run();
            return true;
        }
        catch (SchedulerException) when (stopping)
        {
            return false; // as in Akka's scheduler: work that schedules more while the system stops; nothing to report
        }
        catch (Exception e)
        {
            // As in Akka's scheduler: logged, and a failing repeated action is not run again.
            Log.Error(e, "Scheduled work {0} failed", registration.Action);
            return false;
        }
    }

    private sealed class Registration(IRunnable action, ICancelable? cancelable)
    {
        public IRunnable Action { get; } = action;

        public long Due { get; set; } // nominal, before rounding up to a tick

        public long Interval { get; set; } // 0: once

        public bool Done { get; set; }

        public bool Cancelled => cancelable?.IsCancellationRequested ?? false;
    }

    private sealed class ScheduledTell(ICanTell receiver, object message, IActorRef sender) : IRunnable
    {
        public void Run() => receiver.Tell(message, sender);

        public void Execute() => Run();

        public override string ToString() => $"tell {message} to {receiver}";
    }
}
