using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using TunTelemetry.Actors;
using TunTelemetry.Devices;
using TunTelemetry.Discovery;
using TunTelemetry.Hosting;
using TunTelemetry.Metrics;
using TunTelemetry.Polling;
using TunTelemetry.Supervision;
using TunTelemetry.Testing;
using TunTelemetry.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace TunTelemetry.Tests.Supervision;

public sealed class DeviceSupervisorActorSpecs(ITestOutputHelper output) : TestKit(VirtualTime.Config, output: output)
{
    private static readonly TunDevice Tun0 = new(7, "tun0", TunDeviceKind.Tun);
    private readonly FakeKernel _kernel = new();
    private TestProbe? _aggregatorProbe;

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private TestProbe _aggregator => _aggregatorProbe ??= CreateTestProbe();

    private static TunTelemetryOptions Options(int maxRetries = -1) => TunTelemetryOptions.Default with
    {
        LinkStateMetrics = false,
        Backoff = new BackoffSettings(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(8), 0, maxRetries, TimeSpan.FromMinutes(5)),
    };

    private IActorRef StartSupervisor(TunTelemetryOptions options, params TunDevice[] devices) =>
        StartSupervisor(options, resolveByName: null, devices);

    private IActorRef StartSupervisor(TunTelemetryOptions options, Func<string, TunDevice?>? resolveByName, params TunDevice[] devices)
    {
        var registrations = new[] { new PerDeviceActorRegistration("poller", c => DevicePollerActor.Props(c, _kernel.Open)) };
        IActorRef supervisor = Sys.ActorOf(DeviceSupervisorActor.Props(options, _aggregator, registrations, resolveByName: resolveByName)
            .WithDispatcher(options.NetlinkDispatcher));
        supervisor.Tell(new DevicesListed(DeviceNamespace.Agents, devices));
        return supervisor;
    }

    private readonly List<object> _unclaimed = [];

    /// <summary>
    /// The next aggregator message of type <typeparamref name="T"/> matching <paramref name="predicate"/>, whether it
    /// arrived before or after others: messages from different actors have no order between them.
    /// </summary>
    private T Expect<T>(Func<T, bool>? predicate = null)
    {
        bool Matches(object m) => m is T t && (predicate?.Invoke(t) ?? true);
        int index = _unclaimed.FindIndex(Matches);
        if (index >= 0)
        {
            object found = _unclaimed[index];
            _unclaimed.RemoveAt(index);
            return (T)found;
        }

        // Generous and stretched by the test kit's time factor: a busy machine delays a reply, never loses it.
        DateTime deadline = DateTime.UtcNow + Dilated(TimeSpan.FromSeconds(30));
        while (true)
        {
            TimeSpan left = deadline - DateTime.UtcNow;
            Assert.True(left > TimeSpan.Zero, $"no {typeof(T).Name} arrived; got: {string.Join(", ", _unclaimed)}");
            object message = PollerReadings.TakeReading(_aggregator.ReceiveOne(left)) ?? throw new Xunit.Sdk.XunitException(
                $"no {typeof(T).Name} arrived; got: {string.Join(", ", _unclaimed)}");
            if (Matches(message))
            {
                return (T)message;
            }

            _unclaimed.Add(message);
        }
    }

    private void ExpectNoSample()
    {
        Assert.DoesNotContain(_unclaimed, m => m is PolledReading);
        object? message = PollerReadings.TakeReading(_aggregator.ReceiveOne(TimeSpan.FromMilliseconds(150)));
        Assert.False(message is PolledReading, $"unexpected {message}");
        if (message is not null)
        {
            _unclaimed.Add(message);
        }
    }

    [Fact]
    public void Restarts_a_poller_whose_socket_failed_after_the_backoff()
    {
        _kernel.Set(Tun0.IfIndex, txDropped: 10);
        IActorRef supervisor = StartSupervisor(Options(), Tun0);
        Expect<PolledReading>();

        _kernel.FailNextRead(FakeKernel.Timeout());
        Scheduler.Advance(TimeSpan.FromSeconds(15));
        Expect<PollFailed>(m => m.Reason == "timeout");
        Expect<PerDeviceActorRestarting>();
        this.AwaitRestartCount(supervisor, 1);

        Scheduler.Advance(TimeSpan.FromSeconds(1.9));
        ExpectNoSample();
        Scheduler.Advance(TimeSpan.FromSeconds(0.1));
        Expect<PolledReading>(m => m.Stats.TxDropped == 10);
        Assert.Equal(1, _kernel.OpenReaders);
        Assert.Equal(2, _kernel.OpensAttempted);
    }

    [Fact]
    public void Retries_start_up_failures_until_the_poller_runs()
    {
        _kernel.Set(Tun0.IfIndex, txDropped: 3);
        _kernel.FailNextOpen(FakeKernel.SendFailure());
        _kernel.FailNextOpen(FakeKernel.SendFailure());
        IActorRef supervisor = StartSupervisor(Options(), Tun0);

        Expect<PollFailed>(m => m.Reason == "socket");
        this.AwaitRestartCount(supervisor, 1);
        Scheduler.Advance(TimeSpan.FromSeconds(2));
        Expect<PollFailed>(m => m.Reason == "socket");
        this.AwaitRestartCount(supervisor, 2);
        Scheduler.Advance(TimeSpan.FromSeconds(3.9));
        ExpectNoSample();
        Scheduler.Advance(TimeSpan.FromSeconds(0.1));
        Expect<PolledReading>(m => m.Stats.TxDropped == 3);
        Assert.Equal(3, _kernel.OpensAttempted);
        Assert.Equal(1, _kernel.OpenReaders);
    }

    [Fact]
    public void Stops_the_poller_of_a_vanished_device_and_never_restarts_it()
    {
        _kernel.Set(Tun0.IfIndex, txDropped: 1);
        StartSupervisor(Options(), Tun0);
        Expect<PolledReading>();

        _kernel.Remove(Tun0.IfIndex);
        Scheduler.Advance(TimeSpan.FromSeconds(15));
        Expect<DeviceRetired>(m => m.Device == Tun0);
        Expect<DevicesWatchedChanged>(m => m.Count == 0);

        Scheduler.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(1, _kernel.OpensAttempted);
        Assert.Equal(0, _kernel.OpenReaders);
    }

    [Fact]
    public void Starts_a_new_poller_when_a_device_comes_back_under_the_same_name()
    {
        var reborn = Tun0 with { IfIndex = 9 };
        _kernel.Set(Tun0.IfIndex, txDropped: 100);
        IActorRef supervisor = StartSupervisor(Options(), Tun0);
        Expect<PolledReading>(m => m.Device == Tun0);

        _kernel.Remove(Tun0.IfIndex);
        supervisor.Tell(new DeviceGone(Tun0));
        Expect<DeviceRetired>(m => m.Device == Tun0);

        _kernel.Set(reborn.IfIndex, txDropped: 4);
        supervisor.Tell(new DeviceAppeared(reborn));
        Expect<PolledReading>(m => m.Device == reborn && m.Stats.TxDropped == 4);

        supervisor.Tell(GetWatchedDevices.Instance);
        ExpectMsg<WatchedDevices>(w => w.Devices.SequenceEqual([reborn]));
    }

    [Fact]
    public void A_failure_after_a_good_poll_waits_the_shortest_delay_again()
    {
        _kernel.Set(Tun0.IfIndex, txDropped: 1);
        IActorRef supervisor = StartSupervisor(Options(), Tun0);
        Expect<PolledReading>();

        _kernel.FailNextOpen(FakeKernel.SendFailure());
        _kernel.FailNextRead(FakeKernel.Timeout());
        Scheduler.Advance(TimeSpan.FromSeconds(15)); // fails; restart #1 after 2 s fails to open; restart #2 after 4 s
        this.AwaitRestartCount(supervisor, 1);
        Scheduler.Advance(TimeSpan.FromSeconds(2));
        this.AwaitRestartCount(supervisor, 2);
        _kernel.Set(Tun0.IfIndex, txDropped: 2);
        Scheduler.Advance(TimeSpan.FromSeconds(4));
        Expect<PolledReading>(m => m.Stats.TxDropped == 2); // the third poller polled successfully...
        this.AwaitRestartCount(supervisor, 0); // ...and said so: the streak is over

        // One poll interval later, a single failure: the first delay again (2 s), not the next in the doubling (8 s).
        _kernel.Set(Tun0.IfIndex, txDropped: 3);
        _kernel.FailNextRead(FakeKernel.Timeout());
        Scheduler.Advance(TimeSpan.FromSeconds(15));
        this.AwaitRestartCount(supervisor, 1);
        Scheduler.Advance(TimeSpan.FromSeconds(1.9));
        ExpectNoSample();
        Scheduler.Advance(TimeSpan.FromSeconds(0.1));
        Expect<PolledReading>(m => m.Stats.TxDropped == 3);
    }

    [Fact]
    public void Under_intermittent_faults_every_device_is_polled_at_least_every_two_poll_intervals()
    {
        // One read in five fails, forever; counters grow on every read, so every good poll reaches the aggregator.
        // The supervisor and its pollers run on the calling thread: when Advance returns, every poll, failure and
        // restart it caused has been handled, so each step's messages are there to be read without waiting.
        _kernel.Set(Tun0.IfIndex, txDropped: 0);
        _kernel.FailReadsWhere(read => read % 5 == 0 ? FakeKernel.Timeout() : null);
        IActorRef supervisor = StartSupervisor(Options() with { NetlinkDispatcher = CallingThreadDispatcher.Id }, Tun0);
        Expect<PolledReading>();
        DateTimeOffset lastGood = Scheduler.Now;
        TimeSpan longestGap = TimeSpan.Zero;
        int failures = 0;

        // An hour of virtual time, a second at a time. The old rule (failures counted within reset-after) reached the
        // 8 s maximum delay within a minute.
        for (ulong second = 1; second <= 3600; second++)
        {
            _kernel.Set(Tun0.IfIndex, txDropped: second);
            Scheduler.Advance(TimeSpan.FromSeconds(1));
            while (PollerReadings.TakeReading(_aggregator.ReceiveOne(TimeSpan.Zero)) is { } message)
            {
                if (message is PollFailed)
                {
                    failures++;
                    this.AwaitRestartCount(supervisor, 1); // a single failure: never two in a row
                }
                else if (message is PolledReading)
                {
                    longestGap = TimeSpan.FromTicks(Math.Max(longestGap.Ticks, (Scheduler.Now - lastGood).Ticks));
                    lastGood = Scheduler.Now;
                }
            }
        }

        Assert.True(failures >= 40, $"only {failures} failures were injected");
        // A failed tick (15 s) plus the first backoff delay (2 s): far within two poll intervals (30 s), and short of the
        // 23 s that one 8 s delay would make.
        Assert.Equal(TimeSpan.FromSeconds(17), longestGap);
    }

    [Fact]
    public void Only_failures_in_a_row_count_towards_giving_up()
    {
        _kernel.Set(Tun0.IfIndex, txDropped: 1);
        IActorRef supervisor = StartSupervisor(Options(maxRetries: 1), Tun0);
        Expect<PolledReading>();

        for (ulong round = 2; round <= 4; round++) // three single failures, each followed by a good poll
        {
            _kernel.Set(Tun0.IfIndex, txDropped: round);
            _kernel.FailNextRead(FakeKernel.Timeout());
            Scheduler.Advance(TimeSpan.FromSeconds(15));
            Expect<PollFailed>();
            this.AwaitRestartCount(supervisor, 1);
            Scheduler.Advance(TimeSpan.FromSeconds(2));
            Expect<PolledReading>(m => m.Stats.TxDropped == round);
            this.AwaitRestartCount(supervisor, 0);
        }

        supervisor.Tell(GetWatchedDevices.Instance);
        ExpectMsg<WatchedDevices>(w => w.Devices.SequenceEqual([Tun0]) && w.GivenUp.Count == 0);

        _kernel.FailNextRead(FakeKernel.Timeout());
        _kernel.FailNextRead(FakeKernel.Timeout());
        Scheduler.Advance(TimeSpan.FromSeconds(15)); // two in a row exceed max-retries 1
        this.AwaitRestartCount(supervisor, 1);
        Scheduler.Advance(TimeSpan.FromSeconds(2));
        Expect<PerDeviceActorGaveUp>(m => m.Device == Tun0);
    }

    [Fact]
    public void A_device_removed_while_its_poller_waits_for_a_restart_is_retired_and_never_polled_again()
    {
        _kernel.Set(Tun0.IfIndex, txDropped: 1);
        IActorRef supervisor = StartSupervisor(Options(), Tun0);
        Expect<PolledReading>();

        _kernel.FailNextRead(FakeKernel.Timeout());
        Scheduler.Advance(TimeSpan.FromSeconds(15));
        this.AwaitRestartCount(supervisor, 1);
        supervisor.Tell(new DeviceGone(Tun0));
        Expect<DeviceRetired>(m => m.Device == Tun0);

        Scheduler.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, _kernel.OpensAttempted);
        Assert.Equal(0, _kernel.OpenReaders);
    }

    [Fact]
    public void Gives_up_after_max_retries_and_reports_it()
    {
        _kernel.Set(Tun0.IfIndex, txDropped: 1);
        IActorRef supervisor = StartSupervisor(Options(maxRetries: 2), Tun0);
        Expect<PolledReading>();

        for (int i = 0; i < 10; i++)
        {
            _kernel.FailNextRead(FakeKernel.Timeout());
        }

        Scheduler.Advance(TimeSpan.FromSeconds(15)); // fails, restart #1 after 2 s
        Expect<PollFailed>();
        this.AwaitRestartCount(supervisor, 1);
        Scheduler.Advance(TimeSpan.FromSeconds(2)); // fails at once, restart #2 after 4 s
        Expect<PollFailed>();
        this.AwaitRestartCount(supervisor, 2);
        Scheduler.Advance(TimeSpan.FromSeconds(4)); // fails at once: third failure exceeds max-retries 2
        Expect<PollFailed>();
        Expect<PerDeviceActorGaveUp>(m => m.Device == Tun0);

        supervisor.Tell(GetWatchedDevices.Instance);
        ExpectMsg<WatchedDevices>(w => w.GivenUp.SequenceEqual([Tun0]) && w.Devices.Count == 0);
        Assert.Equal(0, _kernel.OpenReaders);
    }

    [Fact]
    public void Devices_listed_together_start_spread_over_one_poll_interval()
    {
        TunDevice[] devices = Enumerable.Range(1, 4).Select(i => new TunDevice(20 + i, $"tun{i}", TunDeviceKind.Tun)).ToArray();

        Assert.Equal(devices.Select(d => d.IfIndex), StartOneBySpreadSlot(devices)); // 3.75 s apart
        Assert.Equal(4, _kernel.Reads);
    }

    [Fact]
    public void Devices_listed_together_start_in_the_kernels_lookup_order()
    {
        // Listed in ifindex order; 1, 257 and 513 share the kernel's hash bucket 1, and 2 and 258 bucket 2.
        TunDevice[] devices = new[] { 1, 2, 257, 258, 513 }.Select(i => new TunDevice(i, $"tb{i}", TunDeviceKind.Tun)).ToArray();

        Assert.Equal([1, 257, 513, 2, 258], StartOneBySpreadSlot(devices));
    }

    /// <summary>
    /// Lists <paramref name="devices"/> together and advances the clock one spread slot (a poll interval / n) at a
    /// time, expecting exactly one device's first reading per slot; returns their ifindexes in the order they came.
    /// </summary>
    private List<int> StartOneBySpreadSlot(TunDevice[] devices)
    {
        foreach (TunDevice device in devices)
        {
            _kernel.Set(device.IfIndex, txDropped: (ulong)device.IfIndex);
        }

        IActorRef supervisor = StartSupervisor(Options(), devices);
        var started = new List<int> { Expect<PolledReading>().Device.IfIndex };
        supervisor.Tell(GetWatchedDevices.Instance); // the listing has been handled: the other starts are scheduled
        Assert.Equal(devices.Length, ExpectMsg<WatchedDevices>().Devices.Count);
        ExpectNoSample();

        for (int i = 1; i < devices.Length; i++)
        {
            Scheduler.Advance(TimeSpan.FromSeconds(15.0 / devices.Length));
            started.Add(Expect<PolledReading>().Device.IfIndex);
            ExpectNoSample();
        }

        return started;
    }

    [Fact]
    public void A_vanished_device_found_again_while_its_spread_start_waits_is_started_once()
    {
        var other = new TunDevice(8, "tun1", TunDeviceKind.Tun);
        var reborn = Tun0 with { IfIndex = 9 };
        _kernel.Set(Tun0.IfIndex, txDropped: 1);
        _kernel.Set(other.IfIndex, txDropped: 2);
        _kernel.Set(reborn.IfIndex, txDropped: 3);
        IActorRef supervisor = StartSupervisor(Options(), name => name == reborn.Name ? reborn : null, Tun0);
        Expect<PolledReading>(m => m.Device == Tun0);

        // A re-list after tun0 was re-created: tun0 is retired, the new tun0 waits for its spread start (half an
        // interval), and then tun0's old poller reports the device gone, which looks the name up and finds it.
        _kernel.Remove(Tun0.IfIndex);
        supervisor.Tell(new DevicesListed(DeviceNamespace.Agents, [other, reborn]));
        Expect<PolledReading>(m => m.Device == other);
        supervisor.Tell(new DeviceVanished(Tun0));
        Expect<PolledReading>(m => m.Device == reborn);

        Scheduler.Advance(TimeSpan.FromSeconds(7.5)); // when the spread start was due
        supervisor.Tell(GetWatchedDevices.Instance);
        Assert.Equal([other, reborn], ExpectMsg<WatchedDevices>().Devices);
        Assert.Equal(2, _kernel.OpenReaders);
    }

    [Fact]
    public void A_full_relist_stops_missing_devices_and_starts_new_ones()
    {
        var tun1 = new TunDevice(8, "tun1", TunDeviceKind.Tap);
        _kernel.Set(Tun0.IfIndex, txDropped: 1);
        _kernel.Set(tun1.IfIndex, txDropped: 2);
        IActorRef supervisor = StartSupervisor(Options(), Tun0);
        Expect<PolledReading>(m => m.Device == Tun0);

        supervisor.Tell(new DevicesListed(DeviceNamespace.Agents, [tun1]));
        Expect<DeviceRetired>(m => m.Device == Tun0);
        Expect<PolledReading>(m => m.Device == tun1);
        AwaitAssert(() => Assert.Equal(1, _kernel.OpenReaders));
    }
}
