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

namespace TunTelemetry.Tests.Polling;

/// <summary>
/// Scripted kernel values with resets, failures and restarts, through the real supervisor, pollers and aggregator:
/// the exported totals must equal the expected sums exactly.
/// </summary>
public sealed class ExactCountingSpecs : TestKit, IDisposable
{
    private static readonly TunDevice Tun0 = new(7, "tun0", TunDeviceKind.Tun);

    // How long to wait for something that must happen: generous, as a busy machine can stall any thread for seconds.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly FakeKernel _kernel = new();
    private readonly Meter _meter = new($"TunTelemetry.Test.{Guid.NewGuid():N}");
    private readonly MeterExport _export;
    private readonly IActorRef _aggregator;

    public ExactCountingSpecs(ITestOutputHelper output)
        : base(VirtualTime.Config, output: output)
    {
        _export = new MeterExport(_meter);
        _aggregator = Sys.ActorOf(MetricsAggregatorActor.Props(new TunDeviceMetrics(_meter, detailed: true)));
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private static TunTelemetryOptions Options => TunTelemetryOptions.Default with
    {
        LinkStateMetrics = false,
        Backoff = new BackoffSettings(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), 0, -1, TimeSpan.FromDays(1)),
    };

    private IActorRef StartSupervisor(params TunDevice[] devices)
    {
        var registrations = new[] { new PerDeviceActorRegistration("poller", c => DevicePollerActor.Props(c, _kernel.Open)) };
        IActorRef supervisor = Sys.ActorOf(DeviceSupervisorActor.Props(Options, _aggregator, registrations));
        supervisor.Tell(new DevicesListed(DeviceNamespace.Agents, devices));
        return supervisor;
    }

    private long? TxqDrops(string device = "tun0") => _export.Export().Value(MetricNames.TxQueueDrops, device);

    private long? PollFailures(string reason) =>
        _export.Export().Value(MetricNames.PollFailures, "tun0", (MetricNames.ErrorType, reason));

    /// <summary>Series of a device fed by its kernel counters (self-metrics such as poll failures excluded).</summary>
    private static int KernelCounterSeries(ExportedMetrics export, string device) =>
        export.Points.Count(p => p.Device == device && LinkStatsMetricMap.Bindings.Any(b => b.Metric == p.Metric));

    /// <summary>A binding's own attributes besides the device's: its direction and error type, where it has them.</summary>
    private static (string Key, object Value)[] AttributesOf(LinkStatsMetricBinding binding)
    {
        var attributes = new List<(string Key, object Value)>();
        if (binding.Direction is not null)
        {
            attributes.Add((MetricNames.Direction, binding.Direction));
        }

        if (binding.ErrorType is not null)
        {
            attributes.Add((MetricNames.ErrorType, binding.ErrorType));
        }

        return [.. attributes];
    }

    private void AwaitTotal(long expected, string device = "tun0") =>
        AwaitAssert(() => Assert.Equal(expected, TxqDrops(device)), Patience);

    // Checked every millisecond: two hundred rounds each wait for this, and AwaitAssert's usual 100 ms steps add up.
    private void AwaitReads(int expected) => AwaitAssert(() => Assert.Equal(expected, _kernel.Reads), Patience, TimeSpan.FromMilliseconds(1));

    /// <summary>
    /// A round trip through the aggregator. It answers after handling every message that reached it before the
    /// question (one this thread told, or one an actor told before an effect this thread has already seen), so the
    /// checks that follow see those messages counted, or proven to count nothing.
    /// </summary>
    private static DeviceReadings ReadingsOf(IActorRef aggregator) =>
        aggregator.Ask<DeviceReadings>(GetDeviceReadings.Instance, Patience).Result;

    private ulong AggregatorTxDropped() => Assert.Single(ReadingsOf(_aggregator).Devices).Last[LinkStats64Field.TxDropped];

    [Fact]
    public void No_series_exists_before_the_first_successful_poll()
    {
        _kernel.Set(Tun0.IfIndex, txDropped: 42);
        _kernel.FailNextOpen(FakeKernel.SendFailure());
        IActorRef supervisor = StartSupervisor(Tun0);
        this.AwaitRestartCount(supervisor, 1);
        // First the proof that the failed start reached the aggregator (its report is counted, and the round trip
        // after it leaves nothing in flight), then the check that no reading, and so no series, came with it.
        AwaitAssert(() => Assert.Equal(1, PollFailures("socket")), Patience);
        Assert.Empty(ReadingsOf(_aggregator).Devices);
        Assert.Equal(0, _kernel.Reads);
        ExportedMetrics export = _export.Export();
        Assert.Null(export.Value(MetricNames.TxQueueDrops, "tun0"));
        Assert.Equal(0, KernelCounterSeries(export, "tun0"));

        Scheduler.Advance(TimeSpan.FromSeconds(1));
        AwaitTotal(42);
        ReadingsOf(_aggregator); // the reading's other series are added in the same message
        Assert.NotNull(_export.Export().Value(MetricNames.NetworkPacketDropped, "tun0", (MetricNames.Direction, MetricNames.Transmit)));
    }

    [Fact]
    public void First_poll_counts_the_kernel_value_in_full_and_a_zero_is_a_real_zero()
    {
        _kernel.Set(Tun0.IfIndex, txDropped: 0, rxPackets: 12);
        StartSupervisor(Tun0);
        AwaitAssert(() => Assert.NotNull(TxqDrops()), Patience);
        ReadingsOf(_aggregator); // the reading's other series are added in the same message
        Assert.Equal(0, TxqDrops());
        Assert.Equal(12, _export.Export().Value(MetricNames.NetworkPacketCount, "tun0", (MetricNames.Direction, MetricNames.Receive)));
    }

    [Fact]
    public void Totals_equal_expected_sums_through_resets_failures_and_restarts()
    {
        _kernel.Set(Tun0.IfIndex, txDropped: 100);
        IActorRef supervisor = StartSupervisor(Tun0);
        AwaitTotal(100);

        _kernel.Set(Tun0.IfIndex, txDropped: 150);
        Scheduler.Advance(TimeSpan.FromSeconds(15));
        AwaitTotal(150);

        // A poll times out; the poller restarts 1 s later and its first poll continues from 150, not from zero.
        _kernel.FailNextRead(FakeKernel.Timeout());
        _kernel.Set(Tun0.IfIndex, txDropped: 170);
        Scheduler.Advance(TimeSpan.FromSeconds(15));
        this.AwaitRestartCount(supervisor, 1);
        // The failed poll was reported (counted) before the poller failed, so the round trip after that count proves
        // that anything the failed poll sent has been handled: it counted nothing.
        AwaitAssert(() => Assert.Equal(1, PollFailures("timeout")), Patience);
        Assert.Equal(150ul, AggregatorTxDropped());
        Assert.Equal(150, TxqDrops());
        Scheduler.Advance(TimeSpan.FromSeconds(1));
        AwaitTotal(170);

        // The counter goes down (reset): the new value is growth from zero, never a negative or 2^64-sized step.
        _kernel.Set(Tun0.IfIndex, txDropped: 20);
        Scheduler.Advance(TimeSpan.FromSeconds(15));
        AwaitTotal(190);

        _kernel.Set(Tun0.IfIndex, txDropped: 25);
        Scheduler.Advance(TimeSpan.FromSeconds(15));
        AwaitTotal(195);

        // A restart whose re-open fails twice before it works: still nothing lost, nothing repeated.
        _kernel.FailNextRead(FakeKernel.SendFailure());
        _kernel.FailNextOpen(FakeKernel.SendFailure());
        _kernel.FailNextOpen(FakeKernel.SendFailure());
        _kernel.Set(Tun0.IfIndex, txDropped: 40);
        Scheduler.Advance(TimeSpan.FromSeconds(15));
        for (int inARow = 1; inARow <= 3; inARow++) // the good poll after the first restart ended the earlier streak
        {
            this.AwaitRestartCount(supervisor, inARow);
            Scheduler.Advance(TimeSpan.FromSeconds(1));
        }

        AwaitTotal(210);
        Assert.Equal(1, _kernel.OpenReaders);
    }

    [Fact]
    public void Hundreds_of_socket_failures_neither_lose_nor_repeat_growth_nor_leak_sockets()
    {
        _kernel.Set(Tun0.IfIndex, txDropped: 0);
        IActorRef supervisor = StartSupervisor(Tun0);
        AwaitAssert(() => Assert.NotNull(TxqDrops()), Patience);

        ulong kernel = 0;
        int reads = 1;
        for (int round = 1; round <= 200; round++)
        {
            kernel += (ulong)(round % 7);
            _kernel.Set(Tun0.IfIndex, txDropped: kernel);
            bool fail = round % 3 == 0;
            if (fail)
            {
                _kernel.FailNextRead(round % 2 == 0 ? FakeKernel.Timeout() : FakeKernel.SendFailure());
            }

            Scheduler.Advance(TimeSpan.FromSeconds(15));
            if (fail)
            {
                this.AwaitRestartCount(supervisor, 1); // each failure follows a good poll: never two in a row
                Scheduler.Advance(TimeSpan.FromSeconds(1)); // the backoff expires; the new poller polls at once
                reads++;
            }

            // This round's polls have read the kernel (so the next round's fault meets the next poll, and the new
            // poller has scheduled its ticks before time moves again) and the aggregator has counted their reading.
            AwaitReads(++reads);
            AwaitAssert(() => Assert.Equal(kernel, AggregatorTxDropped()), Patience, TimeSpan.FromMilliseconds(1));
            Assert.Equal((long)kernel, TxqDrops());
        }

        Assert.Equal(1, _kernel.OpenReaders);

        Watch(supervisor);
        Sys.Stop(supervisor);
        ExpectTerminated(supervisor);
        AwaitAssert(() => Assert.Equal(0, _kernel.OpenReaders), Patience);
    }

    [Fact]
    public void A_device_recreated_under_the_same_name_counts_its_new_counters_from_zero()
    {
        _kernel.Set(Tun0.IfIndex, txDropped: 500);
        IActorRef supervisor = StartSupervisor(Tun0);
        AwaitTotal(500);

        var reborn = Tun0 with { IfIndex = 11 };
        _kernel.Remove(Tun0.IfIndex);
        _kernel.Set(reborn.IfIndex, txDropped: 30);
        supervisor.Tell(new DeviceGone(Tun0));
        supervisor.Tell(new DeviceAppeared(reborn));
        AwaitTotal(530);

        _kernel.Set(reborn.IfIndex, txDropped: 35);
        Scheduler.Advance(TimeSpan.FromSeconds(15));
        AwaitTotal(535);
    }

    [Fact]
    public void Every_field_reaches_its_series_and_a_missing_rx_otherhost_dropped_gets_none()
    {
        ulong[] counters = Enumerable.Range(1, 24).Select(i => (ulong)i * 10).ToArray();
        _kernel.Set(Tun0.IfIndex, LinkStats64.FromCounters(counters));
        StartSupervisor(Tun0);

        AwaitAssert(() => Assert.NotNull(TxqDrops()), Patience);
        ReadingsOf(_aggregator); // the reading's other series are added in the same message
        ExportedMetrics export = _export.Export();
        foreach (LinkStatsMetricBinding binding in LinkStatsMetricMap.Bindings)
        {
            if (binding.Field == LinkStats64Field.RxOtherhostDropped)
            {
                Assert.Empty(export.Of(binding.Metric));
                continue;
            }

            Assert.Equal((long)counters[(int)binding.Field], export.Value(binding.Metric, "tun0", AttributesOf(binding)));
        }
    }

    [Fact]
    public void Readings_replaced_in_a_slot_before_the_aggregator_took_them_are_counted_once_and_in_full()
    {
        var slot = new ReadingSlot(Tun0);
        Assert.True(slot.Offer(Readings.Stats(10), TimeSpan.Zero));
        _aggregator.Tell(slot.Ready);
        AwaitTotal(10);

        // A busy device polled three times while the aggregator was behind: one notice, the newest reading.
        Assert.True(slot.Offer(Readings.Stats(15), TimeSpan.Zero));
        Assert.False(slot.Offer(Readings.Stats(28), TimeSpan.Zero));
        Assert.False(slot.Offer(Readings.Stats(40), TimeSpan.Zero));
        _aggregator.Tell(slot.Ready);
        AwaitTotal(40);

        _aggregator.Tell(slot.Ready); // a stray notice finds the slot empty and counts nothing
        Assert.Equal(40ul, AggregatorTxDropped()); // answered after the stray notice was handled
        Assert.Equal(40, TxqDrops());
        // Counting the slot's old reading again would add zero growth, so the totals cannot tell; the aggregator
        // records one poll duration per reading it counts, and it has counted two (10, then 40).
        Assert.Equal(2, _export.HistogramCount(MetricNames.PollDuration));
    }

    [Fact]
    public void The_default_set_exports_nine_series_per_device()
    {
        var meter = new Meter($"TunTelemetry.Test.{Guid.NewGuid():N}");
        using var export = new MeterExport(meter);
        IActorRef aggregator = Sys.ActorOf(MetricsAggregatorActor.Props(new TunDeviceMetrics(meter, detailed: false)));
        aggregator.Tell(PollerReadings.Ready(Tun0, LinkStats64.FromCounters(new ulong[25]), TimeSpan.Zero));
        Assert.Single(ReadingsOf(aggregator).Devices); // answered after the reading was counted: no series still to come
        Assert.Equal(9, KernelCounterSeries(export.Export(), "tun0"));
    }

    public new void Dispose()
    {
        _export.Dispose();
        _meter.Dispose();
        base.Dispose();
    }
}
