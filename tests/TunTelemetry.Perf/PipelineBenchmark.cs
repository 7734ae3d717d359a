using System.Diagnostics.Metrics;
using Akka.Actor;
using TunTelemetry.Actors;
using TunTelemetry.Devices;
using TunTelemetry.Discovery;
using TunTelemetry.Hosting;
using TunTelemetry.Metrics;
using TunTelemetry.Netlink;
using TunTelemetry.Supervision;

namespace TunTelemetry.Perf;

/// <summary>
/// The whole pipeline without export, in the real actor system: every device's poller ticks, reads its real stats
/// over its own socket, and (because the reader bumps a counter each time, as a busy device would) sends a reading to
/// the aggregator, which updates the instruments. Reports CPU and managed allocation per device per tick.
/// </summary>
public static class PipelineBenchmark
{
    /// <param name="busy">Every reading changes (a message per tick), or the devices are idle (no message).</param>
    /// <param name="tickMs">
    /// The scheduler tick, when not the one the agent derives from the interval (100 ms at least). A 1 ms tick with a
    /// 1 ms interval polls every device again within a few milliseconds, so its kernel data stays in cache as in the
    /// raw poll loop: that isolates what the actors add from what a cold kernel adds.
    /// </param>
    public static int Run(string prefix, int seconds, int intervalMs, bool busy, int? tickMs = null)
    {
        TunDevice[] devices = PerfDevices.List(prefix);

        TunTelemetryOptions options = TunTelemetryOptions.Default with
        {
            PollSpread = Environment.GetEnvironmentVariable("PERF_POLL_SPREAD") != "off",
            PollInterval = TimeSpan.FromMilliseconds(intervalMs),
            NetlinkTimeout = TimeSpan.FromMilliseconds(Math.Clamp(intervalMs / 2, 50, 1000)), // a 1 ms interval still waits for a reply
            LinkStateMetrics = false,
        };

        using ActorSystem system = PerfActorSystem.Create("perf", options, tickMs is { } tick ? $"akka.scheduler.tick-duration = {tick}ms" : "");
        using var meter = new Meter("TunTelemetry.Perf");
        // The drop counter is observable: read once after the measured window, it tells that every device's readings
        // reached the aggregator's totals (one series per device) without adding an export to the window.
        long exportedSeries = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == meter.Name && instrument.Name == MetricNames.TxQueueDrops)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, _, _) => exportedSeries++);
        listener.Start();

        bool idle = !busy;
        var phases = new PollPhases(TimeSpan.FromMilliseconds(intervalMs));
        var builder = new TunTelemetryBuilder(options).UseLinkStatsReader(() =>
            new TimedReader(idle ? new DeviceLinkReader(RouteSocket.Open(), LinkTarget.Own, name: null) : new ChangingReader(RouteSocket.Open()), phases));

        // PERF_EXTENSION_GAUGE=on adds a per-device extension that reports one gauge per device every interval (what an
        // extension author's simplest actor costs, on top of the built-in pipeline).
        bool extension = Environment.GetEnvironmentVariable("PERF_EXTENSION_GAUGE") == "on";
        if (extension)
        {
            builder.AddPerDeviceActor("gauge", context => GaugeExtensionActor.Props(context, options.PollInterval).WithDispatcher(options.NetlinkDispatcher),
                GaugeExtensionActor.Instrument);
        }

        IActorRef aggregator = system.ActorOf(MetricsAggregatorActor.Props(new TunDeviceMetrics(meter, detailed: false, extensionInstruments: builder.Instruments))
            .WithDispatcher(options.NetlinkDispatcher));
        IActorRef supervisor = system.ActorOf(DeviceSupervisorActor.Props(options, aggregator, builder.Registrations()));
        supervisor.Tell(new DevicesListed(DeviceNamespace.Agents, devices));

        Thread.Sleep(TimeSpan.FromSeconds(Math.Min(5, seconds / 3.0))); // warm-up
        phases.Reset();
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        double cpuBefore = ProcessCpu.SelfMicroseconds();
        Thread.Sleep(TimeSpan.FromSeconds(seconds));
        double cpu = ProcessCpu.SelfMicroseconds() - cpuBefore;
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        // Polls, counted where they happen: a busy device's readings can share one update when the aggregator lags
        // (the slot keeps the newest), so counting updates would overstate the cost of a tick.
        long ticks = phases.Total();
        listener.RecordObservableInstruments();

        Console.WriteLine($"pipeline_mode={(busy ? "busy" : "idle")}{(extension ? "+extension-gauge" : "")} pipeline_devices={devices.Length} pipeline_device_ticks={ticks} pipeline_exported_series={exportedSeries} "
            + $"pipeline_cpu_us_per_device_tick={cpu / Math.Max(1, ticks):0.00} pipeline_bytes_per_device_tick={(double)allocated / Math.Max(1, ticks):0} "
            + $"pipeline_busiest_tenth_of_interval={phases.BusiestTenthShare():0.0}%");
        return 0;
    }

    /// <summary>The simplest extension: one gauge per device, reported every interval.</summary>
    private sealed class GaugeExtensionActor(PerDeviceActorContext context, TimeSpan interval) : UntypedActor
    {
        public static readonly DeviceInstrument Instrument = DeviceInstrument.Gauge("perf.extension.gauge", "1", "A gauge per device.");

        private ICancelable? _ticks;
        private long _value;

        public static Props Props(PerDeviceActorContext context, TimeSpan interval) =>
            Akka.Actor.Props.Create(() => new GaugeExtensionActor(context, interval));

        protected override void PreStart() =>
            _ticks = Context.System.Scheduler.ScheduleTellRepeatedlyCancelable(interval, interval, Self, "tick", Self);

        protected override void PostStop() => _ticks?.Cancel();

        protected override void OnReceive(object message) =>
            context.Aggregator.Tell(new DeviceMeasured(context.Device, Instrument.Name, ++_value));
    }

    /// <summary>
    /// Where in the poll interval polls happen: the share of all polls that fall in the busiest tenth of the interval.
    /// 10 % is perfectly spread; 100 % is a thundering herd (every device polled in the same instant).
    /// </summary>
    private sealed class PollPhases(TimeSpan interval)
    {
        private readonly long[] _tenths = new long[10];

        public void Record()
        {
            long phase = System.Diagnostics.Stopwatch.GetTimestamp() % (long)(interval.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
            int tenth = (int)(phase * 10 / (long)(interval.TotalSeconds * System.Diagnostics.Stopwatch.Frequency));
            Interlocked.Increment(ref _tenths[Math.Clamp(tenth, 0, 9)]);
        }

        public void Reset() => Array.Clear(_tenths);

        public long Total() => _tenths.Sum();

        public double BusiestTenthShare()
        {
            long total = Total();
            return total == 0 ? 0 : 100.0 * _tenths.Max() / total;
        }
    }

    private sealed class TimedReader(ILinkStatsReader inner, PollPhases phases) : ILinkStatsReader
    {
        public LinkStats64 Read(int ifIndex)
        {
            phases.Record();
            return inner.Read(ifIndex);
        }

        public void Dispose() => inner.Dispose();
    }

    /// <summary>A real socket whose readings change every poll (tx_packets + poll number), like a busy device's.</summary>
    private sealed class ChangingReader(RouteSocket real) : ILinkStatsReader
    {
        private readonly ulong[] _counters = new ulong[LinkStats64.MaxFieldCount];
        private ulong _polls;

        public LinkStats64 Read(int ifIndex)
        {
            LinkStats64 stats = real.ReadStats(LinkTarget.Own, ifIndex, name: null);
            for (int i = 0; i < stats.FieldCount; i++)
            {
                _counters[i] = stats[(LinkStats64Field)i];
            }

            _counters[(int)LinkStats64Field.TxDropped] += ++_polls;
            return LinkStats64.FromCounters(_counters.AsSpan(0, stats.FieldCount));
        }

        public void Dispose() => real.Dispose();
    }
}
