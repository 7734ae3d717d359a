using TunTelemetry.Hosting;

namespace TunTelemetry.Agent.Telemetry;

/// <summary>
/// Which metric exporters run, from <c>OTEL_METRICS_EXPORTER</c> as the OpenTelemetry SDK environment specification
/// defines it (comma-separated <c>otlp</c>, <c>prometheus</c>, <c>none</c>; default <c>otlp</c>) and the Prometheus
/// listen address of the configuration. Unset, OTLP runs as always, and a configured listen address adds Prometheus
/// beside it. An unknown value is reported in <see cref="Warnings"/> and ignored, as the SDK does with its own variables.
/// </summary>
/// <param name="Prometheus">
/// Null when Prometheus is off; otherwise where it listens, or <see cref="EnvironmentDefault"/> when no address was
/// configured (the exporter then reads <c>OTEL_EXPORTER_PROMETHEUS_HOST</c>/<c>_PORT</c>, default localhost:9464).
/// </param>
internal sealed record MetricsExporters(bool Otlp, ListenAddress? Prometheus, IReadOnlyList<string> Warnings)
{
    internal const string Variable = "OTEL_METRICS_EXPORTER";

    /// <summary>Stands for "the exporter's own defaults": it is never bound as written.</summary>
    internal static readonly ListenAddress EnvironmentDefault = new(string.Empty, 0);

    internal bool None => !Otlp && Prometheus is null;

    internal static MetricsExporters Choose(string? variable, ListenAddress? listen)
    {
        if (string.IsNullOrWhiteSpace(variable))
        {
            return new MetricsExporters(Otlp: true, listen, []);
        }

        var warnings = new List<string>();
        bool otlp = false, prometheus = false, none = false, known = false;
        foreach (string word in variable.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            switch (word.ToLowerInvariant())
            {
                case "otlp": otlp = known = true; break;
                case "prometheus": prometheus = known = true; break;
                case "none": none = known = true; break;
                default: warnings.Add($"{Variable}: '{word}' is not otlp, prometheus or none; ignored"); break;
            }
        }

        if (!known)
        {
            // Nothing usable: the specification's default.
            otlp = true;
            prometheus = listen is not null;
        }
        else if (none)
        {
            // "none" means no exporter at all, whatever else the list names.
            otlp = prometheus = false;
        }

        if (listen is not null && !prometheus)
        {
            warnings.Add($"{Variable}={variable} does not include prometheus: not listening on {listen} (tuntelemetry.prometheus.listen, --prometheus-listen)");
        }

        return new MetricsExporters(otlp, prometheus ? listen ?? EnvironmentDefault : null, warnings);
    }
}
