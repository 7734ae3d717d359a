namespace TunTelemetry.OtlpReceiver;

/// <summary>
/// Decodes an OTLP <c>ExportMetricsServiceRequest</c> (field numbers per opentelemetry-proto
/// collector/metrics/v1, metrics/v1, common/v1, resource/v1). Unknown fields, and known fields
/// arriving with an unexpected wire type, are skipped as protobuf requires.
/// </summary>
public static class OtlpMetricsDecoder
{
    private const int MaxAnyValueDepth = 32;

    /// <exception cref="OtlpDecodeException">The payload is malformed.</exception>
    public static ExportMetricsRequest Decode(ReadOnlySpan<byte> payload)
    {
        var resources = new List<ResourceMetrics>();
        var reader = new ProtoReader(payload, "ExportMetricsServiceRequest");
        while (reader.TryReadTag(out int field, out WireType wire))
        {
            if (field == 1 && wire == WireType.LengthDelimited)
            {
                resources.Add(DecodeResourceMetrics(reader.ReadLengthDelimited()));
            }
            else
            {
                reader.SkipField(field, wire);
            }
        }

        return new ExportMetricsRequest(resources);
    }

    public static bool TryDecode(ReadOnlySpan<byte> payload, out ExportMetricsRequest? request, out string? error)
    {
        try
        {
            request = Decode(payload);
            error = null;
            return true;
        }
        catch (OtlpDecodeException ex)
        {
            request = null;
            error = ex.Message;
            return false;
        }
    }

    private static ResourceMetrics DecodeResourceMetrics(ReadOnlySpan<byte> data)
    {
        var attributes = new Dictionary<string, object>(StringComparer.Ordinal);
        var scopes = new List<ScopeMetrics>();
        var reader = new ProtoReader(data, "ResourceMetrics");
        while (reader.TryReadTag(out int field, out WireType wire))
        {
            switch (field, wire)
            {
                case (1, WireType.LengthDelimited):
                    DecodeResource(reader.ReadLengthDelimited(), attributes);
                    break;
                case (2, WireType.LengthDelimited):
                    scopes.Add(DecodeScopeMetrics(reader.ReadLengthDelimited()));
                    break;
                default:
                    reader.SkipField(field, wire);
                    break;
            }
        }

        return new ResourceMetrics(attributes, scopes);
    }

    private static void DecodeResource(ReadOnlySpan<byte> data, Dictionary<string, object> attributes)
    {
        var reader = new ProtoReader(data, "Resource");
        while (reader.TryReadTag(out int field, out WireType wire))
        {
            if (field == 1 && wire == WireType.LengthDelimited)
            {
                DecodeKeyValue(reader.ReadLengthDelimited(), attributes, 0);
            }
            else
            {
                reader.SkipField(field, wire);
            }
        }
    }

    private static ScopeMetrics DecodeScopeMetrics(ReadOnlySpan<byte> data)
    {
        string scopeName = string.Empty;
        string? scopeVersion = null;
        var metrics = new List<Metric>();
        var reader = new ProtoReader(data, "ScopeMetrics");
        while (reader.TryReadTag(out int field, out WireType wire))
        {
            switch (field, wire)
            {
                case (1, WireType.LengthDelimited):
                    DecodeScope(reader.ReadLengthDelimited(), ref scopeName, ref scopeVersion);
                    break;
                case (2, WireType.LengthDelimited):
                    metrics.Add(DecodeMetric(reader.ReadLengthDelimited()));
                    break;
                default:
                    reader.SkipField(field, wire);
                    break;
            }
        }

        return new ScopeMetrics(scopeName, scopeVersion, metrics);
    }

    private static void DecodeScope(ReadOnlySpan<byte> data, ref string name, ref string? version)
    {
        var reader = new ProtoReader(data, "InstrumentationScope");
        while (reader.TryReadTag(out int field, out WireType wire))
        {
            switch (field, wire)
            {
                case (1, WireType.LengthDelimited):
                    name = reader.ReadString();
                    break;
                case (2, WireType.LengthDelimited):
                    version = reader.ReadString();
                    break;
                default:
                    reader.SkipField(field, wire);
                    break;
            }
        }
    }

    private static Metric DecodeMetric(ReadOnlySpan<byte> data)
    {
        string name = string.Empty;
        string description = string.Empty;
        string unit = string.Empty;
        MetricKind kind = MetricKind.Other;
        bool monotonic = false;
        AggregationTemporality temporality = AggregationTemporality.Unspecified;
        IReadOnlyList<DataPoint> points = [];

        var reader = new ProtoReader(data, "Metric");
        while (reader.TryReadTag(out int field, out WireType wire))
        {
            switch (field, wire)
            {
                case (1, WireType.LengthDelimited):
                    name = reader.ReadString();
                    break;
                case (2, WireType.LengthDelimited):
                    description = reader.ReadString();
                    break;
                case (3, WireType.LengthDelimited):
                    unit = reader.ReadString();
                    break;
                case (5, WireType.LengthDelimited): // gauge
                    kind = MetricKind.Gauge;
                    (points, temporality, monotonic) = DecodeAggregation(reader.ReadLengthDelimited(), kind);
                    break;
                case (7, WireType.LengthDelimited): // sum
                    kind = MetricKind.Sum;
                    (points, temporality, monotonic) = DecodeAggregation(reader.ReadLengthDelimited(), kind);
                    break;
                case (9, WireType.LengthDelimited): // histogram
                    kind = MetricKind.Histogram;
                    (points, temporality, monotonic) = DecodeAggregation(reader.ReadLengthDelimited(), kind);
                    break;
                case (10, WireType.LengthDelimited): // exponential_histogram
                    kind = MetricKind.ExponentialHistogram;
                    (points, temporality, monotonic) = DecodeAggregation(reader.ReadLengthDelimited(), kind);
                    break;
                case (11, WireType.LengthDelimited): // summary
                    kind = MetricKind.Summary;
                    (points, temporality, monotonic) = DecodeAggregation(reader.ReadLengthDelimited(), kind);
                    break;
                default:
                    reader.SkipField(field, wire);
                    break;
            }
        }

        return new Metric(name, description, unit, kind, monotonic, temporality, points);
    }

    // Gauge{points=1} Sum{points=1,temporality=2,is_monotonic=3} Histogram{points=1,temporality=2}
    // ExponentialHistogram{points=1,temporality=2} Summary{points=1}
    private static (IReadOnlyList<DataPoint> Points, AggregationTemporality Temporality, bool Monotonic) DecodeAggregation(
        ReadOnlySpan<byte> data, MetricKind kind)
    {
        var points = new List<DataPoint>();
        var temporality = AggregationTemporality.Unspecified;
        bool monotonic = false;
        string context = kind.ToString();
        var reader = new ProtoReader(data, context);
        while (reader.TryReadTag(out int field, out WireType wire))
        {
            switch (field, wire)
            {
                case (1, WireType.LengthDelimited):
                    ReadOnlySpan<byte> point = reader.ReadLengthDelimited();
                    points.Add(kind switch
                    {
                        MetricKind.Gauge or MetricKind.Sum => DecodeNumberDataPoint(point),
                        MetricKind.Histogram => DecodeHistogramDataPoint(point),
                        MetricKind.ExponentialHistogram => DecodeExponentialHistogramDataPoint(point),
                        _ => DecodeSummaryDataPoint(point),
                    });
                    break;
                case (2, WireType.Varint) when kind is MetricKind.Sum or MetricKind.Histogram or MetricKind.ExponentialHistogram:
                    temporality = (AggregationTemporality)unchecked((int)reader.ReadVarint());
                    break;
                case (3, WireType.Varint) when kind == MetricKind.Sum:
                    monotonic = reader.ReadBool();
                    break;
                default:
                    reader.SkipField(field, wire);
                    break;
            }
        }

        return (points, temporality, monotonic);
    }

    // NumberDataPoint: attributes=7 start=2 time=3 as_double=4 as_int=6 (sfixed64) exemplars=5 flags=8
    private static DataPoint DecodeNumberDataPoint(ReadOnlySpan<byte> data)
    {
        var attributes = new Dictionary<string, object>(StringComparer.Ordinal);
        ulong start = 0, time = 0;
        long? asInt = null;
        double? asDouble = null;
        uint flags = 0;
        var reader = new ProtoReader(data, "NumberDataPoint");
        while (reader.TryReadTag(out int field, out WireType wire))
        {
            switch (field, wire)
            {
                case (7, WireType.LengthDelimited):
                    DecodeKeyValue(reader.ReadLengthDelimited(), attributes, 0);
                    break;
                case (2, WireType.Fixed64):
                    start = reader.ReadFixed64();
                    break;
                case (3, WireType.Fixed64):
                    time = reader.ReadFixed64();
                    break;
                case (4, WireType.Fixed64): // oneof value: last one wins
                    asDouble = reader.ReadDouble();
                    asInt = null;
                    break;
                case (6, WireType.Fixed64):
                    asInt = reader.ReadSFixed64();
                    asDouble = null;
                    break;
                case (8, WireType.Varint):
                    flags = unchecked((uint)reader.ReadVarint());
                    break;
                default:
                    reader.SkipField(field, wire);
                    break;
            }
        }

        return new DataPoint(attributes, asInt, asDouble, start, time, null, null) { Flags = flags };
    }

    // HistogramDataPoint: attributes=9 start=2 time=3 count=4 (fixed64) sum=5 bucket_counts=6 (packed fixed64)
    // explicit_bounds=7 (packed double) exemplars=8 flags=10 min=11 max=12
    private static DataPoint DecodeHistogramDataPoint(ReadOnlySpan<byte> data)
    {
        var attributes = new Dictionary<string, object>(StringComparer.Ordinal);
        ulong start = 0, time = 0, count = 0;
        double? sum = null, min = null, max = null;
        uint flags = 0;
        var buckets = new List<ulong>();
        var bounds = new List<double>();
        var reader = new ProtoReader(data, "HistogramDataPoint");
        while (reader.TryReadTag(out int field, out WireType wire))
        {
            switch (field, wire)
            {
                case (9, WireType.LengthDelimited):
                    DecodeKeyValue(reader.ReadLengthDelimited(), attributes, 0);
                    break;
                case (2, WireType.Fixed64):
                    start = reader.ReadFixed64();
                    break;
                case (3, WireType.Fixed64):
                    time = reader.ReadFixed64();
                    break;
                case (4, WireType.Fixed64):
                    count = reader.ReadFixed64();
                    break;
                case (5, WireType.Fixed64):
                    sum = reader.ReadDouble();
                    break;
                case (6, WireType.Fixed64): // unpacked encoding
                    buckets.Add(reader.ReadFixed64());
                    break;
                case (6, WireType.LengthDelimited): // packed encoding
                    ReadPackedFixed64(reader.ReadLengthDelimited(), buckets, "HistogramDataPoint.bucket_counts");
                    break;
                case (7, WireType.Fixed64):
                    bounds.Add(reader.ReadDouble());
                    break;
                case (7, WireType.LengthDelimited):
                    ReadPackedDouble(reader.ReadLengthDelimited(), bounds, "HistogramDataPoint.explicit_bounds");
                    break;
                case (10, WireType.Varint):
                    flags = unchecked((uint)reader.ReadVarint());
                    break;
                case (11, WireType.Fixed64):
                    min = reader.ReadDouble();
                    break;
                case (12, WireType.Fixed64):
                    max = reader.ReadDouble();
                    break;
                default:
                    reader.SkipField(field, wire);
                    break;
            }
        }

        return new DataPoint(attributes, null, null, start, time, count, sum)
        {
            BucketCounts = buckets,
            ExplicitBounds = bounds,
            Min = min,
            Max = max,
            Flags = flags,
        };
    }

    // ExponentialHistogramDataPoint: attributes=1 start=2 time=3 count=4 sum=5 flags=10 min=12 max=13 (buckets skipped)
    private static DataPoint DecodeExponentialHistogramDataPoint(ReadOnlySpan<byte> data)
    {
        var attributes = new Dictionary<string, object>(StringComparer.Ordinal);
        ulong start = 0, time = 0, count = 0;
        double? sum = null, min = null, max = null;
        uint flags = 0;
        var reader = new ProtoReader(data, "ExponentialHistogramDataPoint");
        while (reader.TryReadTag(out int field, out WireType wire))
        {
            switch (field, wire)
            {
                case (1, WireType.LengthDelimited):
                    DecodeKeyValue(reader.ReadLengthDelimited(), attributes, 0);
                    break;
                case (2, WireType.Fixed64):
                    start = reader.ReadFixed64();
                    break;
                case (3, WireType.Fixed64):
                    time = reader.ReadFixed64();
                    break;
                case (4, WireType.Fixed64):
                    count = reader.ReadFixed64();
                    break;
                case (5, WireType.Fixed64):
                    sum = reader.ReadDouble();
                    break;
                case (10, WireType.Varint):
                    flags = unchecked((uint)reader.ReadVarint());
                    break;
                case (12, WireType.Fixed64):
                    min = reader.ReadDouble();
                    break;
                case (13, WireType.Fixed64):
                    max = reader.ReadDouble();
                    break;
                default:
                    reader.SkipField(field, wire);
                    break;
            }
        }

        return new DataPoint(attributes, null, null, start, time, count, sum) { Min = min, Max = max, Flags = flags };
    }

    // SummaryDataPoint: attributes=7 start=2 time=3 count=4 sum=5 quantile_values=6 (skipped) flags=8
    private static DataPoint DecodeSummaryDataPoint(ReadOnlySpan<byte> data)
    {
        var attributes = new Dictionary<string, object>(StringComparer.Ordinal);
        ulong start = 0, time = 0, count = 0;
        double sum = 0;
        uint flags = 0;
        var reader = new ProtoReader(data, "SummaryDataPoint");
        while (reader.TryReadTag(out int field, out WireType wire))
        {
            switch (field, wire)
            {
                case (7, WireType.LengthDelimited):
                    DecodeKeyValue(reader.ReadLengthDelimited(), attributes, 0);
                    break;
                case (2, WireType.Fixed64):
                    start = reader.ReadFixed64();
                    break;
                case (3, WireType.Fixed64):
                    time = reader.ReadFixed64();
                    break;
                case (4, WireType.Fixed64):
                    count = reader.ReadFixed64();
                    break;
                case (5, WireType.Fixed64):
                    sum = reader.ReadDouble();
                    break;
                case (8, WireType.Varint):
                    flags = unchecked((uint)reader.ReadVarint());
                    break;
                default:
                    reader.SkipField(field, wire);
                    break;
            }
        }

        return new DataPoint(attributes, null, null, start, time, count, sum) { Flags = flags };
    }

    private static void ReadPackedFixed64(ReadOnlySpan<byte> data, List<ulong> into, string context)
    {
        if (data.Length % 8 != 0)
        {
            throw new OtlpDecodeException($"{context}: packed fixed64 length {data.Length} is not a multiple of 8");
        }

        var reader = new ProtoReader(data, context);
        for (int i = 0; i < data.Length / 8; i++)
        {
            into.Add(reader.ReadFixed64());
        }
    }

    private static void ReadPackedDouble(ReadOnlySpan<byte> data, List<double> into, string context)
    {
        if (data.Length % 8 != 0)
        {
            throw new OtlpDecodeException($"{context}: packed double length {data.Length} is not a multiple of 8");
        }

        var reader = new ProtoReader(data, context);
        for (int i = 0; i < data.Length / 8; i++)
        {
            into.Add(reader.ReadDouble());
        }
    }

    // KeyValue: key=1 value=2 (AnyValue). Later duplicates overwrite earlier ones; unset values are dropped.
    private static void DecodeKeyValue(ReadOnlySpan<byte> data, Dictionary<string, object> into, int depth)
    {
        string key = string.Empty;
        object? value = null;
        var reader = new ProtoReader(data, "KeyValue");
        while (reader.TryReadTag(out int field, out WireType wire))
        {
            switch (field, wire)
            {
                case (1, WireType.LengthDelimited):
                    key = reader.ReadString();
                    break;
                case (2, WireType.LengthDelimited):
                    value = DecodeAnyValue(reader.ReadLengthDelimited(), depth);
                    break;
                default:
                    reader.SkipField(field, wire);
                    break;
            }
        }

        if (value is not null)
        {
            into[key] = value;
        }
    }

    // AnyValue oneof: string=1 bool=2 int=3 double=4 array=5 kvlist=6 bytes=7
    private static object? DecodeAnyValue(ReadOnlySpan<byte> data, int depth)
    {
        if (depth > MaxAnyValueDepth)
        {
            throw new OtlpDecodeException("AnyValue: nested arrays/kvlists too deep");
        }

        object? value = null;
        var reader = new ProtoReader(data, "AnyValue");
        while (reader.TryReadTag(out int field, out WireType wire))
        {
            switch (field, wire)
            {
                case (1, WireType.LengthDelimited):
                    value = reader.ReadString();
                    break;
                case (2, WireType.Varint):
                    value = reader.ReadBool();
                    break;
                case (3, WireType.Varint):
                    value = unchecked((long)reader.ReadVarint());
                    break;
                case (4, WireType.Fixed64):
                    value = reader.ReadDouble();
                    break;
                case (5, WireType.LengthDelimited):
                    value = DecodeArrayValue(reader.ReadLengthDelimited(), depth + 1);
                    break;
                case (6, WireType.LengthDelimited):
                    var dict = new Dictionary<string, object>(StringComparer.Ordinal);
                    DecodeKeyValueList(reader.ReadLengthDelimited(), dict, depth + 1);
                    value = dict;
                    break;
                case (7, WireType.LengthDelimited):
                    value = reader.ReadLengthDelimited().ToArray();
                    break;
                default:
                    reader.SkipField(field, wire);
                    break;
            }
        }

        return value;
    }

    private static object[] DecodeArrayValue(ReadOnlySpan<byte> data, int depth)
    {
        var values = new List<object>();
        var reader = new ProtoReader(data, "ArrayValue");
        while (reader.TryReadTag(out int field, out WireType wire))
        {
            if (field == 1 && wire == WireType.LengthDelimited)
            {
                // Unset elements are kept as empty strings so indexes stay aligned.
                values.Add(DecodeAnyValue(reader.ReadLengthDelimited(), depth) ?? string.Empty);
            }
            else
            {
                reader.SkipField(field, wire);
            }
        }

        return [.. values];
    }

    private static void DecodeKeyValueList(ReadOnlySpan<byte> data, Dictionary<string, object> into, int depth)
    {
        var reader = new ProtoReader(data, "KeyValueList");
        while (reader.TryReadTag(out int field, out WireType wire))
        {
            if (field == 1 && wire == WireType.LengthDelimited)
            {
                DecodeKeyValue(reader.ReadLengthDelimited(), into, depth);
            }
            else
            {
                reader.SkipField(field, wire);
            }
        }
    }
}
