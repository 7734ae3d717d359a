using OpenTelemetry.Metrics;
using TunTelemetry.Metrics;

namespace TunTelemetry.Testing;

/// <summary>One exported data point: its attributes and its value (a sum's or a gauge's, as a long or a double).</summary>
public sealed record ExportedPoint(string Metric, IReadOnlyDictionary<string, object?> Attributes, long? Long, double? Double)
{
    public string? Device => Attributes.GetValueOrDefault(MetricNames.InterfaceName) as string;
}

/// <summary>
/// What one export of the OpenTelemetry SDK carried (a cumulative in-memory exporter), for assertions: the same points
/// an OTLP collector would receive, series that left the export included only by their absence.
/// </summary>
public sealed class ExportedMetrics
{
    internal ExportedMetrics(IEnumerable<Metric> metrics)
    {
        var points = new List<ExportedPoint>();
        foreach (Metric metric in metrics)
        {
            foreach (ref readonly MetricPoint point in metric.GetMetricPoints())
            {
                var attributes = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (KeyValuePair<string, object?> tag in point.Tags)
                {
                    attributes[tag.Key] = tag.Value;
                }

                (long? l, double? d) = metric.MetricType switch
                {
                    MetricType.LongSum or MetricType.LongSumNonMonotonic => (point.GetSumLong(), (double?)null),
                    MetricType.LongGauge => (point.GetGaugeLastValueLong(), null),
                    MetricType.DoubleSum or MetricType.DoubleSumNonMonotonic => (null, point.GetSumDouble()),
                    MetricType.DoubleGauge => (null, point.GetGaugeLastValueDouble()),
                    _ => ((long?)null, (double?)null),
                };
                points.Add(new ExportedPoint(metric.Name, attributes, l, d));
            }
        }

        Points = points;
    }

    public IReadOnlyList<ExportedPoint> Points { get; }

    /// <summary>The points of one metric.</summary>
    public IEnumerable<ExportedPoint> Of(string metric) => Points.Where(p => p.Metric == metric);

    /// <summary>
    /// The value of <paramref name="metric"/>'s series for <paramref name="device"/> with exactly these extra attributes
    /// (besides the device's), or null when the export has no such series.
    /// </summary>
    public long? Value(string metric, string device, params (string Key, object Value)[] attributes) =>
        Of(metric).FirstOrDefault(p => p.Device == device
            && p.Attributes.Count == attributes.Length + 1
            && attributes.All(a => Equals(p.Attributes.GetValueOrDefault(a.Key), a.Value)))?.Long;

    /// <summary>Whether any series of any metric belongs to <paramref name="device"/>.</summary>
    public bool HasDevice(string device) => Points.Any(p => p.Device == device);

    /// <summary>One line per point: metric, attributes, value.</summary>
    public override string ToString() => string.Join('\n', Points.Select(p =>
        $"{p.Metric}{{{string.Join(", ", p.Attributes.Select(a => $"{a.Key}={a.Value}"))}}} {(object?)p.Long ?? p.Double}"));

    /// <summary>Whether the SDK folded a series into its overflow series (its cardinality limit was reached).</summary>
    public bool HasOverflow => Points.Any(p => p.Attributes.ContainsKey("otel.metric.overflow"));
}
