using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using TunTelemetry.Devices;
using TunTelemetry.Netlink;

namespace TunTelemetry.Metrics;

/// <summary>The state one link-state observation leaves for the gauges.</summary>
public sealed record LinkStateObservation(uint Mtu, uint TxQueueLength, LinkOperState OperState);

/// <summary>
/// The instruments. Only <see cref="Actors.MetricsAggregatorActor"/> calls the recording methods, one message at a
/// time; observable gauges read concurrent dictionaries because the SDK calls them from its export thread.
/// </summary>
public sealed class TunDeviceMetrics
{
    /// <summary>The meter name to pass to <c>AddMeter</c> (or use <c>AddTunTelemetryInstrumentation</c>).</summary>
    public const string MeterName = "TunTelemetry";

    private readonly Binding[] _bindings;
    private readonly Histogram<double> _pollDuration;
    private readonly Counter<long> _pollFailures;
    private readonly Counter<long> _pollerRestarts;
    private readonly Counter<long> _pollerGaveUp;
    private readonly ConcurrentDictionary<int, (TunDevice Device, LinkStateObservation State)> _linkStates = new();
    private int _devicesWatched;

    public TunDeviceMetrics(Meter meter, bool detailed)
    {
        ArgumentNullException.ThrowIfNull(meter);
        var counters = new Dictionary<string, Counter<long>>();
        _bindings = LinkStatsMetricMap.Bindings
            .Where(b => detailed || !b.Detailed)
            .Select(b =>
            {
                if (!counters.TryGetValue(b.Metric, out Counter<long>? counter))
                {
                    counter = meter.CreateCounter<long>(b.Metric, b.Unit, LinkStatsMetricMap.Description(b.Metric));
                    counters[b.Metric] = counter;
                }

                return new Binding(b.Field, counter, b.Direction, b.ErrorType);
            })
            .ToArray();

        _pollDuration = meter.CreateHistogram<double>(MetricNames.PollDuration, "s",
            "Time one RTM_GETSTATS round trip and decode took.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.001, 0.01, 0.1, 1] });
        _pollFailures = meter.CreateCounter<long>(MetricNames.PollFailures, "{failure}",
            "Polls that failed, by reason (timeout, socket, kernel_error, malformed_reply, device_gone).");
        _pollerRestarts = meter.CreateCounter<long>(MetricNames.PollerRestarts, "{restart}",
            "Per-device actors restarted after a failure.");
        _pollerGaveUp = meter.CreateCounter<long>(MetricNames.PollerGaveUp, "{poller}",
            "Per-device actors that exceeded backoff.max-retries and were given up.");
        meter.CreateObservableGauge(MetricNames.DevicesWatched, () => Volatile.Read(ref _devicesWatched), "{device}",
            "TUN/TAP devices currently watched.");
        meter.CreateObservableGauge(MetricNames.LinkMtu, () => ObserveLinkState(s => s.Mtu), "By", "Device MTU.");
        meter.CreateObservableGauge(MetricNames.LinkTxQueueLength, () => ObserveLinkState(s => s.TxQueueLength), "{packet}",
            "Device TX queue length (txqueuelen): packets queued before the kernel starts dropping.");
        meter.CreateObservableGauge(MetricNames.LinkOperState, () => ObserveLinkState(s => (long)s.OperState), "1",
            "RFC 2863 operational state (IF_OPER_*): 0 unknown, 2 down, 5 dormant, 6 up.");
    }

    /// <summary>Series per device with the current settings (without rx_otherhost_dropped on old kernels).</summary>
    public int SeriesPerDevice => _bindings.Length;

    /// <summary>
    /// Adds one poll's growth. With <paramref name="createSeries"/> (a device's first poll) zero growth is added too,
    /// so every series exists from the first successful poll; after that zeros are skipped, which saves most of the
    /// per-tick cost on an idle device and changes nothing exported.
    /// </summary>
    internal void AddGrowth(string deviceName, in LinkStats64 growth, bool createSeries)
    {
        foreach (Binding binding in _bindings)
        {
            if ((int)binding.Field >= growth.FieldCount)
            {
                continue; // rx_otherhost_dropped on a kernel that does not send it: no series rather than a false 0
            }

            ulong value = growth[binding.Field];
            if (value == 0 && !createSeries)
            {
                continue;
            }

            var tags = new TagList { { MetricNames.InterfaceName, deviceName } };
            if (binding.Direction is not null)
            {
                tags.Add(MetricNames.Direction, binding.Direction);
            }

            if (binding.ErrorType is not null)
            {
                tags.Add(MetricNames.ErrorType, binding.ErrorType);
            }

            binding.Counter.Add(value > long.MaxValue ? long.MaxValue : (long)value, tags);
        }
    }

    internal void RecordPollDuration(TimeSpan duration) => _pollDuration.Record(duration.TotalSeconds);

    internal void CountPollFailure(string deviceName, string reason) =>
        _pollFailures.Add(1, new TagList { { MetricNames.InterfaceName, deviceName }, { MetricNames.ErrorType, reason } });

    internal void CountRestart(string deviceName) =>
        _pollerRestarts.Add(1, new KeyValuePair<string, object?>(MetricNames.InterfaceName, deviceName));

    internal void CountGaveUp(string deviceName) =>
        _pollerGaveUp.Add(1, new KeyValuePair<string, object?>(MetricNames.InterfaceName, deviceName));

    internal void SetDevicesWatched(int count) => Volatile.Write(ref _devicesWatched, count);

    internal void SetLinkState(TunDevice device, LinkStateObservation state) => _linkStates[device.IfIndex] = (device, state);

    internal void RemoveLinkState(TunDevice device) => _linkStates.TryRemove(device.IfIndex, out _);

    private IEnumerable<Measurement<long>> ObserveLinkState(Func<LinkStateObservation, long> value)
    {
        foreach ((TunDevice device, LinkStateObservation state) in _linkStates.Values)
        {
            yield return new Measurement<long>(value(state), new KeyValuePair<string, object?>(MetricNames.InterfaceName, device.Name));
        }
    }

    private sealed record Binding(LinkStats64Field Field, Counter<long> Counter, string? Direction, string? ErrorType);
}
