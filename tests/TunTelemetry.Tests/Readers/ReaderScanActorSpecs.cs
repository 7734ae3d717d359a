using System.Diagnostics.Metrics;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using TunTelemetry.Devices;
using TunTelemetry.Metrics;
using TunTelemetry.Readers;
using TunTelemetry.Testing;
using TunTelemetry.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace TunTelemetry.Tests.Readers;

/// <summary>
/// When the reader scan runs and what it reports, in virtual time. The scan itself is replaced by a table the spec
/// sets (the real one is tested against real processes in the integration tests); the aggregator and the
/// OpenTelemetry SDK are real.
/// </summary>
public sealed class ReaderScanActorSpecs : TestKit
{
    private const ulong OwnNetns = 4026531833;
    private const ulong OtherNetns = 4026532999;
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);
    private static readonly TunDevice Wg0 = new(7, "wg0", TunDeviceKind.Tun);
    private static readonly TunDevice Tun1 = new(8, "tun1", TunDeviceKind.Tun);

    private readonly Meter _meter = new($"TunTelemetry.Readers.{Guid.NewGuid():N}");
    private readonly MeterExport _export;
    private readonly TunDeviceMetrics _metrics;
    private TunReaderTable _table = TunReaderTable.Empty;
    private int _scans;

    public ReaderScanActorSpecs(ITestOutputHelper output)
        : base(VirtualTime.Config, output: output)
    {
        _metrics = new TunDeviceMetrics(_meter, detailed: false);
        _export = new MeterExport(_meter);
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private IActorRef Start(IActorRef aggregator, TimeSpan? interval)
    {
        IActorRef actor = Sys.ActorOf(ReaderScanActor.Props(aggregator, interval, () =>
        {
            _scans++;
            return _table;
        }, OwnNetns));
        Handled(actor); // started before time moves
        return actor;
    }

    /// <summary>The actor has handled everything told before (its mailbox is in order), so its timers are set.</summary>
    private static void Handled(IActorRef actor) => actor.Ask<ReadersObserved>(GetReaders.Instance, TimeSpan.FromSeconds(30)).Wait();

    private static TunReaderTable Table(int hidden, params (ulong Netns, string Device, TunReader Reader)[] readers) =>
        new(readers.GroupBy(r => new NetnsDevice(r.Netns, r.Device))
            .ToDictionary(g => g.Key, g => (IReadOnlyList<TunReader>)g.Select(r => r.Reader).ToArray()), 100, hidden);

    [Fact]
    public void Devices_appearing_together_share_one_scan_a_second_later_then_scans_follow_the_interval()
    {
        TestProbe aggregator = CreateTestProbe();
        _table = Table(0, (OwnNetns, "wg0", new TunReader(100, "wireguard-go", 'S')));
        IActorRef actor = Start(aggregator, Interval);

        actor.Tell(new DeviceWatchStarted(Wg0));
        actor.Tell(new DeviceWatchStarted(Tun1));
        Handled(actor);
        Scheduler.Advance(ReaderScanActor.AppearanceDelay);

        ReadersObserved observed = aggregator.ExpectMsg<ReadersObserved>();
        Assert.Equal(1, _scans);
        Assert.Equal([new TunReader(100, "wireguard-go", 'S')], observed.For(Wg0.IfIndex));
        Assert.Empty(observed.For(Tun1.IfIndex)!); // watched, and nothing holds it

        Handled(actor);
        Scheduler.Advance(Interval - ReaderScanActor.AppearanceDelay - TimeSpan.FromSeconds(1));
        Handled(actor); // any tick that fired has been handled, and what it sent is in the probe's queue
        Assert.False(aggregator.HasMessages, "a scan before the interval was up");
        Assert.Equal(1, _scans);
        Scheduler.Advance(TimeSpan.FromSeconds(1));
        aggregator.ExpectMsg<ReadersObserved>();
        Assert.Equal(2, _scans);
    }

    [Fact]
    public void The_scan_after_devices_appear_is_told_to_look_at_every_process_and_the_periodic_ones_are_not()
    {
        TestProbe aggregator = CreateTestProbe();
        var told = new List<bool>();
        IActorRef actor = Sys.ActorOf(ReaderScanActor.Props(aggregator, Interval, deviceAppeared =>
        {
            told.Add(deviceAppeared);
            return _table;
        }, OwnNetns, sampleCpu: null));
        Handled(actor);

        actor.Tell(new DeviceWatchStarted(Wg0));
        Handled(actor);
        Scheduler.Advance(ReaderScanActor.AppearanceDelay);
        aggregator.ExpectMsg<ReadersObserved>();
        Scheduler.Advance(Interval);
        aggregator.ExpectMsg<ReadersObserved>();

        // Another namespace's new device too; a device that left is no reason to look again.
        var vpn = new DeviceNamespace(OtherNetns, "vpn");
        var wg0There = new TunDevice(2, "wg0", TunDeviceKind.Tun) { Namespace = vpn };
        actor.Tell(new DeviceWatchStarted(wg0There));
        Handled(actor);
        Scheduler.Advance(ReaderScanActor.AppearanceDelay);
        aggregator.ExpectMsg<ReadersObserved>();
        actor.Tell(new DeviceWatchStopped(wg0There));
        aggregator.ExpectMsg<ReadersObserved>(); // its readers go at once, without a scan
        Handled(actor);
        Scheduler.Advance(Interval);
        aggregator.ExpectMsg<ReadersObserved>();

        Assert.Equal([true, false, true, false], told);
    }

    [Fact]
    public async Task Off_never_scans()
    {
        TestProbe aggregator = CreateTestProbe();
        IActorRef actor = Start(aggregator, interval: null);

        actor.Tell(new DeviceWatchStarted(Wg0));
        Handled(actor);
        Scheduler.Advance(TimeSpan.FromHours(2));

        Handled(actor); // any tick that fired has been handled, and what it sent is in the probe's queue
        Assert.False(aggregator.HasMessages, "readers reported with scans off");
        Assert.Equal(0, _scans);
        Assert.False((await actor.Ask<ReadersObserved>(GetReaders.Instance, TimeSpan.FromSeconds(30))).Scanned);
    }

    [Fact]
    public void A_same_named_device_in_another_namespace_lends_no_readers()
    {
        TestProbe aggregator = CreateTestProbe();
        _table = Table(0, (OtherNetns, "wg0", new TunReader(200, "openvpn", 'S')));
        IActorRef actor = Start(aggregator, Interval);

        actor.Tell(new DeviceWatchStarted(Wg0));
        Handled(actor);
        Scheduler.Advance(ReaderScanActor.AppearanceDelay);

        Assert.Empty(aggregator.ExpectMsg<ReadersObserved>().For(Wg0.IfIndex)!);
    }

    [Fact]
    public void Reader_series_are_exported_with_pid_and_name_and_leave_when_the_reader_exits_or_the_device_goes()
    {
        IActorRef aggregatorActor = Sys.ActorOf(MetricsAggregatorActor.Props(_metrics));
        _table = Table(0,
            (OwnNetns, "wg0", new TunReader(100, "wireguard-go", 'T')),
            (OwnNetns, "wg0", new TunReader(101, "wireguard-go", 'S')),
            (OwnNetns, "tun1", new TunReader(300, "openvpn", 'S')));
        IActorRef actor = Start(aggregatorActor, Interval);
        actor.Tell(new DeviceWatchStarted(Wg0));
        actor.Tell(new DeviceWatchStarted(Tun1));
        Handled(actor);
        Scheduler.Advance(ReaderScanActor.AppearanceDelay);

        AwaitAssert(() => Assert.Equal(
            ["openvpn[300]@tun1 stopped=0", "wireguard-go[100]@wg0 stopped=1", "wireguard-go[101]@wg0 stopped=0"],
            ExportedReaders()));

        _table = Table(0, (OwnNetns, "wg0", new TunReader(101, "wireguard-go", 'S')), (OwnNetns, "tun1", new TunReader(300, "openvpn", 'S')));
        Scheduler.Advance(Interval);
        AwaitAssert(() => Assert.Equal(["openvpn[300]@tun1 stopped=0", "wireguard-go[101]@wg0 stopped=0"], ExportedReaders()));

        actor.Tell(new DeviceWatchStopped(Tun1)); // leaves at once, without waiting for a scan
        AwaitAssert(() => Assert.Equal(["wireguard-go[101]@wg0 stopped=0"], ExportedReaders()));
    }

    [Fact]
    public async Task Devices_of_another_namespace_get_their_own_namespaces_readers_with_its_attributes_until_they_stop()
    {
        IActorRef aggregatorActor = Sys.ActorOf(MetricsAggregatorActor.Props(_metrics));
        var vpn = new DeviceNamespace(OtherNetns, "vpn");
        TunDevice wg0There = new TunDevice(2, "wg0", TunDeviceKind.Tun) { Namespace = vpn };
        _table = Table(0,
            (OwnNetns, "wg0", new TunReader(100, "wireguard-go", 'S')),
            (OtherNetns, "wg0", new TunReader(200, "wireguard-go", 'T')));
        IActorRef actor = Start(aggregatorActor, Interval);

        // Devices of two namespaces appearing schedule one scan a second later.
        actor.Tell(new DeviceWatchStarted(Wg0));
        actor.Tell(new NamespaceListing(OtherNetns, Listed: true));
        actor.Tell(new DeviceWatchStarted(wg0There));
        Handled(actor);
        Scheduler.Advance(ReaderScanActor.AppearanceDelay);
        AwaitAssert(() => Assert.Equal(
            ["wireguard-go[100]@wg0 stopped=0", "wireguard-go[200]@wg0@vpn:4026532999 stopped=1"], ExportedReaders()));
        Assert.Equal(1, _scans);
        ReadersObserved observed = await actor.Ask<ReadersObserved>(GetReaders.Instance, TimeSpan.FromSeconds(30));
        Assert.Equal([new TunReader(100, "wireguard-go", 'S')], observed.For(Wg0.IfIndex)); // ifindex lookups stay in our namespace
        Assert.Equal([new TunReader(200, "wireguard-go", 'T')], observed.ByIdentity()[new DeviceId(OtherNetns, 2)]);

        // The device stops being watched: its readers leave at once, without a scan (and its holder, still in the
        // last table, is not handed to our wg0 as a moved holder: its namespace is listed).
        actor.Tell(new DeviceWatchStopped(wg0There));
        AwaitAssert(() => Assert.Equal(["wireguard-go[100]@wg0 stopped=0"], ExportedReaders()));
        actor.Tell(new DeviceWatchStarted(wg0There));
        Handled(actor);
        Scheduler.Advance(ReaderScanActor.AppearanceDelay);
        AwaitAssert(() => Assert.Equal(2, ExportedReaders().Length));
        actor.Tell(new DeviceWatchStopped(wg0There));
        actor.Tell(new NamespaceListing(OtherNetns, Listed: false));
        AwaitAssert(() => Assert.Equal(["wireguard-go[100]@wg0 stopped=0"], ExportedReaders()));
        Assert.Equal(2, _scans);
    }

    /// <summary>
    /// One export of tundev.reader joined with tundev.reader.stopped, as <c>comm[pid]@device stopped=N</c>, with
    /// <c>@netns-name:inode</c> after the device when the series names a namespace.
    /// </summary>
    private string[] ExportedReaders()
    {
        ExportedMetrics export = _export.Export();
        Dictionary<string, long?> stopped = Points(export, MetricNames.ReaderStopped);
        return Points(export, MetricNames.Reader)
            .Select(p =>
            {
                Assert.Equal(1, p.Value);
                return $"{p.Key} stopped={stopped[p.Key]}";
            })
            .Order(StringComparer.Ordinal)
            .ToArray();
    }

    private static Dictionary<string, long?> Points(ExportedMetrics export, string name)
    {
        var points = new Dictionary<string, long?>();
        foreach (ExportedPoint point in export.Of(name))
        {
            IReadOnlyDictionary<string, object?> tags = point.Attributes;
            Assert.IsType<int>(tags[MetricNames.ProcessPid]);
            string netns = tags.TryGetValue(MetricNames.NetnsInode, out object? inode) ? $"@{tags[MetricNames.NetnsName]}:{inode}" : string.Empty;
            points[$"{tags[MetricNames.ProcessExecutableName]}[{tags[MetricNames.ProcessPid]}]@{tags[MetricNames.InterfaceName]}{netns}"] = point.Long;
        }

        return points;
    }

    protected override void AfterAll()
    {
        _export.Dispose();
        _meter.Dispose();
        base.AfterAll();
    }
}
