using System.Diagnostics.Metrics;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using TunTelemetry.Actors;
using TunTelemetry.Devices;
using TunTelemetry.Discovery;
using TunTelemetry.Hosting;
using TunTelemetry.Metrics;
using TunTelemetry.Netlink;
using TunTelemetry.Polling;
using TunTelemetry.Supervision;
using TunTelemetry.Testing;
using TunTelemetry.Tests.Support;
using TunTelemetry.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace TunTelemetry.Tests.Actors;

public sealed class PerDeviceActorExtensionSpecs : TestKit
{
    public PerDeviceActorExtensionSpecs(ITestOutputHelper output)
        : base(VirtualTime.Config, output: output)
    {
        IgnoreMessages<PerDeviceActorSucceeded>(); // link-state actors started here report to this spec as their supervisor
    }

    private static readonly TunDevice Tun0 = new(7, "tun0", TunDeviceKind.Tun);
    private static readonly TunDevice Tap1 = new(8, "tap1", TunDeviceKind.Tap);
    private readonly FakeKernel _kernel = new();

    private sealed record Started(TunDevice Device);

    private sealed record Stopped(TunDevice Device);

    /// <summary>A test-only per-device actor: reports its lifecycle and fails on request.</summary>
    private sealed class LifecycleReporter : ReceiveActor
    {
        private readonly PerDeviceActorContext _context;
        private readonly IActorRef _report;

        public LifecycleReporter(PerDeviceActorContext context, IActorRef report)
        {
            _context = context;
            _report = report;
            Receive<string>(m => m == "fail", _ => throw new InvalidOperationException("injected"));
        }

        protected override void PreStart() => _report.Tell(new Started(_context.Device));

        protected override void PostStop() => _report.Tell(new Stopped(_context.Device));
    }

    private IActorRef StartWithReporter(TestProbe report, TunTelemetryOptions options)
    {
        var builder = new TunTelemetryBuilder(options)
            .UseLinkStatsReader(_kernel.Open)
            .AddPerDeviceActor("reporter", context => Props.Create(() => new LifecycleReporter(context, report)));
        return Sys.ActorOf(DeviceSupervisorActor.Props(options, CreateTestProbe(), builder.Registrations()));
    }

    private static TunTelemetryOptions Options => TunTelemetryOptions.Default with
    {
        LinkStateMetrics = false,
        PollSpread = false,
        Backoff = new BackoffSettings(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), 0, -1, TimeSpan.FromMinutes(5)),
    };

    [Fact]
    public void A_registered_actor_is_started_and_stopped_with_each_device()
    {
        _kernel.Set(Tun0.IfIndex, txDropped: 0);
        _kernel.Set(Tap1.IfIndex, txDropped: 0);
        TestProbe report = CreateTestProbe();
        IActorRef supervisor = StartWithReporter(report, Options);

        supervisor.Tell(new DevicesListed(DeviceNamespace.Agents, [Tun0, Tap1]));
        var reporters = new Dictionary<TunDevice, IActorRef>();
        for (int i = 0; i < 2; i++)
        {
            reporters[report.ExpectMsg<Started>().Device] = report.LastSender; // told from the reporter's PreStart
        }

        Assert.Equal([Tun0, Tap1], reporters.Keys.OrderBy(d => d.IfIndex));

        supervisor.Tell(new DeviceGone(Tap1));
        Assert.Equal(Tap1, report.ExpectMsg<Stopped>().Device);
        supervisor.AwaitHandled(); // the removal handled: whatever it stopped has been told to stop
        reporters[Tun0].AwaitHandled(); // tun0's reporter still runs
        Assert.False(report.HasMessages, "another reporter started or stopped");
    }

    [Fact]
    public void A_failing_registered_actor_is_restarted_with_the_backoff()
    {
        _kernel.Set(Tun0.IfIndex, txDropped: 0);
        TestProbe report = CreateTestProbe();
        IActorRef supervisor = StartWithReporter(report, Options);
        supervisor.Tell(new DevicesListed(DeviceNamespace.Agents, [Tun0]));
        report.ExpectMsg<Started>();

        Sys.ActorSelection($"{supervisor.Path}/reporter-*").Tell("fail");
        report.ExpectMsg<Stopped>();
        this.AwaitRestartCount(supervisor, 1, "reporter");
        ((TestScheduler)Sys.Scheduler).Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(Tun0, report.ExpectMsg<Started>().Device);
    }

    [Fact]
    public void Registration_names_must_be_unique_and_valid()
    {
        var builder = new TunTelemetryBuilder(Options);
        builder.AddPerDeviceActor("mine", _ => Props.Empty);
        Assert.Throws<ArgumentException>(() => builder.AddPerDeviceActor("mine", _ => Props.Empty));
        Assert.Throws<ArgumentException>(() => builder.AddPerDeviceActor(TunTelemetryBuilder.PollerName, _ => Props.Empty));
        Assert.Throws<ArgumentException>(() => builder.AddPerDeviceActor("bad/name", _ => Props.Empty));
    }

    [Fact]
    public void The_link_state_actor_exports_mtu_txqueuelen_and_oper_state_of_a_real_device()
    {
        // lo is real and needs no privilege; the actor reads it with RTM_GETLINK like any TUN device.
        using var meter = new Meter($"TunTelemetry.Test.{Guid.NewGuid():N}");
        using var export = new MeterExport(meter);
        IActorRef aggregator = Sys.ActorOf(MetricsAggregatorActor.Props(new TunDeviceMetrics(meter, detailed: false)));
        var lo = new TunDevice(1, "lo", TunDeviceKind.Tun);
        var context = new PerDeviceActorContext(lo, aggregator, TestActor, TunTelemetryOptions.Default with { NetlinkDispatcher = "akka.actor.default-dispatcher" });
        Sys.ActorOf(LinkStateActor.Props(context));

        uint mtu = uint.Parse(File.ReadAllText("/sys/class/net/lo/mtu").Trim(), System.Globalization.CultureInfo.InvariantCulture);
        uint txqlen = uint.Parse(File.ReadAllText("/sys/class/net/lo/tx_queue_len").Trim(), System.Globalization.CultureInfo.InvariantCulture);
        AwaitAssert(() => Assert.Equal(mtu, (uint?)export.Export().Value(MetricNames.LinkMtu, "lo")));
        ExportedMetrics exported = export.Export();
        Assert.Equal(txqlen, (uint?)exported.Value(MetricNames.LinkTxQueueLength, "lo"));
        Assert.Equal((long)LinkOperState.Unknown, exported.Value(MetricNames.LinkOperState, "lo")); // lo reports UNKNOWN
    }

    [Fact]
    public void The_link_state_actor_observes_once_per_interval_and_cancels_its_ticks_when_stopped()
    {
        TestProbe aggregator = CreateTestProbe();
        var lo = new TunDevice(1, "lo", TunDeviceKind.Tun);
        var context = new PerDeviceActorContext(lo, aggregator, TestActor, TunTelemetryOptions.Default with
        {
            NetlinkDispatcher = "akka.actor.default-dispatcher",
            LinkStateInterval = TimeSpan.FromMinutes(1),
        });
        IActorRef actor = Sys.ActorOf(LinkStateActor.Props(context));
        aggregator.ExpectMsg<LinkStateObserved>(m => m.Device == lo); // at start
        var scheduler = (TestScheduler)Sys.Scheduler;
        scheduler.Advance(TimeSpan.FromSeconds(59));
        actor.AwaitHandled(); // any tick that fired has been handled
        Assert.False(aggregator.HasMessages, "an observation before the interval was up");
        scheduler.Advance(TimeSpan.FromSeconds(1));
        aggregator.ExpectMsg<LinkStateObserved>(m => m.Device == lo);
        actor.AwaitHandled();
        Assert.False(aggregator.HasMessages, "more than one observation per interval");
        this.StopAndExpectNoTicks(actor, TimeSpan.FromMinutes(5));
    }

    [Fact]
    public void The_link_state_actor_reports_a_vanished_device()
    {
        TestProbe aggregator = CreateTestProbe();
        var ghost = new TunDevice(int.MaxValue - 3, "ghost0", TunDeviceKind.Tun);
        var context = new PerDeviceActorContext(ghost, aggregator, TestActor, TunTelemetryOptions.Default with { NetlinkDispatcher = "akka.actor.default-dispatcher" });
        IActorRef actor = Sys.ActorOf(LinkStateActor.Props(context));
        ExpectMsg<DeviceVanished>(m => m.Device == ghost);

        ((TestScheduler)Sys.Scheduler).Advance(TimeSpan.FromMinutes(5));
        actor.AwaitHandled(); // still running, waiting to be stopped; any tick that fired has been handled
        Assert.False(HasMessages, "a second vanished notice"); // its ticks stopped with the report: no second one
        Assert.False(aggregator.HasMessages, "an observation of the vanished device");
    }

    [Fact]
    public void Bad_extension_measurements_are_ignored_with_one_warning_each_and_lose_nothing()
    {
        DeviceInstrument queues = DeviceInstrument.Gauge("test.queues", "{queue}", "Queues.");
        DeviceInstrument resets = DeviceInstrument.Counter("test.resets", "{reset}", "Resets.");
        using var harness = new PerDeviceActorHarness(this, t => t.AddPerDeviceActor("idle", _ => Props.Empty, queues, resets), Options);
        harness.AddDevice(Tun0);
        harness.AwaitExport(e => e.Value(MetricNames.TxQueueDrops, "tun0") == 0, "tun0 polled");

        harness.Aggregator.Tell(new DeviceMeasured(Tun0, resets.Name, 4));
        EventFilter.Warning(contains: "was not declared").Expect(1, () =>
        {
            harness.Aggregator.Tell(new DeviceMeasured(Tun0, "test.undeclared", 1));
            harness.Aggregator.Tell(new DeviceMeasured(Tun0, "test.undeclared", 2)); // said once per problem, not per report
        });
        EventFilter.Warning(contains: "negative value").ExpectOne(() => harness.Aggregator.Tell(new DeviceMeasured(Tun0, resets.Name, -1)));
        EventFilter.Warning(contains: "device attribute").ExpectOne(() =>
            harness.Aggregator.Tell(new DeviceMeasured(Tun0, queues.Name, 3, [new(MetricNames.InterfaceName, "other")])));
        harness.Aggregator.Tell(new DeviceMeasured(Tun0, resets.Name, 6));
        harness.Aggregator.Tell(new DeviceMeasured(Tun0, queues.Name, 2));

        // The rejected reports changed nothing: 4 then 6 is 6 counted, the gauge is the valid report.
        ExportedMetrics export = harness.AwaitExport(e => e.Value(queues.Name, "tun0") == 2, "the valid gauge report");
        Assert.Equal(6, export.Value(resets.Name, "tun0"));
        Assert.DoesNotContain(export.Points, p => p.Metric == "test.undeclared");
    }

    [Fact]
    public void An_ended_extension_series_leaves_the_next_export_and_the_devices_others_stay()
    {
        DeviceInstrument readers = DeviceInstrument.Gauge("test.readers", "{reader}", "Readers.", seriesPerDevice: 4);
        using var harness = new PerDeviceActorHarness(this, t => t.AddPerDeviceActor("idle", _ => Props.Empty, readers), Options);
        harness.AddDevice(Tun0);
        harness.Aggregator.Tell(new DeviceMeasured(Tun0, readers.Name, 1, [new("process.pid", 10L)]));
        harness.Aggregator.Tell(new DeviceMeasured(Tun0, readers.Name, 1, [new("process.pid", 11L)]));
        harness.AwaitExport(e => e.Of(readers.Name).Count() == 2, "two readers");

        harness.Aggregator.Tell(new DeviceSeriesEnded(Tun0, readers.Name, [new("process.pid", 10L)]));
        ExportedMetrics export = harness.AwaitExport(e => e.Of(readers.Name).Count() == 1, "one reader left");
        Assert.Equal(1, export.Value(readers.Name, "tun0", ("process.pid", 11L)));
        Assert.Equal(0, export.Value(MetricNames.TxQueueDrops, "tun0"));
    }
}
