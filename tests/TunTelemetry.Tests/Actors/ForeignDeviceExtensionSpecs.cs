using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using TunTelemetry.Actors;
using TunTelemetry.Devices;
using TunTelemetry.Discovery;
using TunTelemetry.Hosting;
using TunTelemetry.Metrics;
using TunTelemetry.Supervision;
using TunTelemetry.Testing;
using TunTelemetry.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace TunTelemetry.Tests.Actors;

/// <summary>
/// The devices of other network namespaces (<c>--all-namespaces</c>): listed by their namespace's discovery
/// (<see cref="DevicesListed"/>, sent here as the discovery sends it), each gets the poller and the
/// extensions under the rules of the agent's own devices, keyed by (namespace, ifindex). In virtual time.
/// </summary>
public sealed class ForeignDeviceExtensionSpecs : TestKit
{
    private static readonly DeviceNamespace Vpn = new(4026532801, "vpn");
    private static readonly DeviceNamespace Pod = new(4026532802, "pod");

    // The same ifindex and name as the agent's own tun0: told apart only by the namespace.
    private static readonly TunDevice Tun0 = new(7, "tun0", TunDeviceKind.Tun);
    private static readonly TunDevice VpnTun0 = Tun0 with { Namespace = Vpn };
    private static readonly TunDevice VpnTun1 = new TunDevice(8, "tun1", TunDeviceKind.Tun) with { Namespace = Vpn };
    private static readonly TunDevice PodTun0 = Tun0 with { Namespace = Pod };

    private readonly FakeKernel _kernel = new();

    public ForeignDeviceExtensionSpecs(ITestOutputHelper output)
        : base(VirtualTime.Config, output: output)
    {
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private static TunTelemetryOptions Options => TunTelemetryOptions.Default with
    {
        PollSpread = false,
        LinkStateMetrics = false, // it reads the real kernel, where the spec's tun0 does not exist
        RetainDeleted = TimeSpan.FromMinutes(5),
        Backoff = new BackoffSettings(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(8), 0, -1, TimeSpan.FromMinutes(5)),
    };

    private sealed record Started(TunDevice Device);

    private sealed record Stopped(TunDevice Device);

    /// <summary>Reports its lifecycle, fails on request, and exports one gauge for its device at start.</summary>
    private sealed class Reporter : ReceiveActor
    {
        public static readonly DeviceInstrument Up = DeviceInstrument.Gauge("test.reporter.up", "1", "1 while the reporter runs.");

        private readonly PerDeviceActorContext _context;
        private readonly IActorRef _report;

        public Reporter(PerDeviceActorContext context, IActorRef report)
        {
            _context = context;
            _report = report;
            Receive<string>(m => m == "fail", _ => throw new InvalidOperationException("injected"));
        }

        protected override void PreStart()
        {
            _context.Aggregator.Tell(new DeviceMeasured(_context.Device, Up.Name, 1));
            _report.Tell(new Started(_context.Device));
        }

        protected override void PostStop() => _report.Tell(new Stopped(_context.Device));
    }

    /// <summary>The supervisor with the built-in poller and the reporter, as the agent registers them.</summary>
    private IActorRef StartSupervisor(TestProbe report, IActorRef aggregator)
    {
        var builder = new TunTelemetryBuilder(Options)
            .UseLinkStatsReader(_kernel.Open)
            .AddPerDeviceActor("reporter", context => Props.Create(() => new Reporter(context, report)), Reporter.Up);
        return Sys.ActorOf(DeviceSupervisorActor.Props(Options, aggregator, builder.Registrations()));
    }

    /// <summary>
    /// The supervisor's running child whose name matches <paramref name="pattern"/>, once the supervisor has handled
    /// everything before (a restart timer the last advance fired included); null when none runs. A child answers
    /// Identify only after its PreStart, so a child found has also told its Started.
    /// </summary>
    private IActorRef? ChildOf(IActorRef supervisor, string pattern)
    {
        supervisor.AwaitHandled();
        return Sys.ActorSelection($"{supervisor.Path}/{pattern}").Ask<ActorIdentity>(new Identify(null), TimeSpan.FromSeconds(30)).Result.Subject;
    }

    private async Task<(TunDevice Device, string Kind, int Restarts)[]> ActorsOf(IActorRef supervisor) =>
        (await supervisor.Ask<RestartCounts>(GetRestartCounts.Instance, TimeSpan.FromSeconds(30))).Restarts.ToArray();

    [Fact]
    public async Task A_foreign_device_gets_its_own_poller_and_extensions_and_is_not_the_own_device_of_its_ifindex()
    {
        _kernel.Set(Tun0.IfIndex, txDropped: 0);
        TestProbe report = CreateTestProbe();
        TestProbe aggregator = CreateTestProbe();
        IActorRef supervisor = StartSupervisor(report, aggregator);
        supervisor.Tell(new DevicesListed(DeviceNamespace.Agents, [Tun0]));
        Assert.Equal(Tun0, report.ExpectMsg<Started>().Device);

        supervisor.Tell(new DevicesListed(Vpn, [VpnTun0]));
        supervisor.Tell(new DevicesListed(Pod, [PodTun0]));
        Assert.Equal([VpnTun0, PodTun0], new[] { report.ExpectMsg<Started>().Device, report.ExpectMsg<Started>().Device }.OrderBy(d => d.Namespace!.Inode));

        (TunDevice Device, string Kind, int Restarts)[] actors = await ActorsOf(supervisor);
        Assert.Equal(["poller", "reporter"], actors.Where(a => a.Device == Tun0).Select(a => a.Kind).Order());
        Assert.Equal(["poller", "reporter"], actors.Where(a => a.Device == VpnTun0).Select(a => a.Kind).Order());
        Assert.Equal(["poller", "reporter"], actors.Where(a => a.Device == PodTun0).Select(a => a.Kind).Order());

        // The own namespace's listing does not touch the others' devices (same ifindex), nor theirs the own device.
        supervisor.Tell(new DevicesListed(DeviceNamespace.Agents, [Tun0]));
        supervisor.Tell(new DevicesListed(Vpn, [VpnTun0]));
        WatchedDevices watched = await supervisor.Ask<WatchedDevices>(GetWatchedDevices.Instance, TimeSpan.FromSeconds(30));
        Assert.Equal([Tun0, VpnTun0, PodTun0], watched.Devices); // the own namespace's first, then by namespace
        Assert.False(report.HasMessages, "a listing of unchanged devices started or stopped an actor"); // handled before the Ask
        DevicesWatchedChanged count = aggregator.FishForMessage<DevicesWatchedChanged>(m => m.Count == 3, TimeSpan.FromSeconds(30));
        Assert.Equal(3, count.Count);
    }

    [Fact]
    public void A_failing_extension_of_a_foreign_device_is_restarted_with_the_backoff_and_the_own_device_of_its_ifindex_is_untouched()
    {
        _kernel.Set(Tun0.IfIndex, txDropped: 0);
        TestProbe report = CreateTestProbe();
        IActorRef supervisor = StartSupervisor(report, CreateTestProbe());
        supervisor.Tell(new DevicesListed(DeviceNamespace.Agents, [Tun0]));
        supervisor.Tell(new DevicesListed(Vpn, [VpnTun0]));
        Assert.Equal([Tun0, VpnTun0], new[] { report.ExpectMsg<Started>().Device, report.ExpectMsg<Started>().Device }.OrderBy(d => d.Namespace?.Inode));

        Sys.ActorSelection($"{supervisor.Path}/reporter-netns{Vpn.Inode}-*").Tell("fail");
        Assert.Equal(VpnTun0, report.ExpectMsg<Stopped>().Device);
        this.AwaitRestartCount(supervisor, 1, "reporter");

        Scheduler.Advance(TimeSpan.FromSeconds(1.9));
        Assert.Null(ChildOf(supervisor, $"reporter-netns{Vpn.Inode}-*")); // backoff.min is 2 s
        Scheduler.Advance(TimeSpan.FromSeconds(0.1));
        Assert.Equal(VpnTun0, report.ExpectMsg<Started>().Device);

        // A second failure in a row waits twice as long.
        Sys.ActorSelection($"{supervisor.Path}/reporter-netns{Vpn.Inode}-*").Tell("fail");
        Assert.Equal(VpnTun0, report.ExpectMsg<Stopped>().Device);
        this.AwaitRestartCount(supervisor, 2, "reporter");
        Scheduler.Advance(TimeSpan.FromSeconds(3.9));
        Assert.Null(ChildOf(supervisor, $"reporter-netns{Vpn.Inode}-*"));
        Scheduler.Advance(TimeSpan.FromSeconds(0.1));
        Assert.Equal(VpnTun0, report.ExpectMsg<Started>().Device);
    }

    [Fact]
    public void A_foreign_devices_actors_stop_when_its_namespace_no_longer_lists_it_and_when_the_namespace_goes()
    {
        _kernel.Set(Tun0.IfIndex, txDropped: 0);
        _kernel.Set(VpnTun1.IfIndex, txDropped: 0); // every listed device exists: its poller reads it
        TestProbe report = CreateTestProbe();
        TestProbe aggregator = CreateTestProbe();
        IActorRef supervisor = StartSupervisor(report, aggregator);
        supervisor.Tell(new DevicesListed(DeviceNamespace.Agents, [Tun0]));
        supervisor.Tell(new DevicesListed(Vpn, [VpnTun0, VpnTun1]));
        Assert.Equal([Tun0, VpnTun0, VpnTun1], Enumerable.Range(0, 3).Select(_ => report.ExpectMsg<Started>().Device).OrderBy(d => d.Namespace?.Inode).ThenBy(d => d.IfIndex));

        // tun1 left the namespace's dump: its extension stops, then the aggregator is told to retire it.
        supervisor.Tell(new DevicesListed(Vpn, [VpnTun0]));
        Assert.Equal(VpnTun1, report.ExpectMsg<Stopped>().Device);
        aggregator.FishForMessage(m => m is DeviceRetired r && r.Device == VpnTun1);

        // The discovery stopped (its namespace went): it says so, with no devices.
        supervisor.Tell(new NamespaceGone(Vpn));
        Assert.Equal(VpnTun0, report.ExpectMsg<Stopped>().Device);
        aggregator.FishForMessage(m => m is DeviceRetired r && r.Device == VpnTun0);
        Assert.NotNull(ChildOf(supervisor, $"reporter-{Tun0.IfIndex}-*")); // the own tun0 of the same ifindex runs on
        Assert.False(report.HasMessages, "an actor started or stopped besides the namespace's");
    }

    [Fact]
    public void A_foreign_extension_waiting_out_its_backoff_is_not_started_after_its_namespace_went()
    {
        _kernel.Set(Tun0.IfIndex, txDropped: 0); // its poller reads it: a device the kernel has
        TestProbe report = CreateTestProbe();
        TestProbe aggregator = CreateTestProbe();
        IActorRef supervisor = StartSupervisor(report, aggregator);
        supervisor.Tell(new DevicesListed(Vpn, [VpnTun0]));
        report.ExpectMsg<Started>();
        Sys.ActorSelection($"{supervisor.Path}/reporter-netns{Vpn.Inode}-*").Tell("fail");
        report.ExpectMsg<Stopped>();
        this.AwaitRestartCount(supervisor, 1, "reporter");

        supervisor.Tell(new NamespaceGone(Vpn));
        aggregator.FishForMessage(m => m is DeviceRetired r && r.Device == VpnTun0);
        Scheduler.Advance(TimeSpan.FromMinutes(1));
        Assert.Null(ChildOf(supervisor, $"reporter-netns{Vpn.Inode}-*"));
        Assert.False(report.HasMessages, "the extension was started again after its namespace went");
    }

    [Fact]
    public void A_foreign_devices_extension_series_carry_its_namespace_and_leave_with_it()
    {
        TestProbe report = CreateTestProbe();
        using var harness = new PerDeviceActorHarness(this,
            t => t.AddPerDeviceActor("reporter", context => Props.Create(() => new Reporter(context, report)), Reporter.Up), Options);
        harness.AddDevice(Tun0);
        harness.ListNamespaceDevices(Vpn, Tun0);

        ExportedMetrics export = harness.AwaitExport(e => e.Of(Reporter.Up.Name).Count() == 2, "the own and the foreign tun0");
        ExportedPoint foreign = Assert.Single(export.Of(Reporter.Up.Name), p => p.Attributes.ContainsKey(MetricNames.NetnsInode));
        Assert.Equal((long)Vpn.Inode, foreign.Attributes[MetricNames.NetnsInode]);
        Assert.Equal(Vpn.Name, foreign.Attributes[MetricNames.NetnsName]);
        Assert.Equal("tun0", foreign.Device);

        harness.ListNamespaceDevices(Vpn); // the namespace went: returns once the aggregator retired its tun0
        report.FishForMessage(m => m is Stopped s && s.Device == VpnTun0);
        harness.AwaitExport(e => e.Of(Reporter.Up.Name).Count() == 2, "still within metrics.retain-deleted");
        Scheduler.Advance(TimeSpan.FromMinutes(5));
        export = harness.AwaitExport(e => e.Of(Reporter.Up.Name).Count() == 1, "the foreign series gone after metrics.retain-deleted");
        Assert.False(export.Of(Reporter.Up.Name).Single().Attributes.ContainsKey(MetricNames.NetnsInode));
    }

    [Fact]
    public void A_stopping_discovery_of_a_namespace_inode_that_came_back_does_not_retire_its_successors_devices()
    {
        _kernel.Set(Tun0.IfIndex, txDropped: 0);
        TestProbe report = CreateTestProbe();
        IActorRef supervisor = StartSupervisor(report, CreateTestProbe());
        TestProbe oldDiscovery = CreateTestProbe();
        TestProbe newDiscovery = CreateTestProbe();

        supervisor.Tell(new DevicesListed(Vpn, [VpnTun0]), oldDiscovery);
        Assert.Equal(VpnTun0, report.ExpectMsg<Started>().Device);
        supervisor.Tell(new DevicesListed(Vpn, [VpnTun0]), newDiscovery);
        supervisor.Tell(new NamespaceGone(Vpn), oldDiscovery);
        supervisor.Tell(GetWatchedDevices.Instance);
        Assert.Equal([VpnTun0], ExpectMsg<WatchedDevices>().Devices);
        Assert.False(report.HasMessages, "the old discovery's end stopped the device its successor lists");

        supervisor.Tell(new NamespaceGone(Vpn), newDiscovery);
        Assert.Equal(VpnTun0, report.ExpectMsg<Stopped>().Device);
    }
}
