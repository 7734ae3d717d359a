namespace TunTelemetry.OtlpReceiver;

// Decoded, immutable view of an OTLP ExportMetricsServiceRequest. Attribute values are
// string, bool, long, double, byte[] (bytes), object[] (array) or
// IReadOnlyDictionary<string, object> (kvlist); attributes whose AnyValue is unset are omitted.
// Note: Metric and AggregationTemporality share names with types in OpenTelemetry.Metrics; alias
// one side if a file imports both namespaces.

/// <summary>Which aggregation the metric carries (the Metric.data oneof).</summary>
public enum MetricKind
{
    /// <summary>No data field, or one this decoder does not know.</summary>
    Other = 0,
    Gauge,
    Sum,
    Histogram,
    ExponentialHistogram,
    Summary,
}

/// <summary>OTLP AggregationTemporality (same numeric values as the proto enum).</summary>
public enum AggregationTemporality
{
    Unspecified = 0,
    Delta = 1,
    Cumulative = 2,
}

/// <summary>How an export reached the receiver.</summary>
public enum OtlpTransport
{
    Grpc,
    HttpProtobuf,
}

public sealed record ExportMetricsRequest(IReadOnlyList<ResourceMetrics> ResourceMetrics)
{
    /// <summary>Every metric in the request, across resources and scopes.</summary>
    public IEnumerable<Metric> AllMetrics =>
        ResourceMetrics.SelectMany(r => r.ScopeMetrics).SelectMany(s => s.Metrics);

    public IEnumerable<Metric> FindMetrics(string name) => AllMetrics.Where(m => m.Name == name);
}

public sealed record ResourceMetrics(
    IReadOnlyDictionary<string, object> ResourceAttributes,
    IReadOnlyList<ScopeMetrics> ScopeMetrics);

public sealed record ScopeMetrics(string ScopeName, string? ScopeVersion, IReadOnlyList<Metric> Metrics);

public sealed record Metric(
    string Name,
    string Description,
    string Unit,
    MetricKind Kind,
    bool IsMonotonic,
    AggregationTemporality Temporality,
    IReadOnlyList<DataPoint> DataPoints);

/// <summary>
/// One data point. Number points fill <see cref="AsInt"/> or <see cref="AsDouble"/>; histogram,
/// exponential-histogram and summary points fill <see cref="HistogramCount"/> and
/// <see cref="HistogramSum"/> (plus the optional extras below for explicit-bucket histograms).
/// </summary>
public sealed record DataPoint(
    IReadOnlyDictionary<string, object> Attributes,
    long? AsInt,
    double? AsDouble,
    ulong StartTimeUnixNano,
    ulong TimeUnixNano,
    ulong? HistogramCount,
    double? HistogramSum)
{
    /// <summary>Explicit-bucket histogram bucket counts (empty otherwise).</summary>
    public IReadOnlyList<ulong> BucketCounts { get; init; } = [];

    /// <summary>Explicit-bucket histogram bounds (empty otherwise).</summary>
    public IReadOnlyList<double> ExplicitBounds { get; init; } = [];

    public double? Min { get; init; }

    public double? Max { get; init; }

    /// <summary>DataPointFlags (bit 0 = no recorded value).</summary>
    public uint Flags { get; init; }

    /// <summary>The numeric value as double whichever of AsInt/AsDouble is set.</summary>
    public double? Value => AsDouble ?? AsInt;
}

/// <summary>One accepted export as recorded by <see cref="OtlpMetricsReceiver"/>.</summary>
/// <param name="Sequence">1-based arrival order.</param>
public sealed record ReceivedMetrics(
    long Sequence,
    DateTimeOffset ReceivedAt,
    OtlpTransport Transport,
    ExportMetricsRequest Request)
{
    public IEnumerable<Metric> Metrics => Request.AllMetrics;

    public bool HasMetric(string name) => Request.AllMetrics.Any(m => m.Name == name);

    public IEnumerable<DataPoint> Points(string metricName) =>
        Request.FindMetrics(metricName).SelectMany(m => m.DataPoints);
}
