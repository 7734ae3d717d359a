using System.Diagnostics.Metrics;
using TunTelemetry.Devices;
using TunTelemetry.Netlink;
using TunTelemetry.Readers;

namespace TunTelemetry.Metrics;

/// <summary>
/// The instruments. Per-device counters are observable: the SDK reads the <see cref="DeviceSeries"/> totals that the
/// aggregator keeps when it exports, so a device's series leave the export as soon as the aggregator drops its entry
/// (after <c>metrics.retain-deleted</c>), where a synchronous counter's series would stay until the process ends. Only
/// <see cref="Actors.MetricsAggregatorActor"/> calls the recording methods, one message at a time; the callbacks run on
/// the SDK's export thread and read the table under a lock that the aggregator takes only to add or remove a device.
/// </summary>
/// <remarks>
/// The per-device instruments live on a meter of their own (same name and version as the one given), made anew when
/// <see cref="SeriesStoreRenewal"/> says so, because disposing its meter is the only way the SDK frees the points of
/// names that left. That meter goes when the given one is disposed (the host's meter factory disposes it at shutdown).
/// </remarks>
internal sealed class TunDeviceMetrics : IDisposable
{
    /// <summary>The meter name to pass to <c>AddMeter</c> (or use <c>AddTunTelemetryInstrumentation</c>).</summary>
    public const string MeterName = "TunTelemetry";

    private readonly Meter _meter;
    private readonly Binding[] _bindings;
    private readonly SeriesLayout _layout;
    private readonly Dictionary<string, DeviceInstrument> _extensionInstruments;
    private readonly Histogram<double> _pollDuration;
    private readonly ObservableGauge<int> _devicesWatchedGauge;
    private readonly MeterListener _lifetime = new();
    private readonly Dictionary<SeriesKey, DeviceSeries> _series = [];
    private readonly object _gate = new();
    private SeriesStoreRenewal _renewal;
    private SeriesStoreRenewal _readerRenewal;
    private Meter _deviceMeter;
    private DeviceSeries[]? _snapshot; // _series.Values for the export thread; null after a change
    private int _devicesWatched;
    private int _devicesWaiting;
    private long _renewals;
    private bool _disposed;

    /// <param name="meter">The meter of the agent-wide instruments; its name and version name the per-device ones too.</param>
    /// <param name="detailed">Whether to export every field of the kernel's statistics (<c>metrics.detailed</c>).</param>
    /// <param name="maxDevices">
    /// The device names each per-device stream has room for (<c>metrics.max-devices</c>; the SDK's cardinality limit is
    /// sized from it): the per-device instruments are made anew before names that left would fill that room.
    /// </param>
    /// <param name="extensionInstruments">Instruments that per-device extensions report with <see cref="Actors.DeviceMeasured"/>.</param>
    public TunDeviceMetrics(Meter meter, bool detailed, int maxDevices = 10_000, IEnumerable<DeviceInstrument>? extensionInstruments = null)
    {
        ArgumentNullException.ThrowIfNull(meter);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDevices, 1);
        _meter = meter;
        _extensionInstruments = new Dictionary<string, DeviceInstrument>(StringComparer.Ordinal);
        foreach (DeviceInstrument instrument in extensionInstruments ?? [])
        {
            if (!_extensionInstruments.TryAdd(instrument.Name, instrument) && _extensionInstruments[instrument.Name] != instrument)
            {
                throw new ArgumentException($"instrument '{instrument.Name}' is declared twice, differently", nameof(extensionInstruments));
            }
        }

        _renewal = new SeriesStoreRenewal(maxDevices);
        _readerRenewal = new SeriesStoreRenewal(maxDevices);
        LinkStatsMetricBinding[] exported = LinkStatsMetricMap.Bindings.Where(b => detailed || !b.Detailed).ToArray();
        _layout = new SeriesLayout(exported.Select(b => b.Field));
        _bindings = exported
            .Select(b => new Binding(b.Field, _layout.SlotOf(b.Field), b.Metric, b.Unit, b.Tags()))
            .ToArray();

        _pollDuration = meter.CreateHistogram<double>(MetricNames.PollDuration, "s",
            "Time one poll's netlink round trip and decode took (RTM_GETSTATS; RTM_GETLINK for a device of another network namespace).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.001, 0.01, 0.1, 1] });
        _devicesWatchedGauge = meter.CreateObservableGauge(MetricNames.DevicesWatched, () => Volatile.Read(ref _devicesWatched), "{device}",
            "TUN/TAP devices currently watched.");
        _ = meter.CreateObservableGauge(MetricNames.DevicesWaiting, () => Volatile.Read(ref _devicesWaiting), "{device}",
            "TUN/TAP devices found but not watched now: their actors wait for file descriptors (RLIMIT_NOFILE).");
        _deviceMeter = CreateDeviceInstruments();

        // Hears the given meter's disposal (its instruments' measurements complete), to dispose the per-device meter
        // with it: an undisposed meter stays registered for the life of the process, and a later meter provider would
        // export its stale series.
        _lifetime.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument, _devicesWatchedGauge))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _lifetime.MeasurementsCompleted = (instrument, _) => Dispose();
        _lifetime.Start();
    }

    /// <summary>
    /// The SDK cardinality limit (a view's <c>CardinalityLimit</c>) that gives one instrument of this meter room for
    /// <paramref name="maxDevices"/> devices' series, so thousands of devices never fall into the SDK's overflow series;
    /// sized per instrument because the SDK reserves it up front. The per-device instruments are renewed before names
    /// that left would fill it (<see cref="SeriesStoreRenewal"/>).
    /// </summary>
    public static int CardinalityLimit(string instrument, int maxDevices)
    {
        int perDevice = LinkStatsMetricMap.Bindings.Count(b => b.Metric == instrument);
        if (instrument == MetricNames.PollFailures)
        {
            perDevice = 2;
        }

        return (Math.Max(perDevice, 1) * maxDevices) + 16;
    }

    /// <summary>The <c>tundev.link.*</c> gauges' state; their instruments are made with the other per-device ones.</summary>
    internal LinkStateGauges LinkStates { get; } = new();

    /// <summary>The <c>tundev.reader*</c> gauges' state; their instruments are made with the other per-device ones.</summary>
    internal ReaderGauges Readers { get; } = new();

    /// <summary>
    /// The readers of every watched device, replacing the last; renews the per-device instruments when reader pairs
    /// that left (a daemon restarted under a new pid) would otherwise fill the reader gauges' store.
    /// </summary>
    internal void SetReaders(ReadersObserved observed)
    {
        lock (_gate)
        {
            (int added, int left) = Readers.Set(observed, DeviceTags);
            _readerRenewal.NameAdded(added);
            _readerRenewal.NameLeft(left);
            if (_readerRenewal.Due(Readers.Count))
            {
                RenewDeviceInstruments();
            }
        }
    }

    /// <summary>Series per device with the current settings (without rx_otherhost_dropped on old kernels).</summary>
    public int SeriesPerDevice => _bindings.Length;

    /// <summary>Device names with series kept: watched now, or deleted and within their grace period.</summary>
    public int DeviceSeriesKept
    {
        get { lock (_gate) { return _series.Count; } }
    }

    /// <summary>
    /// With <c>--all-namespaces</c>, the agent's own namespace: its devices' series carry it too, so every series of
    /// that mode names its namespace. Null (the default): own devices carry no namespace attributes, as always.
    /// Set before the first device is counted.
    /// </summary>
    internal DeviceNamespace? OwnNamespace { get; set; }

    /// <summary>The series of <paramref name="device"/>'s name in its namespace, made on first use, with the device counted as live.</summary>
    internal DeviceSeries SeriesFor(TunDevice device)
    {
        lock (_gate)
        {
            SeriesKey key = SeriesKey.Of(device);
            if (!_series.TryGetValue(key, out DeviceSeries? series))
            {
                if (_renewal.Due(_series.Count))
                {
                    RenewDeviceInstruments();
                }

                _renewal.NameAdded();
                KeyValuePair<string, object?>[] deviceTags = DeviceTags(device);
                series = new DeviceSeries(device.Name, _layout, deviceTags);
                _series[key] = series;
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
            return _series.TryGetValue(SeriesKey.Of(device), out DeviceSeries? series) && series.Detach(device.IfIndex)
                ? series.Generation
                : null;
        }
    }

    /// <summary>Drops a name's series (they leave the next export) unless a device of that name came back since.</summary>
    internal bool DropSeries(string name, long generation) => DropSeries(SeriesKey.Own(name), generation);

    /// <summary>Drops the series of a name in a namespace, unless a device of that name came back there since.</summary>
    internal bool DropSeries(SeriesKey key, long generation)
    {
        lock (_gate)
        {
            if (!_series.TryGetValue(key, out DeviceSeries? series) || series.Live || series.Generation != generation)
            {
                return false;
            }

            _series.Remove(key);
            _snapshot = null;
            _renewal.NameLeft();
            if (_renewal.Due(_series.Count))
            {
                RenewDeviceInstruments();
            }

            return true;
        }
    }

    /// <summary>
    /// How often the per-device instruments were made anew to free the SDK's points of names that left; each time,
    /// every per-device series starts a new cumulative period (start time) at the value it had.
    /// </summary>
    public long SeriesStoreRenewals => Interlocked.Read(ref _renewals);

    /// <summary>Disposes the per-device meter; called when the given meter is disposed.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _deviceMeter.Dispose();
        }

        _lifetime.Dispose();
    }

    /// <summary>Whether a watched device has that name (its series are not waiting out a grace period).</summary>
    internal bool IsLive(string name) => IsLive(SeriesKey.Own(name));

    /// <summary>Whether a watched device has the name of <paramref name="device"/> in its namespace.</summary>
    internal bool IsLive(TunDevice device) => IsLive(SeriesKey.Of(device));

    private bool IsLive(SeriesKey key)
    {
        lock (_gate)
        {
            return _series.TryGetValue(key, out DeviceSeries? series) && series.Live;
        }
    }

    /// <summary>The extension instrument of that name, or null when none was declared.</summary>
    internal DeviceInstrument? ExtensionInstrument(string name) => _extensionInstruments.GetValueOrDefault(name);

    internal void RecordPollDuration(TimeSpan duration) => _pollDuration.Record(duration.TotalSeconds);

    internal void SetDevicesWatched(int count) => Volatile.Write(ref _devicesWatched, count);

    internal void SetDevicesWaiting(int count) => Volatile.Write(ref _devicesWaiting, count);

    /// <summary>
    /// The attributes naming a device: its name, and its namespace's inode and name when it has one; in the SDK's order
    /// (<see cref="SeriesAttributes.InSdkOrder"/>).
    /// </summary>
    internal KeyValuePair<string, object?>[] DeviceTags(TunDevice device)
    {
        var name = new KeyValuePair<string, object?>(MetricNames.InterfaceName, device.Name);
        return SeriesAttributes.InSdkOrder((device.Home.IsAgents ? OwnNamespace : device.Home) is { } ns
            ? [name, new(MetricNames.NetnsInode, (long)ns.Inode), new(MetricNames.NetnsName, ns.Name)]
            : [name]);
    }

    private Meter CreateDeviceInstruments()
    {
        var meter = new Meter(new MeterOptions(_meter.Name) { Version = _meter.Version, Tags = _meter.Tags });
        foreach (IGrouping<string, Binding> metric in _bindings.GroupBy(b => b.Metric))
        {
            Binding[] bindings = metric.ToArray();
            meter.CreateObservableCounter(metric.Key, () => ObserveTotals(bindings), bindings[0].Unit,
                LinkStatsMetricMap.Description(metric.Key));
        }

        meter.CreateObservableCounter(MetricNames.PollFailures, ObserveFailures, "{failure}",
            "Polls that failed, by reason (timeout, socket, kernel_error, malformed_reply, device_gone).");
        meter.CreateObservableCounter(MetricNames.PollerRestarts, () => ObserveSelf(s => s.Restarts), "{restart}",
            "Per-device actors restarted after a failure.");
        meter.CreateObservableCounter(MetricNames.PollerGaveUp, () => ObserveSelf(s => s.GaveUp), "{poller}",
            "Per-device actors that exceeded backoff.max-retries and were given up.");
        LinkStates.CreateInstruments(meter);
        Readers.CreateInstruments(meter);
        foreach (DeviceInstrument instrument in _extensionInstruments.Values)
        {
            string name = instrument.Name;
            _ = instrument.Kind == DeviceInstrumentKind.Gauge
                ? meter.CreateObservableGauge(name, () => ObserveExtension(name), instrument.Unit, instrument.Description)
                : (Instrument)meter.CreateObservableCounter(name, () => ObserveExtension(name), instrument.Unit, instrument.Description);
        }

        return meter;
    }

    /// <summary>
    /// Disposes the per-device instruments (the SDK drops their metric streams, with every point, after its next
    /// collection) and makes them again: the kept series are reported into fresh streams from the next export on.
    /// Called under <see cref="_gate"/>.
    /// </summary>
    private void RenewDeviceInstruments()
    {
        if (_disposed)
        {
            return;
        }

        _deviceMeter.Dispose();
        _deviceMeter = CreateDeviceInstruments();
        _renewal.Renewed(_series.Count);
        _readerRenewal.Renewed(Readers.Renewed());
        Interlocked.Increment(ref _renewals);
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
        var attributes = new SeriesAttributes[bindings.Length];
        for (int i = 0; i < bindings.Length; i++)
        {
            attributes[i] = new SeriesAttributes(bindings[i].Tags);
        }

        foreach (DeviceSeries series in Snapshot())
        {
            int fields = series.FieldCount; // 0 before the first good poll: no series, rather than a false 0
            for (int i = 0; i < bindings.Length; i++)
            {
                Binding binding = bindings[i];
                if ((int)binding.Field < fields)
                {
                    yield return SharedTagsMeasurement.Create(series.Total(binding.Slot), attributes[i].Fill(series.DeviceTags));
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
                yield return new Measurement<long>(count, [.. series.DeviceTags, new(MetricNames.ErrorType, reason)]);
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
                yield return SharedTagsMeasurement.Create(count, series.DeviceTags);
            }
        }
    }

    private IEnumerable<Measurement<long>> ObserveExtension(string instrument)
    {
        foreach (DeviceSeries series in Snapshot())
        {
            foreach (ExtensionSeries extension in series.Extensions)
            {
                if (extension.Instrument.Name == instrument)
                {
                    yield return SharedTagsMeasurement.Create(extension.Value, extension.Tags);
                }
            }
        }
    }

    /// <param name="Slot">Where a <see cref="DeviceSeries"/> keeps the field's total.</param>
    /// <param name="Tags">The binding's own attributes (direction, error type).</param>
    private sealed record Binding(LinkStats64Field Field, int Slot, string Metric, string Unit, KeyValuePair<string, object?>[] Tags);
}
