using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using TunTelemetry.Metrics;

namespace TunTelemetry.Tests.Support;

/// <summary>
/// What a cumulative exporter of one meter would send, per metric and attribute set: every read collects the
/// observable instruments afresh, as an export does, so a series their callbacks no longer report is absent
/// (<see cref="Has"/> is false), as it would be in OTLP; synchronous counters are summed.
/// </summary>
public sealed class MetricTotals : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly object _collecting = new();
    private readonly ConcurrentDictionary<string, long> _sums = new();
    private ConcurrentDictionary<string, long> _observed = new();
    private ConcurrentDictionary<string, long> _gauges = new();
    private readonly ConcurrentDictionary<string, long> _recordings = new();

    public MetricTotals(Meter meter)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == meter.Name)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string key = Key(instrument.Name, tags);
            if (instrument is ObservableGauge<long> or ObservableGauge<int>)
            {
                _gauges[key] = value;
            }
            else if (instrument.IsObservable)
            {
                _observed[key] = value; // a cumulative total, not an increment
            }
            else
            {
                _sums.AddOrUpdate(key, value, (_, total) => total + value);
            }
        });
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => _gauges[Key(instrument.Name, tags)] = value);
        _listener.SetMeasurementEventCallback<double>((instrument, _, _, _) => _recordings.AddOrUpdate(instrument.Name, 1, (_, n) => n + 1));
        _listener.Start();
    }

    public static string Key(string metric, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var parts = new List<string>(tags.Length);
        foreach (KeyValuePair<string, object?> tag in tags)
        {
            parts.Add($"{tag.Key}={tag.Value}");
        }

        parts.Sort(StringComparer.Ordinal);
        return $"{metric}{{{string.Join(",", parts)}}}";
    }

    public static string Key(string metric, string device, string? direction = null, string? errorType = null)
    {
        var tags = new List<KeyValuePair<string, object?>> { new(MetricNames.InterfaceName, device) };
        if (direction is not null)
        {
            tags.Add(new(MetricNames.Direction, direction));
        }

        if (errorType is not null)
        {
            tags.Add(new(MetricNames.ErrorType, errorType));
        }

        return Key(metric, tags.ToArray());
    }

    public bool Has(string metric, string device, string? direction = null) => Collect().ContainsKey(Key(metric, device, direction));

    public long Total(string metric, string device, string? direction = null, string? errorType = null) =>
        Collect().TryGetValue(Key(metric, device, direction, errorType), out long total) ? total : 0;

    /// <summary>Counter series of a device fed by its kernel counters (self-metrics such as poll failures excluded).</summary>
    public int SeriesOf(string device) => Collect().Keys.Count(k =>
        k.Contains($"{MetricNames.InterfaceName}={device}", StringComparison.Ordinal)
        && LinkStatsMetricMap.Bindings.Any(b => k.StartsWith(b.Metric + "{", StringComparison.Ordinal)));

    public IReadOnlyCollection<string> Series => Collect().Keys.ToArray();

    /// <summary>
    /// How many values a histogram recorded: the aggregator records one poll duration per reading it counts, so this
    /// tells a reading counted with zero growth from no reading counted at all.
    /// </summary>
    public long Recordings(string metric) => _recordings.TryGetValue(metric, out long count) ? count : 0;

    /// <summary>Collects observable gauges now and returns the value of one series, if present.</summary>
    public long? Gauge(string metric, string? device = null)
    {
        Collect();
        string key = device is null ? Key(metric, []) : Key(metric, device);
        return _gauges.TryGetValue(key, out long value) ? value : null;
    }

    /// <summary>One collection, as an export makes it: counter series with their values now.</summary>
    private Dictionary<string, long> Collect()
    {
        lock (_collecting)
        {
            _observed = new ConcurrentDictionary<string, long>();
            _gauges = new ConcurrentDictionary<string, long>();
            _listener.RecordObservableInstruments();
            var all = new Dictionary<string, long>(_observed);
            foreach ((string key, long sum) in _sums)
            {
                all[key] = sum;
            }

            return all;
        }
    }

    public void Dispose() => _listener.Dispose();
}
