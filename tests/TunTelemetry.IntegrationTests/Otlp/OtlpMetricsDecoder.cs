namespace TunTelemetry.IntegrationTests.Otlp;

public enum MetricKind
{
    Other,
    Gauge,
    Sum,
    Histogram,
}

public sealed record DataPoint(IReadOnlyDictionary<string, object> Attributes, long? AsInt, double? AsDouble, ulong TimeUnixNano, ulong? Count);

public sealed record Metric(string Name, string Unit, MetricKind Kind, bool IsMonotonic, int Temporality, IReadOnlyList<DataPoint> Points);

public sealed record ResourceMetrics(IReadOnlyDictionary<string, object> Resource, IReadOnlyList<Metric> Metrics);

/// <summary>
/// Decodes <c>ExportMetricsServiceRequest</c> (opentelemetry-proto collector/metrics/v1) for real: field numbers from
/// metrics.proto, common.proto and resource.proto. Unknown fields are skipped as the format requires.
/// </summary>
public static class OtlpMetricsDecoder
{
    public static IReadOnlyList<ResourceMetrics> Decode(ReadOnlySpan<byte> request)
    {
        var result = new List<ResourceMetrics>();
        var r = new ProtobufReader(request);
        while (r.Next())
        {
            if (r.Field == 1 && r.WireType == 2)
            {
                result.Add(ResourceMetricsOf(r.Bytes()));
            }
            else
            {
                r.Skip();
            }
        }

        return result;
    }

    private static ResourceMetrics ResourceMetricsOf(ReadOnlySpan<byte> data)
    {
        var resource = new Dictionary<string, object>();
        var metrics = new List<Metric>();
        var r = new ProtobufReader(data);
        while (r.Next())
        {
            if (r.Field == 1 && r.WireType == 2)
            {
                var res = new ProtobufReader(r.Bytes());
                while (res.Next())
                {
                    if (res.Field == 1 && res.WireType == 2) { AddKeyValue(resource, res.Bytes()); } else { res.Skip(); }
                }
            }
            else if (r.Field == 2 && r.WireType == 2)
            {
                var scope = new ProtobufReader(r.Bytes());
                while (scope.Next())
                {
                    if (scope.Field == 2 && scope.WireType == 2) { metrics.Add(MetricOf(scope.Bytes())); } else { scope.Skip(); }
                }
            }
            else
            {
                r.Skip();
            }
        }

        return new ResourceMetrics(resource, metrics);
    }

    private static Metric MetricOf(ReadOnlySpan<byte> data)
    {
        string name = "", unit = "";
        var kind = MetricKind.Other;
        bool monotonic = false;
        int temporality = 0;
        var points = new List<DataPoint>();
        var r = new ProtobufReader(data);
        while (r.Next())
        {
            switch (r.Field)
            {
                case 1: name = r.String(); break;
                case 3: unit = r.String(); break;
                case 5 or 7 or 9 when r.WireType == 2:
                    kind = r.Field switch { 5 => MetricKind.Gauge, 7 => MetricKind.Sum, _ => MetricKind.Histogram };
                    var body = new ProtobufReader(r.Bytes());
                    while (body.Next())
                    {
                        if (body.Field == 1 && body.WireType == 2) { points.Add(PointOf(body.Bytes(), kind == MetricKind.Histogram)); }
                        else if (body.Field == 2 && body.WireType == 0) { temporality = (int)body.Varint(); }
                        else if (body.Field == 3 && body.WireType == 0) { monotonic = body.Varint() != 0; }
                        else { body.Skip(); }
                    }

                    break;
                default: r.Skip(); break;
            }
        }

        return new Metric(name, unit, kind, monotonic, temporality, points);
    }

    private static DataPoint PointOf(ReadOnlySpan<byte> data, bool histogram)
    {
        var attributes = new Dictionary<string, object>();
        long? asInt = null;
        double? asDouble = null;
        ulong time = 0;
        ulong? count = null;
        int attributeField = histogram ? 9 : 7;
        var r = new ProtobufReader(data);
        while (r.Next())
        {
            if (r.Field == attributeField && r.WireType == 2) { AddKeyValue(attributes, r.Bytes()); }
            else if (r.Field == 3 && r.WireType == 1) { time = r.Fixed64(); }
            else if (!histogram && r.Field == 4 && r.WireType == 1) { asDouble = r.Double(); }
            else if (!histogram && r.Field == 6 && r.WireType == 1) { asInt = (long)r.Fixed64(); }
            else if (histogram && r.Field == 4 && r.WireType == 1) { count = r.Fixed64(); }
            else { r.Skip(); }
        }

        return new DataPoint(attributes, asInt, asDouble, time, count);
    }

    private static void AddKeyValue(Dictionary<string, object> into, ReadOnlySpan<byte> data)
    {
        string key = "";
        object value = "";
        var r = new ProtobufReader(data);
        while (r.Next())
        {
            if (r.Field == 1 && r.WireType == 2)
            {
                key = r.String();
            }
            else if (r.Field == 2 && r.WireType == 2)
            {
                var any = new ProtobufReader(r.Bytes());
                while (any.Next())
                {
                    value = any.Field switch
                    {
                        1 when any.WireType == 2 => any.String(),
                        2 when any.WireType == 0 => any.Varint() != 0,
                        3 when any.WireType == 0 => (long)any.Varint(),
                        4 when any.WireType == 1 => any.Double(),
                        _ => SkipAndKeep(ref any, value),
                    };
                }
            }
            else
            {
                r.Skip();
            }
        }

        into[key] = value;
    }

    private static object SkipAndKeep(ref ProtobufReader reader, object value)
    {
        reader.Skip();
        return value;
    }
}
