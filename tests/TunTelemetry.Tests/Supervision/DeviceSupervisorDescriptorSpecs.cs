using Akka.Actor;
using Akka.Event;
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

/// <summary>
/// The supervisor when descriptors run out, in virtual time: the fake kernel refuses a reader beyond a number with
/// <c>EMFILE</c>, as a real socket is refused once the process's limit less its reserve is reached.
/// </summary>
public sealed class DeviceSupervisorDescriptorSpecs(ITestOutputHelper output) : TestKit(VirtualTime.Config, output: output)
{
    private readonly FakeKernel _kernel = new();
    private readonly List<object> _unclaimed = [];
    private TestProbe? _aggregatorProbe;
    private TestProbe? _logProbe;

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private TestProbe Aggregator => _aggregatorProbe ??= CreateTestProbe();

    private TestProbe LogLines => _logProbe ??= SubscribedLogProbe();

    private static TunTelemetryOptions Options(int maxRetries = -1) => TunTelemetryOptions.Default with
    {
        LinkStateMetrics = false,
        PollSpread = false,
        Backoff = new BackoffSettings(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(8), 0, maxRetries, TimeSpan.FromMinutes(5)),
    };

    private static TunDevice[] Devices(int count) =>
        Enumerable.Range(1, count).Select(i => new TunDevice(10 + i, $"tb{i}", TunDeviceKind.Tun)).ToArray();

    [Fact]
    public void Devices_left_without_descriptors_are_said_once_wait_quietly_and_are_watched_as_descriptors_free_up()
    {
        TunDevice[] devices = Devices(5);
        foreach (TunDevice device in devices)
        {
            _kernel.Set(device.IfIndex, txDropped: (ulong)device.IfIndex);
        }

        _kernel.LimitOpenReaders(3);
        _ = LogLines;
        IActorRef supervisor = StartSupervisor(Options(), Poller(), devices);

        var watched = Enumerable.Range(0, 3).Select(_ => Expect<PolledReading>().Device).ToList();
        Expect<PollFailed>(m => m.Reason == "socket");
        Expect<PollFailed>(m => m.Reason == "socket");
        this.AwaitRestartCount(supervisor, 2);
        Expect<DevicesWatchedChanged>(m => m.Count == 3);
        Expect<DevicesWaitingForDescriptors>(m => m.Count == 2);
        TunDevice[] waiting = devices.Except(watched).ToArray();

        Scheduler.Advance(TimeSpan.FromSeconds(1));
        string began = ExpectLog<Warning>("Out of file descriptors:");
        Assert.Contains("3 devices watched, 2 not watched (RLIMIT_NOFILE ", began, StringComparison.Ordinal);
        Assert.Contains("each device takes one per actor: poller", began, StringComparison.Ordinal);
        Assert.Contains("raise LimitNOFILE= (systemd) or ulimit -n to at least ", began, StringComparison.Ordinal);

        // Retries that find no descriptor either, with the backoff: no line of their own, and no second shortage line.
        int restarts = 2;
        foreach (int seconds in new[] { 2, 4, 8, 8 })
        {
            Scheduler.Advance(TimeSpan.FromSeconds(seconds));
            restarts += 2;
            this.AwaitRestartCount(supervisor, restarts);
        }

        Assert.Equal(3, _kernel.OpenReaders);
        AssertNoLogLine("poller for");
        AssertNoLogLine("Out of file descriptors");

        // A watched device goes: its poller closes its reader, and the device that waited longest takes it at once,
        // before its backoff ends.
        supervisor.Tell(new DeviceGone(watched[0]));
        TunDevice second = Expect<PolledReading>(m => waiting.Contains(m.Device)).Device;
        AwaitWatchedAgain(supervisor);
        Scheduler.Advance(TimeSpan.FromSeconds(60));
        string fewer = ExpectLog<Info>("Still out of file descriptors:");
        Assert.Contains("1 devices not watched now (was 2), 3 watched", fewer, StringComparison.Ordinal);

        supervisor.Tell(new DeviceGone(watched[1]));
        TunDevice last = waiting.Single(d => d != second);
        Expect<PolledReading>(m => m.Device == last);
        AwaitWatchedAgain(supervisor);
        Scheduler.Advance(TimeSpan.FromSeconds(60));
        string ended = ExpectLog<Info>("File descriptors suffice again:");
        Assert.Contains("all 3 devices watched", ended, StringComparison.Ordinal);
        Expect<DevicesWaitingForDescriptors>(m => m.Count == 1);
        Expect<DevicesWaitingForDescriptors>(m => m.Count == 0);
        Assert.Equal(3, _kernel.OpenReaders);
    }

    [Fact]
    public async Task A_device_waiting_for_descriptors_is_never_given_up()
    {
        TunDevice[] devices = Devices(2);
        _kernel.Set(devices[0].IfIndex, txDropped: 1);
        _kernel.Set(devices[1].IfIndex, txDropped: 2);
        _kernel.LimitOpenReaders(1);
        IActorRef supervisor = StartSupervisor(Options(maxRetries: 1), Poller(), devices);
        Expect<PolledReading>();
        this.AwaitRestartCount(supervisor, 1);

        for (int restarts = 2; restarts <= 6; restarts++)
        {
            Scheduler.Advance(TimeSpan.FromSeconds(8));
            this.AwaitRestartCount(supervisor, restarts);
        }

        Assert.DoesNotContain(_unclaimed, m => m is PerDeviceActorGaveUp);
        Assert.Empty((await supervisor.Ask<WatchedDevices>(GetWatchedDevices.Instance, TimeSpan.FromSeconds(10))).GivenUp);
    }

    [Fact]
    public void A_failure_in_an_actors_start_is_logged_with_its_real_cause()
    {
        TunDevice[] devices = Devices(1);
        _ = LogLines;
        var failing = new PerDeviceActorRegistration("sysfs-reader", _ => Props.Create(() => new FailingOnStart("/sys/class/net/tb1/tx_queue_len vanished")));
        IActorRef supervisor = StartSupervisor(Options(), failing, devices);

        string line = ExpectLog<Warning>("sysfs-reader for tb1");
        Assert.EndsWith("failed; retrying in 2.0s: /sys/class/net/tb1/tx_queue_len vanished", line, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception during creation", line, StringComparison.Ordinal);
        this.AwaitRestartCount(supervisor, 1, kind: "sysfs-reader");
    }

    /// <summary>
    /// A device that waited got its descriptor: the supervisor counts it watched again (3 of the 4 left), and has set
    /// the shortage line's timer before virtual time moves on. Its poller hands over its reading before it tells the
    /// supervisor it succeeded, so the reading alone does not say that.
    /// </summary>
    private void AwaitWatchedAgain(IActorRef supervisor)
    {
        Expect<DevicesWatchedChanged>(m => m.Count == 2); // the retired device's count; older counts are stale
        _unclaimed.RemoveAll(m => m is DevicesWatchedChanged);
        Expect<DevicesWatchedChanged>(m => m.Count == 3);
        _ = supervisor.Ask<WatchedDevices>(GetWatchedDevices.Instance, TimeSpan.FromSeconds(30)).Result; // its turn ended
    }

    private PerDeviceActorRegistration Poller() => new("poller", c => DevicePollerActor.Props(c, _kernel.Open));

    private IActorRef StartSupervisor(TunTelemetryOptions options, PerDeviceActorRegistration registration, TunDevice[] devices)
    {
        IActorRef supervisor = Sys.ActorOf(DeviceSupervisorActor.Props(options, Aggregator, [registration]).WithDispatcher(options.NetlinkDispatcher));
        supervisor.Tell(new DevicesListed(DeviceNamespace.Agents, devices));
        return supervisor;
    }

    private TestProbe SubscribedLogProbe()
    {
        TestProbe probe = CreateTestProbe();
        Sys.EventStream.Subscribe(probe.Ref, typeof(Warning));
        Sys.EventStream.Subscribe(probe.Ref, typeof(Info));
        return probe;
    }

    private string ExpectLog<T>(string containing)
        where T : LogEvent
    {
        T entry = LogLines.FishForMessage<T>(e => e.Message.ToString()!.Contains(containing, StringComparison.Ordinal), Dilated(TimeSpan.FromSeconds(30)));
        return entry.Message.ToString()!;
    }

    private void AssertNoLogLine(string containing)
    {
        foreach (object message in LogLines.ReceiveWhile<object>(TimeSpan.FromMilliseconds(300), m => m))
        {
            Assert.False(message is LogEvent e && e.Message.ToString()!.Contains(containing, StringComparison.Ordinal), $"unexpected: {message}");
        }
    }

    /// <summary>The next aggregator message of that type and predicate, in whatever order messages of different actors came.</summary>
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

        DateTime deadline = DateTime.UtcNow + Dilated(TimeSpan.FromSeconds(30));
        while (true)
        {
            TimeSpan left = deadline - DateTime.UtcNow;
            Assert.True(left > TimeSpan.Zero, $"no {typeof(T).Name} arrived; got: {string.Join(", ", _unclaimed)}");
            object message = PollerReadings.TakeReading(Aggregator.ReceiveOne(left))
                ?? throw new Xunit.Sdk.XunitException($"no {typeof(T).Name} arrived; got: {string.Join(", ", _unclaimed)}");
            if (Matches(message))
            {
                return (T)message;
            }

            _unclaimed.Add(message);
        }
    }

    private sealed class FailingOnStart(string why) : UntypedActor
    {
        protected override void PreStart() => throw new InvalidOperationException(why);

        protected override void OnReceive(object message) => Unhandled(message);
    }
}
