using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using TunTelemetry.Hosting;
using TunTelemetry.Metrics;

namespace TunTelemetry.Agent.Telemetry;

/// <summary>
/// OpenTelemetry SDK wiring. Endpoint, protocol, headers, export interval, service name and resource attributes come
/// from the standard <c>OTEL_*</c> variables, which the SDK reads itself; this adds what the SDK does not know.
/// </summary>
internal static class OpenTelemetrySetup
{
    internal const string DefaultServiceName = "tuntelemetry";

    internal static string ServiceVersion =>
        typeof(OpenTelemetrySetup).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    internal static void Add(IServiceCollection services, TunTelemetryOptions options)
    {
        services.AddOpenTelemetry()
            .ConfigureResource(resource =>
            {
                // OTEL_SERVICE_NAME, when set, wins: AddService would otherwise overwrite it.
                string serviceName = Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME") is { Length: > 0 } name ? name : DefaultServiceName;
                resource.AddService(serviceName, serviceVersion: ServiceVersion, autoGenerateServiceInstanceId: true)
                    .AddAttributes([new KeyValuePair<string, object>("host.name", Environment.MachineName)])
                    .AddEnvironmentVariableDetector();
            })
            .WithMetrics(metrics =>
            {
                metrics.AddTunTelemetryInstrumentation()
                    .AddView(instrument => instrument.Meter.Name == TunDeviceMetrics.MeterName
                        ? new MetricStreamConfiguration { CardinalityLimit = CardinalityLimit(instrument.Name, options.MaxDevices) }
                        : null)
                    .AddOtlpExporter((_, reader) =>
                    {
                        // Cumulative: a collector or backend that misses an export loses nothing, the next carries the total.
                        if (Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE") is null)
                        {
                            reader.TemporalityPreference = MetricReaderTemporalityPreference.Cumulative;
                        }
                    });
            });
    }

    /// <summary>
    /// Room for every device's series of one instrument, so thousands of devices never fall into the SDK's overflow
    /// series; sized per instrument because the SDK reserves it up front.
    /// </summary>
    internal static int CardinalityLimit(string instrument, int maxDevices)
    {
        int perDevice = LinkStatsMetricMap.Bindings.Count(b => b.Metric == instrument);
        if (instrument == MetricNames.PollFailures)
        {
            perDevice = 2;
        }

        return (Math.Max(perDevice, 1) * maxDevices) + 16;
    }
}
