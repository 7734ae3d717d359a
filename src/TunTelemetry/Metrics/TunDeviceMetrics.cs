using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using TunTelemetry.Devices;
using TunTelemetry.Netlink;

namespace TunTelemetry.Metrics;

/// <summary>The state one link-state observation leaves for the gauges.</summary>
/// <param name="Up">Administratively up with carrier (<see cref="LinkDescription.IsUpWithCarrier"/>).</param>
/// <param name="Queues">Enabled and disabled queues of a multi-queue TUN device; null for others (the kernel says nothing).</param>
public sealed record LinkStateObservation(uint Mtu, uint TxQueueLength, LinkOperState OperState, bool Up = false,
    (uint Enabled, uint Disabled)? Queues = null);

/// <summary>
/// The instruments. Per-device counters are observable: the SDK reads the <see cref="DeviceSeries"/> totals that the
/// aggregator keeps when it exports, so a device's series leave the export as soon as the aggregator drops its entry
/// (after <c>metrics.retain-deleted</c>), where a synchronous counter's series would stay until the process ends. Only
/// <see cref="Actors.MetricsAggregatorActor"/> calls the recording methods, one message at a time; the callbacks run on
/// the SDK's export thread and read the table under a lock that the aggregator takes only to add or remove a device.
/// </summary>
public sealed class TunDeviceMetrics
{
    /// <summary>The meter name to pass to <c>AddMeter</c> (or use <c>AddTunTelemetryInstrumentation</c>).</summary>
    public const string MeterName = "TunTelemetry";

    private readonly Binding[] _bindings;
    private readonly Histogram<double> _pollDuration;
    private readonly ConcurrentDictionary<int, (TunDevice Device, LinkStateObservation State)> _linkStates = new();
    private readonly Dictionary<string, DeviceSeries> _series = [];
    private readonly object _gate = new();
    private DeviceSeries[]? _snapshot; // _series.Values for the export thread; null after a change
    private int _devicesWatched;

    public TunDeviceMetrics(Meter meter, bool detailed)
    {
        ArgumentNullException.ThrowIfNull(meter);
        _bindings = LinkStatsMetricMap.Bindings
            .Where(b => detailed || !b.Detailed)
            .Select((b, index) => new Binding(index, b.Field, b.Metric, b.Unit, b.Direction, b.ErrorType))
            .ToArray();
        foreach (IGrouping<string, Binding> metric in _bindings.GroupBy(b => b.Metric))
        {
            Binding[] bindings = metric.ToArray();
            meter.CreateObservableCounter(metric.Key, () => ObserveTotals(bindings), bindings[0].Unit,
                LinkStatsMetricMap.Description(metric.Key));
        }

        _pollDuration = meter.CreateHistogram<double>(MetricNames.PollDuration, "s",
            "Time one RTM_GETSTATS round trip and decode took.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.001, 0.01, 0.1, 1] });
        meter.CreateObservableCounter(MetricNames.PollFailures, ObserveFailures, "{failure}",
            "Polls that failed, by reason (timeout, socket, kernel_error, malformed_reply, device_gone).");
        meter.CreateObservableCounter(MetricNames.PollerRestarts, () => ObserveSelf(s => s.Restarts), "{restart}",
            "Per-device actors restarted after a failure.");
        meter.CreateObservableCounter(MetricNames.PollerGaveUp, () => ObserveSelf(s => s.GaveUp), "{poller}",
            "Per-device actors that exceeded backoff.max-retries and were given up.");
        meter.CreateObservableGauge(MetricNames.DevicesWatched, () => Volatile.Read(ref _devicesWatched), "{device}",
            "TUN/TAP devices currently watched.");
        meter.CreateObservableGauge(MetricNames.LinkMtu, () => ObserveLinkState(s => s.Mtu), "By", "Device MTU.");
        meter.CreateObservableGauge(MetricNames.LinkTxQueueLength, () => ObserveLinkState(s => s.TxQueueLength), "{packet}",
            "Device TX queue length (txqueuelen): packets queued before the kernel starts dropping.");
        meter.CreateObservableGauge(MetricNames.LinkOperState, () => ObserveLinkState(s => (long)s.OperState), "1",
            "RFC 2863 operational state (IF_OPER_*): 0 unknown, 2 down, 5 dormant, 6 up.");
        meter.CreateObservableGauge(MetricNames.LinkUp, () => ObserveLinkState(s => s.Up ? 1 : 0), "1",
            "1 when the device is up and has carrier (IFF_UP and IFF_LOWER_UP or IFF_RUNNING; a TUN device has carrier while a process holds it), else 0.");
        meter.CreateObservableGauge(MetricNames.LinkQueues, ObserveQueues, "{queue}",
            "Queues of a multi-queue TUN/TAP device by state: enabled (attached) or disabled (detached with TUNSETQUEUE).");
        Readers = new ReaderGauges(meter);
    }

    /// <summary>The <c>tundev.reader*</c> gauges.</summary>
    internal ReaderGauges Readers { get; }

    /// <summary>Series per device with the current settings (without rx_otherhost_dropped on old kernels).</summary>
    public int SeriesPerDevice => _bindings.Length;

    /// <summary>Device names with series kept: watched now, or deleted and within their grace period.</summary>
    public int DeviceSeriesKept
    {
        get { lock (_gate) { return _series.Count; } }
    }

    /// <summary>The series of <paramref name="device"/>'s name, made on first use, with the device counted as live.</summary>
    internal DeviceSeries SeriesFor(TunDevice device)
    {
        lock (_gate)
        {
            if (!_series.TryGetValue(device.Name, out DeviceSeries? series))
            {
                var name = new KeyValuePair<string, object?>(MetricNames.InterfaceName, device.Name);
                series = new DeviceSeries(device.Name, _bindings.Select(b => Tags(name, b)).ToArray(), name);
                _series[device.Name] = series;
                _snapshot = null;
            }

            series.Attach(device.IfIndex);
            return series;
        }
    }

    /// <summary>
    /// The device is no longer watched. Returns the series' generation when no device of its name is left, so the
    /// caller can drop it after the grace period with <see cref="DropSeries"/>; null while another device has the name.
    /// </summary>
    internal long? DeviceRetired(TunDevice device)
    {
        lock (_gate)
        {
            return _series.TryGetValue(device.Name, out DeviceSeries? series) && series.Detach(device.IfIndex)
                ? series.Generation
                : null;
        }
    }

    /// <summary>Drops a name's series (they leave the next export) unless a device of that name came back since.</summary>
    internal bool DropSeries(string name, long generation)
    {
        lock (_gate)
        {
            if (!_series.TryGetValue(name, out DeviceSeries? series) || series.Live || series.Generation != generation)
            {
                return false;
            }

            _series.Remove(name);
            _snapshot = null;
            return true;
        }
    }

    internal void RecordPollDuration(TimeSpan duration) => _pollDuration.Record(duration.TotalSeconds);

    internal void SetDevicesWatched(int count) => Volatile.Write(ref _devicesWatched, count);

    internal void SetLinkState(TunDevice device, LinkStateObservation state) => _linkStates[device.IfIndex] = (device, state);

    internal void RemoveLinkState(TunDevice device) => _linkStates.TryRemove(device.IfIndex, out _);

    private static KeyValuePair<string, object?>[] Tags(KeyValuePair<string, object?> name, Binding binding)
    {
        var tags = new List<KeyValuePair<string, object?>>(3) { name };
        if (binding.Direction is not null)
        {
            tags.Add(new(MetricNames.Direction, binding.Direction));
        }

        if (binding.ErrorType is not null)
        {
            tags.Add(new(MetricNames.ErrorType, binding.ErrorType));
        }

        return tags.ToArray();
    }

    /// <summary>
    /// The kept series as an array, rebuilt only after a device name came or went. Callbacks walk it without the lock
    /// and yield their measurements one at a time: a list of every measurement would be a large-object-heap
    /// allocation per instrument per export at 10,000 devices, and the collections those trigger.
    /// </summary>
    private DeviceSeries[] Snapshot()
    {
        lock (_gate)
        {
            return _snapshot ??= [.. _series.Values];
        }
    }

    private IEnumerable<Measurement<long>> ObserveTotals(Binding[] bindings)
    {
        foreach (DeviceSeries series in Snapshot())
        {
            int fields = series.FieldCount; // 0 before the first good poll: no series, rather than a false 0
            foreach (Binding binding in bindings)
            {
                if ((int)binding.Field < fields)
                {
                    yield return new Measurement<long>(series.Total(binding.Field), series.TagsPerBinding[binding.Index]);
                }
            }
        }
    }

    private IEnumerable<Measurement<long>> ObserveFailures()
    {
        foreach (DeviceSeries series in Snapshot())
        {
            foreach ((string reason, long count) in series.Failures())
            {
                yield return new Measurement<long>(count, series.NameTag, new(MetricNames.ErrorType, reason));
            }
        }
    }

    private IEnumerable<Measurement<long>> ObserveSelf(Func<DeviceSeries, long> value)
    {
        foreach (DeviceSeries series in Snapshot())
        {
            long count = value(series);
            if (count > 0)
            {
                yield return new Measurement<long>(count, series.NameTag);
            }
        }
    }

    private IEnumerable<Measurement<long>> ObserveLinkState(Func<LinkStateObservation, long> value)
    {
        foreach ((TunDevice device, LinkStateObservation state) in _linkStates.Values)
        {
            yield return new Measurement<long>(value(state), new KeyValuePair<string, object?>(MetricNames.InterfaceName, device.Name));
        }
    }

    private IEnumerable<Measurement<long>> ObserveQueues()
    {
        foreach ((TunDevice device, LinkStateObservation state) in _linkStates.Values)
        {
            if (state.Queues is { } queues)
            {
                var name = new KeyValuePair<string, object?>(MetricNames.InterfaceName, device.Name);
                yield return new Measurement<long>(queues.Enabled, name, new(MetricNames.QueueState, MetricNames.QueueEnabled));
                yield return new Measurement<long>(queues.Disabled, name, new(MetricNames.QueueState, MetricNames.QueueDisabled));
            }
        }
    }

    private sealed record Binding(int Index, LinkStats64Field Field, string Metric, string Unit, string? Direction, string? ErrorType);
}
