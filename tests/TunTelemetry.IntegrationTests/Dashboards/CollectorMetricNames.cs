using System.Diagnostics.Metrics;
using TunTelemetry.Metrics;

namespace TunTelemetry.IntegrationTests.Dashboards;

/// <summary>The OTLP data point type an instrument becomes, which decides the collector's suffixes.</summary>
public enum OtlpMetricType
{
    MonotonicSum,
    NonMonotonicSum,
    Gauge,
    Histogram,
}

/// <summary>One of the agent's instruments as OTLP describes it.</summary>
internal sealed record OtlpMetric(string Name, string Unit, OtlpMetricType Type);

/// <summary>
/// How the OpenTelemetry Collector's <c>prometheus</c> exporter names an OTLP metric with its default
/// <c>add_metric_suffixes: true</c>, written from its source: <c>BuildCompliantName</c>/<c>normalizeName</c> in
/// opentelemetry-collector-contrib <c>pkg/translator/prometheus/normalize_name.go</c> (v0.115, the image
/// docker-compose.otel.yml pins), whose rules later moved unchanged for these cases to <c>prometheus/otlptranslator</c>.
/// No collector binary runs here: this is a model of those rules, applied to the agent's real instruments and compared
/// with the names the agent's own endpoint really serves.
/// </summary>
internal static class CollectorMetricNames
{
    /// <summary>
    /// Metrics the collector spells differently from the agent's endpoint (OpenTelemetry .NET's Prometheus exporter):
    /// collector name → agent name. The collector appends <c>_ratio</c> to a gauge of unit <c>1</c>; .NET does not.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> SpelledDifferently = new Dictionary<string, string>
    {
        ["tundev_link_oper_state_ratio"] = "tundev_link_oper_state",
    };

    // The unit map's entries that matter for UCUM units an agent would use (normalize_name.go, unitMap).
    private static readonly Dictionary<string, string> Units = new(StringComparer.Ordinal)
    {
        ["d"] = "days",
        ["h"] = "hours",
        ["min"] = "minutes",
        ["s"] = "seconds",
        ["ms"] = "milliseconds",
        ["us"] = "microseconds",
        ["ns"] = "nanoseconds",
        ["By"] = "bytes",
        ["KiBy"] = "kibibytes",
        ["MiBy"] = "mebibytes",
        ["GiBy"] = "gibibytes",
        ["KBy"] = "kilobytes",
        ["MBy"] = "megabytes",
        ["GBy"] = "gigabytes",
        ["1"] = "",
        ["%"] = "percent",
    };

    private static readonly Dictionary<string, string> PerUnits = new(StringComparer.Ordinal)
    {
        ["s"] = "second",
        ["m"] = "minute",
        ["h"] = "hour",
        ["d"] = "day",
        ["w"] = "week",
        ["mo"] = "month",
        ["y"] = "year",
    };

    /// <summary>Every instrument the agent's metrics create (detailed ones included), read with a listener.</summary>
    public static IReadOnlyList<OtlpMetric> AgentInstruments()
    {
        var found = new List<OtlpMetric>();
        using var meter = new Meter($"TunTelemetry.naming-{Guid.NewGuid():N}");
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name == meter.Name)
                {
                    found.Add(new OtlpMetric(instrument.Name, instrument.Unit ?? string.Empty, TypeOf(instrument)));
                }
            },
        };
        listener.Start();
        _ = new TunDeviceMetrics(meter, detailed: true);
        return found;
    }

    public static string PrometheusName(OtlpMetric metric)
    {
        List<string> tokens = Words(metric.Name);
        string[] unit = metric.Unit.Split('/', 2);
        string main = unit[0].Trim();
        if (main.Length > 0 && main.IndexOfAny(['{', '}']) < 0)
        {
            string word = string.Join('_', Words(Units.GetValueOrDefault(main, main)));
            if (word.Length > 0 && !tokens.Contains(word))
            {
                tokens.Add(word);
            }
        }

        if (unit.Length > 1 && unit[1].Trim() is { Length: > 0 } per && per.IndexOfAny(['{', '}']) < 0)
        {
            string word = string.Join('_', Words(PerUnits.GetValueOrDefault(per, per)));
            if (word.Length > 0 && !tokens.Contains(word))
            {
                tokens.AddRange(["per", word]);
            }
        }

        if (metric.Type == OtlpMetricType.MonotonicSum)
        {
            tokens.RemoveAll(t => t == "total");
            tokens.Add("total");
        }

        if (metric.Unit == "1" && metric.Type == OtlpMetricType.Gauge)
        {
            tokens.RemoveAll(t => t == "ratio");
            tokens.Add("ratio");
        }

        return string.Join('_', tokens);
    }

    /// <summary>The name split at every character that is neither a letter nor a digit (strings.FieldsFunc).</summary>
    private static List<string> Words(string text) =>
        [.. text.Split(text.Where(c => !char.IsLetterOrDigit(c)).Distinct().ToArray(), StringSplitOptions.RemoveEmptyEntries)];

    private static OtlpMetricType TypeOf(Instrument instrument)
    {
        Type definition = instrument.GetType().GetGenericTypeDefinition();
        return definition == typeof(ObservableCounter<>) || definition == typeof(Counter<>) ? OtlpMetricType.MonotonicSum
            : definition == typeof(ObservableUpDownCounter<>) || definition == typeof(UpDownCounter<>) ? OtlpMetricType.NonMonotonicSum
            : definition == typeof(Histogram<>) ? OtlpMetricType.Histogram
            : definition == typeof(ObservableGauge<>) || definition == typeof(Gauge<>) ? OtlpMetricType.Gauge
            : throw new NotSupportedException($"{instrument.Name}: instrument type {instrument.GetType().Name} is not modelled");
    }
}
