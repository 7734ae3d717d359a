using Akka.TestKit.Xunit2;
using TunTelemetry.Devices;
using TunTelemetry.Hosting;
using TunTelemetry.Metrics;
using TunTelemetry.Testing;
using Xunit;
using Xunit.Abstractions;

namespace TunTelemetry.Extensions.Tests;

/// <summary>
/// The sample extension under the real supervisor and aggregator, in virtual time, through the public API and the
/// test kit only.
/// </summary>
public sealed class TxQueueWatchActorSpecs : TestKit
{
    // snippet: harness
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(15);
    private static readonly TunDevice Wg0 = new(7, "wg0", TunDeviceKind.Tun);
    private readonly ScriptedQueues _queues = new(); // the actor's ITxQueueSource: queues per device as each spec sets them
    private readonly PerDeviceActorHarness _harness;

    public TxQueueWatchActorSpecs(ITestOutputHelper output)
        : base(VirtualTime.Config, output: output)
    {
        TunTelemetryOptions options = TunTelemetryOptions.Default with
        {
            LinkStateMetrics = false,
            PollSpread = false, // devices start at once rather than spread over a poll interval of virtual time
            RetainDeleted = TimeSpan.FromMinutes(5),
            Backoff = new BackoffSettings(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30), 0, -1, TimeSpan.FromMinutes(5)),
        };
        _harness = new PerDeviceActorHarness(this, telemetry => telemetry.AddPerDeviceActor(
            TxQueueWatchActor.RegistrationName,
            context => TxQueueWatchActor.Props(context, _queues, Interval),
            TxQueueWatchActor.Queues, TxQueueWatchActor.Timeouts), options);
    }

    private static (string, object) Queue(string name) => ("queue", name);
    // end snippet

    // snippet: virtual-time
    [Fact]
    public void A_15_s_tick_reports_the_queues_in_virtual_time_with_the_device_attributes()
    {
        _queues.Set("wg0", ("tx-0", 3), ("tx-1", 0));
        _harness.AddDevice(Wg0);
        _harness.AwaitExport(e => e.Value(TxQueueWatchActor.Queues.Name, "wg0") == 2, "two queues at start");

        _queues.Set("wg0", ("tx-0", 5), ("tx-1", 1), ("tx-2", 0));
        _harness.Advance(Interval);
        ExportedMetrics export = _harness.AwaitExport(e => e.Value(TxQueueWatchActor.Queues.Name, "wg0") == 3, "three queues after one tick");
        Assert.Equal(5, export.Value(TxQueueWatchActor.Timeouts.Name, "wg0", Queue("tx-0")));
        Assert.Equal(1, export.Value(TxQueueWatchActor.Timeouts.Name, "wg0", Queue("tx-1")));
        Assert.All(export.Of(TxQueueWatchActor.Timeouts.Name), p => Assert.Equal("wg0", p.Attributes[MetricNames.InterfaceName]));
        Assert.Equal(2, _queues.Reads); // one at start, one per tick: 15 s of virtual time took no real time
    }
    // end snippet

    // snippet: restart
    [Fact]
    public void A_failing_read_restarts_the_actor_after_the_backoff_and_counting_stays_exact()
    {
        _queues.Set("wg0", ("tx-0", 5));
        _harness.AddDevice(Wg0);
        _harness.AwaitExport(e => e.Value(TxQueueWatchActor.Timeouts.Name, "wg0", Queue("tx-0")) == 5, "5 timeouts");

        _queues.FailNext = true;
        _harness.Advance(Interval); // the read throws: the supervisor restarts the actor after backoff.min (2 s)
        _harness.AwaitRestartScheduled(TxQueueWatchActor.RegistrationName, 1);
        Assert.Equal(1, _queues.Failures);
        _queues.Set("wg0", ("tx-0", 7));
        _harness.Advance(TimeSpan.FromSeconds(2));

        // The restarted actor's first report (7) continues the series: growth 2, not 7 counted again.
        _harness.AwaitExport(e => e.Value(TxQueueWatchActor.Timeouts.Name, "wg0", Queue("tx-0")) == 7, "7 timeouts after the restart");
        _harness.AwaitExport(e => e.Value(MetricNames.PollerRestarts, "wg0") == 1, "one restart counted");

        // A counter that goes down (the device's queue was re-created) counts from zero: 7 + 1.
        _queues.Set("wg0", ("tx-0", 1));
        _harness.Advance(Interval);
        _harness.AwaitExport(e => e.Value(TxQueueWatchActor.Timeouts.Name, "wg0", Queue("tx-0")) == 8, "a reset counted as growth from zero");
    }
    // end snippet

    [Fact]
    public void Its_series_leave_the_export_with_the_device_after_the_grace_period()
    {
        var wg1 = new TunDevice(8, "wg1", TunDeviceKind.Tun);
        _queues.Set("wg0", ("tx-0", 2));
        _queues.Set("wg1", ("tx-0", 4));
        _harness.AddDevice(Wg0);
        _harness.AddDevice(wg1);
        _harness.AwaitExport(e => e.Value(TxQueueWatchActor.Timeouts.Name, "wg1", Queue("tx-0")) == 4
            && e.Value(TxQueueWatchActor.Timeouts.Name, "wg0", Queue("tx-0")) == 2, "both devices");

        _harness.RemoveDevice(wg1);
        _harness.Advance(TimeSpan.FromMinutes(4));
        Assert.Equal(4, _harness.AwaitExport(e => e.Value(TxQueueWatchActor.Queues.Name, "wg1") == 1, "still within the grace period")
            .Value(TxQueueWatchActor.Timeouts.Name, "wg1", Queue("tx-0")));

        _harness.Advance(TimeSpan.FromMinutes(1));
        ExportedMetrics export = _harness.AwaitExport(e => !e.HasDevice("wg1"), "wg1 gone after retain-deleted");
        Assert.Equal(2, export.Value(TxQueueWatchActor.Timeouts.Name, "wg0", Queue("tx-0")));
    }

    [Fact]
    public void A_device_of_another_network_namespace_gets_the_actor_but_is_not_read_through_the_agents_sysfs()
    {
        _queues.Set("wg0", ("tx-0", 3));
        _queues.Set("wg9", ("tx-0", 3));
        TunDevice foreign = _harness.ListNamespaceDevices(new DeviceNamespace(4026532999, "vpn"), new TunDevice(2, "wg9", TunDeviceKind.Tun)).Single();
        _harness.AddDevice(Wg0);
        _harness.AwaitExport(e => e.Value(TxQueueWatchActor.Queues.Name, "wg0") == 1, "the agent's own wg0");

        _harness.Advance(Interval);
        _harness.AwaitExport(_ => _queues.ReadsOf("wg0") == 2, "the own device read at start and after one tick");
        Assert.Equal(0, _harness.Restarts(foreign, TxQueueWatchActor.RegistrationName)); // running, never restarted
        Assert.Equal(0, _queues.ReadsOf("wg9"));
        Assert.False(_harness.Export().HasDevice("wg9"));
    }

    [Fact]
    public void Instruments_are_checked_when_declared()
    {
        Assert.Throws<ArgumentException>(() => DeviceInstrument.Gauge("tundev.txq.drops", "{packet}", "a built-in name (not public as a MetricNames constant)"));
        Assert.Throws<ArgumentException>(() => DeviceInstrument.Gauge("9starts.with.a.digit", "1", "not an instrument name"));
        var builder = new TunTelemetryBuilder(TunTelemetryOptions.Default);
        builder.AddPerDeviceActor("one", _ => Akka.Actor.Props.Empty, TxQueueWatchActor.Queues);
        Assert.Throws<ArgumentException>(() => builder.AddPerDeviceActor("two", _ => Akka.Actor.Props.Empty, TxQueueWatchActor.Queues));
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _harness.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>Queues per device as a spec sets them; fails one read on request.</summary>
    private sealed class ScriptedQueues : ITxQueueSource
    {
        private readonly Dictionary<string, TxQueue[]> _devices = [];
        private readonly Dictionary<string, int> _readsOf = [];
        private volatile bool _failNext;

        public bool FailNext { set => _failNext = value; }

        public int Reads { get; private set; }

        public int Failures { get; private set; }

        public int ReadsOf(string device)
        {
            lock (_devices)
            {
                return _readsOf.GetValueOrDefault(device);
            }
        }

        public void Set(string device, params (string Name, long Timeouts)[] queues)
        {
            lock (_devices)
            {
                _devices[device] = queues.Select(q => new TxQueue(q.Name, q.Timeouts)).ToArray();
            }
        }

        public IReadOnlyList<TxQueue> Read(string device)
        {
            lock (_devices)
            {
                Reads++;
                _readsOf[device] = _readsOf.GetValueOrDefault(device) + 1;
                if (_failNext)
                {
                    _failNext = false;
                    Failures++;
                    throw new IOException($"/sys/class/net/{device}/queues: injected");
                }

                return _devices[device];
            }
        }
    }
}
