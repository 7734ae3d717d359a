using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit2;
using TunTelemetry.Dispatch;
using TunTelemetry.Hosting;
using Xunit;
using Xunit.Abstractions;

namespace TunTelemetry.Tests.Dispatch;

/// <summary>
/// The agent's scheduler, in a real actor system that runs on it (as the agent does), at Akka's 10 ms tick so the
/// specs stay short. Asserts what is delivered and in which order, never how fast: where an order depends on due
/// times, the delays differ by seconds, far more than a busy machine holds the test thread back; and "never runs"
/// is shown by a marker due later arriving first, since work runs in due-time order.
/// </summary>
public sealed class QuietTickSchedulerTests(ITestOutputHelper output) : TestKit(SystemConfig, output: output)
{
    // Waits without an explicit deadline allow for a busy machine; they end as soon as the message arrives.
    private static readonly Config SystemConfig = ConfigurationFactory.ParseString("""
            akka.scheduler.tick-duration = 10ms
            akka.test.single-expect-default = 30s
            akka.test.filter-leeway = 30s
            """)
        .WithFallback(ConfigurationFactory.ParseString(TunTelemetryOptions.Default.SchedulerHocon));

    [Fact]
    public void The_library_hocon_selects_it_with_the_options_tick()
    {
        Assert.IsType<QuietTickScheduler>(Sys.Scheduler);
        Config library = ConfigurationFactory.ParseString((TunTelemetryOptions.Default with { PollInterval = TimeSpan.FromSeconds(6) }).SchedulerHocon);
        Assert.Equal(TimeSpan.FromMilliseconds(200), library.GetTimeSpan("akka.scheduler.tick-duration"));
    }

    [Fact]
    public void Tells_arrive_by_due_time_and_in_scheduling_order_within_a_tick()
    {
        // Due times count from the moment each tell is scheduled, so "now" comes first only if it is scheduled less
        // than a second and a half after the hundred: seconds apart, not the tens of milliseconds a stall can take.
        var probe = CreateTestProbe();
        Sys.Scheduler.ScheduleTellOnce(TimeSpan.FromSeconds(3), probe.Ref, "late", ActorRefs.NoSender);
        for (int i = 0; i < 100; i++)
        {
            Sys.Scheduler.ScheduleTellOnce(TimeSpan.FromSeconds(1.5), probe.Ref, i, ActorRefs.NoSender);
        }

        Sys.Scheduler.ScheduleTellOnce(TimeSpan.Zero, probe.Ref, "now", ActorRefs.NoSender);

        probe.ExpectMsg("now");
        for (int i = 0; i < 100; i++)
        {
            probe.ExpectMsg(i);
        }

        probe.ExpectMsg("late");
    }

    [Fact]
    public void Repeated_tells_keep_their_scheduling_order_period_after_period()
    {
        // Pollers started in the kernel's lookup order (KernelLookupOrder) rely on this to keep polling in it. A period
        // the thread misses entirely restarts from the time it ran, which can reorder tells scheduled in different
        // ticks; a one-second period keeps that out of reach of a busy machine's stalls.
        var probe = CreateTestProbe();
        var cancel = new Cancelable(Sys.Scheduler);
        for (int i = 0; i < 50; i++)
        {
            Sys.Scheduler.ScheduleTellRepeatedly(TimeSpan.FromMilliseconds(20), TimeSpan.FromSeconds(1), probe.Ref, i, ActorRefs.NoSender, cancel);
        }

        for (int period = 0; period < 3; period++)
        {
            for (int i = 0; i < 50; i++)
            {
                probe.ExpectMsg(i);
            }
        }

        cancel.Cancel();
    }

    [Fact]
    public void Work_never_runs_before_its_delay()
    {
        var probe = CreateTestProbe();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Sys.Scheduler.Advanced.ScheduleOnce(TimeSpan.FromMilliseconds(205), () => probe.Ref.Tell(clock.Elapsed));

        var ranAt = (TimeSpan)probe.ReceiveOne(TimeSpan.FromSeconds(30))!;
        Assert.True(ranAt >= TimeSpan.FromMilliseconds(205), $"ran after {ranAt.TotalMilliseconds} ms, due after 205 ms");
    }

    [Fact]
    public void Work_due_sooner_than_the_thread_sleeps_wakes_it()
    {
        var probe = CreateTestProbe();
        Sys.Scheduler.ScheduleTellOnce(TimeSpan.FromHours(1), probe.Ref, "in an hour", ActorRefs.NoSender);
        AwaitCondition(() => SleepsForMoreThan(TimeSpan.FromMinutes(30)), TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(10));

        Sys.Scheduler.ScheduleTellOnce(TimeSpan.FromMilliseconds(20), probe.Ref, "soon", ActorRefs.NoSender);

        probe.ExpectMsg("soon");
    }

    [Fact]
    public void Cancelled_work_never_runs_and_a_repeated_tell_stops_when_cancelled()
    {
        // Work runs in due-time order (scheduling order within a tick), so a marker scheduled after the cancelled
        // tell with the same delay is told after it: had the cancel not worked, "cancelled" would arrive first.
        var probe = CreateTestProbe();
        ICancelable once = Sys.Scheduler.ScheduleTellOnceCancelable(TimeSpan.FromMilliseconds(100), probe.Ref, "cancelled", ActorRefs.NoSender);
        once.Cancel();
        Sys.Scheduler.ScheduleTellOnce(TimeSpan.FromMilliseconds(100), probe.Ref, "due after the cancelled tell", ActorRefs.NoSender);
        probe.ExpectMsg("due after the cancelled tell");

        var ticks = CreateTestProbe();
        ICancelable repeated = Sys.Scheduler.ScheduleTellRepeatedlyCancelable(TimeSpan.Zero, TimeSpan.FromMilliseconds(20), ticks.Ref, "tick", ActorRefs.NoSender);
        for (int i = 0; i < 3; i++)
        {
            ticks.ExpectMsg("tick");
        }

        repeated.Cancel();
        // Ticks told before the cancel may still be queued; a marker scheduled now is told after all of them.
        Sys.Scheduler.ScheduleTellOnce(TimeSpan.Zero, ticks.Ref, "cancelled here", ActorRefs.NoSender);
        object? queued;
        while ((queued = ticks.ReceiveOne(TimeSpan.FromSeconds(30))) is "tick")
        {
        }

        Assert.Equal("cancelled here", queued);
        // A repeated tell still running would fall due within these five periods, and so be told before the marker.
        Sys.Scheduler.ScheduleTellOnce(TimeSpan.FromMilliseconds(100), ticks.Ref, "five periods later", ActorRefs.NoSender);
        ticks.ExpectMsg("five periods later");
    }

    [Fact]
    public void Delays_and_intervals_near_TimeSpan_MaxValue_mean_never_and_wrap_to_no_past_due_time()
    {
        var probe = CreateTestProbe();
        Sys.Scheduler.ScheduleTellOnce(TimeSpan.MaxValue, probe.Ref, "never", ActorRefs.NoSender);
        ICancelable repeated = Sys.Scheduler.ScheduleTellRepeatedlyCancelable(TimeSpan.Zero, TimeSpan.MaxValue, probe.Ref, "once", ActorRefs.NoSender);
        Sys.Scheduler.ScheduleTellOnce(TimeSpan.FromMilliseconds(50), probe.Ref, "later", ActorRefs.NoSender);

        probe.ExpectMsg("once");
        probe.ExpectMsg("later"); // the thread still sleeps and wakes normally beside a due time of "never"
        // A wrapped due time would be in the past, and so told before anything due later: a marker 300 ms on comes next.
        Sys.Scheduler.ScheduleTellOnce(TimeSpan.FromMilliseconds(300), probe.Ref, "marker", ActorRefs.NoSender);
        probe.ExpectMsg("marker");
        repeated.Cancel();
    }

    [Fact]
    public void A_failing_action_is_logged_and_not_repeated_and_later_work_still_runs()
    {
        int calls = 0;
        EventFilter.Exception<InvalidOperationException>(contains: "scheduled failure").ExpectOne(() =>
            Sys.Scheduler.Advanced.ScheduleRepeatedly(TimeSpan.Zero, TimeSpan.FromMilliseconds(20), () =>
            {
                Interlocked.Increment(ref calls);
                throw new InvalidOperationException("scheduled failure");
            }));

        var probe = CreateTestProbe();
        Sys.Scheduler.ScheduleTellOnce(TimeSpan.FromMilliseconds(100), probe.Ref, "after", ActorRefs.NoSender);
        probe.ExpectMsg("after");
        Assert.Equal(1, Volatile.Read(ref calls));
    }

    [Fact]
    public async Task Ask_timeouts_and_actor_timers_run_on_it()
    {
        IActorRef silent = Sys.ActorOf(Props.Create(() => new SilentActor()));
        await Assert.ThrowsAsync<AskTimeoutException>(() => silent.Ask<object>("hello", TimeSpan.FromMilliseconds(100)));

        var probe = CreateTestProbe();
        Sys.ActorOf(Props.Create(() => new TimerActor(probe.Ref)));
        probe.ExpectMsg("timer");
        probe.ExpectMsg("timer");
    }

    [Fact]
    public void Work_scheduled_from_many_threads_runs_exactly_once()
    {
        const int Producers = 4;
        const int PerProducer = 2_000;
        int[] runs = new int[Producers * PerProducer];
        using var done = new CountdownEvent(runs.Length);
        Parallel.For(0, Producers, p =>
        {
            var random = new Random(p);
            for (int i = 0; i < PerProducer; i++)
            {
                int slot = (p * PerProducer) + i;
                Sys.Scheduler.Advanced.ScheduleOnce(TimeSpan.FromMilliseconds(random.Next(0, 60)), () =>
                {
                    Interlocked.Increment(ref runs[slot]);
                    done.Signal();
                });
                if (i % 500 == 0)
                {
                    Thread.Sleep(15); // let the thread go back to sleep, so wake-ups by new work are exercised
                }
            }
        });

        Assert.True(done.Wait(TimeSpan.FromSeconds(30)), $"{done.CurrentCount} scheduled actions never ran");
        Assert.All(runs, r => Assert.Equal(1, r));
    }

    [Fact]
    public async Task Shutting_down_runs_pending_work_once_and_refuses_new_work()
    {
        ActorSystem system = ActorSystem.Create("shutdown", SystemConfig);
        IScheduler scheduler = system.Scheduler;
        int pending = 0;
        int cancelled = 0;
        scheduler.Advanced.ScheduleOnce(TimeSpan.FromHours(1), () => Interlocked.Increment(ref pending));
        var cancel = new Cancelable(scheduler);
        scheduler.Advanced.ScheduleOnce(TimeSpan.FromHours(1), () => Interlocked.Increment(ref cancelled), cancel);
        cancel.Cancel();

        await system.Terminate().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(1, pending);
        Assert.Equal(0, cancelled);
        Assert.Throws<SchedulerException>(() => scheduler.Advanced.ScheduleOnce(TimeSpan.Zero, () => { }));
    }

    /// <summary>
    /// Whether the scheduler thread has gone to sleep until a tick more than <paramref name="span"/> away. Read from the
    /// scheduler's private state, because no public API tells a sleeping thread from one about to look for work, and
    /// only the former proves that new work woke it.
    /// </summary>
    private bool SleepsForMoreThan(TimeSpan span)
    {
        System.Reflection.FieldInfo field = typeof(QuietTickScheduler).GetField("_sleepingUntil", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)
            ?? throw new InvalidOperationException("QuietTickScheduler._sleepingUntil is gone; update this spec");
        long sleepingUntilTick = (long)field.GetValue(Sys.Scheduler)!;
        long tickDuration = Sys.Settings.Config.GetTimeSpan("akka.scheduler.tick-duration").Ticks;
        long tickAfterSpan = (Sys.Scheduler.MonotonicClock + span).Ticks / tickDuration;
        return sleepingUntilTick != long.MaxValue && sleepingUntilTick > tickAfterSpan;
    }

    private sealed class SilentActor : ReceiveActor
    {
        public SilentActor() => ReceiveAny(_ => { });
    }

    private sealed class TimerActor : ReceiveActor, IWithTimers
    {
        public TimerActor(IActorRef probe) => Receive<string>(m => probe.Tell(m));

        public ITimerScheduler Timers { get; set; } = null!;

        protected override void PreStart() => Timers.StartPeriodicTimer("t", "timer", TimeSpan.FromMilliseconds(30));
    }
}
