using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using TunTelemetry.Actors;
using TunTelemetry.Devices;
using TunTelemetry.Metrics;
using TunTelemetry.Polling;
using TunTelemetry.Testing;
using TunTelemetry.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace TunTelemetry.Tests.Polling;

public sealed class DevicePollerActorSpecs : TestKit
{
    private static readonly TunDevice Tun0 = new(7, "tun0", TunDeviceKind.Tun);
    private readonly FakeKernel _kernel = new();

    public DevicePollerActorSpecs(ITestOutputHelper output)
        : base(VirtualTime.Config, output: output)
    {
        // This spec is the pollers' supervisor; their success notices are checked in one spec of their own.
        IgnoreMessages<PerDeviceActorSucceeded>();
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    /// <summary>A poller of tun0 on the fake kernel, reporting to a probe; this spec is its supervisor.</summary>
    private (TestProbe Aggregator, IActorRef Poller) StartPoller(TimeSpan interval)
    {
        TestProbe aggregator = CreateTestProbe();
        return (aggregator, Sys.ActorOf(DevicePollerActor.Props(Tun0, aggregator, TestActor, _kernel.Open, interval)));
    }

    [Fact]
    public void Polls_at_start_then_every_15_seconds_and_not_between()
    {
        _kernel.Set(Tun0.IfIndex, txDropped: 5);
        (TestProbe aggregator, IActorRef poller) = StartPoller(TimeSpan.FromSeconds(15));

        aggregator.ExpectReading(s => s.Device == Tun0 && s.Stats.TxDropped == 5);
        _kernel.Set(Tun0.IfIndex, txDropped: 6);
        Scheduler.Advance(TimeSpan.FromSeconds(14.9));
        poller.AwaitHandled(); // any tick that fired has been handled
        Assert.False(aggregator.HasMessages, "a reading before the interval was up");
        Assert.Equal(1, _kernel.Reads);
        Scheduler.Advance(TimeSpan.FromSeconds(0.1));
        aggregator.ExpectReading(s => s.Stats.TxDropped == 6);
        _kernel.Set(Tun0.IfIndex, txDropped: 7);
        Scheduler.Advance(TimeSpan.FromSeconds(10));
        poller.AwaitHandled();
        Assert.False(aggregator.HasMessages, "a reading before the interval was up");
        Assert.Equal(2, _kernel.Reads);
        Scheduler.Advance(TimeSpan.FromSeconds(5));
        aggregator.ExpectReading(s => s.Stats.TxDropped == 7);
        Assert.Equal(3, _kernel.Reads);
    }

    [Fact]
    public void Tells_its_supervisor_once_per_start_that_it_polled_successfully()
    {
        _kernel.Set(Tun0.IfIndex, txDropped: 5);
        TestProbe supervisor = CreateTestProbe();
        TestProbe aggregator = CreateTestProbe();
        IActorRef poller = Sys.ActorOf(DevicePollerActor.Props(Tun0, aggregator, supervisor, _kernel.Open, TimeSpan.FromSeconds(15)));

        aggregator.ExpectReading(s => s.Stats.TxDropped == 5);
        supervisor.ExpectMsg<PerDeviceActorSucceeded>();
        Assert.Equal(poller, supervisor.LastSender); // the supervisor finds the actor by its sender
        _kernel.Set(Tun0.IfIndex, txDropped: 6);
        Scheduler.Advance(TimeSpan.FromSeconds(15));
        aggregator.ExpectReading(s => s.Stats.TxDropped == 6); // a second good poll...
        poller.AwaitHandled(); // (handled in full)
        Assert.False(supervisor.HasMessages, "a second success notice"); // ...is not announced again
    }

    [Fact]
    public void Reports_only_readings_that_changed()
    {
        _kernel.Set(Tun0.IfIndex, txDropped: 5);
        (TestProbe aggregator, IActorRef poller) = StartPoller(TimeSpan.FromSeconds(15));
        aggregator.ExpectReading(s => s.Stats.TxDropped == 5); // the first reading always goes

        for (int tick = 1; tick <= 3; tick++)
        {
            Scheduler.Advance(TimeSpan.FromSeconds(15));
            AwaitAssert(() => Assert.Equal(tick + 1, _kernel.Reads));
        }

        poller.AwaitHandled();
        Assert.False(aggregator.HasMessages, "an unchanged reading reported"); // idle: polled, nothing to report
        _kernel.Set(Tun0.IfIndex, txDropped: 9);
        Scheduler.Advance(TimeSpan.FromSeconds(15));
        aggregator.ExpectReading(s => s.Stats.TxDropped == 9);
    }

    [Fact]
    public void Honours_a_changed_poll_interval()
    {
        _kernel.Set(Tun0.IfIndex, txDropped: 1);
        (TestProbe aggregator, IActorRef poller) = StartPoller(TimeSpan.FromMilliseconds(500));

        aggregator.ExpectReading();
        _kernel.Set(Tun0.IfIndex, txDropped: 2);
        Scheduler.Advance(TimeSpan.FromMilliseconds(499));
        poller.AwaitHandled();
        Assert.False(aggregator.HasMessages, "a reading before the interval was up");
        Scheduler.Advance(TimeSpan.FromMilliseconds(1));
        aggregator.ExpectReading();
        for (int i = 0; i < 10; i++)
        {
            _kernel.Set(Tun0.IfIndex, txDropped: (ulong)(3 + i));
            Scheduler.Advance(TimeSpan.FromMilliseconds(500));
            aggregator.ExpectReading();
        }

        poller.AwaitHandled();
        Assert.False(aggregator.HasMessages, "more than one reading per interval");
        Assert.Equal(12, _kernel.Reads);
    }

    [Fact]
    public void Closes_its_socket_when_stopped()
    {
        _kernel.Set(Tun0.IfIndex, txDropped: 1);
        (TestProbe aggregator, IActorRef poller) = StartPoller(TimeSpan.FromSeconds(15));
        aggregator.ExpectReading();
        Assert.Equal(1, _kernel.OpenReaders);

        Watch(poller);
        Sys.Stop(poller);
        ExpectTerminated(poller);
        Assert.Equal(0, _kernel.OpenReaders);
    }

    [Fact]
    public void Cancels_its_ticks_when_stopped()
    {
        _kernel.Set(Tun0.IfIndex, txDropped: 1);
        (TestProbe aggregator, IActorRef poller) = StartPoller(TimeSpan.FromSeconds(15));
        aggregator.ExpectReading();
        this.StopAndExpectNoTicks(poller, TimeSpan.FromMinutes(1));
    }

    [Fact]
    public void Keeps_one_tick_schedule_across_a_restart()
    {
        _kernel.Set(Tun0.IfIndex, txDropped: 1);
        (TestProbe aggregator, IActorRef poller) = StartPoller(TimeSpan.FromSeconds(15));
        aggregator.ExpectReading();

        _kernel.FailNextRead(FakeKernel.Timeout()); // the guardian above this poller restarts it
        Scheduler.Advance(TimeSpan.FromSeconds(15));
        aggregator.ExpectMsg<PollFailed>();
        aggregator.ExpectReading(); // the new incarnation polls at once
        AwaitAssert(() => Assert.Equal(3, _kernel.Reads));

        for (int tick = 1; tick <= 3; tick++)
        {
            Scheduler.Advance(TimeSpan.FromSeconds(15));
            AwaitAssert(() => Assert.True(_kernel.Reads >= 3 + tick));
        }

        // The first incarnation's schedule was cancelled with it: one poll per interval, not two.
        poller.AwaitHandled(); // every tick told to the poller (the same ref across the restart) has been handled
        Assert.False(aggregator.HasMessages, "a reading or failure from a second schedule");
        Assert.Equal(6, _kernel.Reads);
    }

    [Fact]
    public void Reports_a_vanished_device_to_its_supervisor_and_stops_polling()
    {
        _kernel.Set(Tun0.IfIndex, txDropped: 1);
        (TestProbe aggregator, IActorRef poller) = StartPoller(TimeSpan.FromSeconds(15));
        aggregator.ExpectReading();

        _kernel.Remove(Tun0.IfIndex);
        Scheduler.Advance(TimeSpan.FromSeconds(15));
        ExpectMsg<DeviceVanished>(m => m.Device == Tun0);
        aggregator.ExpectMsg<PollFailed>(m => m.Reason == "device_gone");
        Assert.Equal(0, _kernel.OpenReaders);

        int reads = _kernel.Reads;
        Scheduler.Advance(TimeSpan.FromMinutes(5));
        poller.AwaitHandled(); // still running, waiting to be stopped; any tick that fired has been handled
        Assert.False(aggregator.HasMessages, "a poll after the device vanished");
        Assert.False(HasMessages, "a second vanished notice");
        Assert.Equal(reads, _kernel.Reads);
    }
}
