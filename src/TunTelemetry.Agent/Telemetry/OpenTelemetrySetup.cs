using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using TunTelemetry.Hosting;
using TunTelemetry.Metrics;

namespace TunTelemetry.Agent.Telemetry;

/// <summary>
/// OpenTelemetry SDK wiring: OTLP, a Prometheus scrape endpoint, both or neither (<see cref="MetricsExporters"/>). Endpoint, protocol, headers, export interval, service name and resource attributes come
/// from the standard <c>OTEL_*</c> variables, which the SDK reads itself; this adds what the SDK does not know, and
/// builds the OTLP reader itself so that an export goes as several requests and tells how it ended (see <see cref="OtlpExportReader"/>).
/// </summary>
internal static class OpenTelemetrySetup
{
    internal const string DefaultServiceName = "tuntelemetry";
    internal const string TemporalityVariable = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE";

    // The SDK's defaults for OTEL_METRIC_EXPORT_INTERVAL and OTEL_METRIC_EXPORT_TIMEOUT.
    private const int DefaultExportIntervalMilliseconds = 60_000;
    private const int DefaultExportTimeoutMilliseconds = 30_000;

    internal static string ServiceVersion =>
        typeof(OpenTelemetrySetup).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    /// <param name="configureExporter">
    /// Runs on the exporter's options after the SDK has read the <c>OTEL_EXPORTER_OTLP_*</c> environment variables; lets
    /// in-process tests aim the exporter without touching the process environment.
    /// </param>
    /// <param name="exporters">Which exporters run (<see cref="MetricsExporters.Choose"/>).</param>
    internal static void Add(
        IServiceCollection services, TunTelemetryOptions options, MetricsExporters exporters, Action<OtlpExporterOptions>? configureExporter = null)
    {
        services.AddHostedService(sp => new ChoiceLogger(exporters, sp.GetRequiredService<ILoggerFactory>()));
        SdkDiagnosticsFilePoll.Stop(); // the SDK's 10-second file check, a wake-up the agent does not need
        if (exporters.Otlp)
        {
            services.AddSingleton(sp => OtlpExport.Create(sp, configureExporter));
            services.AddSingleton(sp => sp.GetRequiredService<OtlpExport>().Health);
        }

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
                        ? new MetricStreamConfiguration { CardinalityLimit = TunDeviceMetrics.CardinalityLimit(instrument.Name, options.MaxDevices) }
                        : null);
                metrics.AddMeter(ExportHealthReporter.MeterName);
                if (exporters.Otlp)
                {
                    metrics.AddReader(CreateReader);
                }

                if (exporters.Prometheus is { } listen)
                {
                    AddPrometheus(metrics, listen);
                }
            });
    }

    // Apart so that only an agent that serves Prometheus loads its exporter and System.Net.HttpListener: compiling a
    // method loads the assemblies of every method it calls, taken branch or not (docs/performance.md "Fixed cost per
    // host").
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AddPrometheus(MeterProviderBuilder metrics, ListenAddress listen) =>
        // Without an address of ours the exporter takes OTEL_EXPORTER_PROMETHEUS_HOST/_PORT (localhost:9464).
        metrics.AddPrometheusHttpListener(o =>
        {
            if (listen != MetricsExporters.EnvironmentDefault)
            {
                o.Host = listen.Host;
                o.Port = listen.Port;
            }
        });

    /// <summary>
    /// What <c>AddOtlpExporter</c> would build, with an export sent as several requests and its outcome reported
    /// (<see cref="OtlpExportReader"/>): the exporter options from the <c>OTEL_EXPORTER_OTLP_*</c> environment
    /// variables (read by the SDK's own constructor), the interval, timeout and points per request from
    /// <c>OTEL_METRIC_EXPORT_*</c> (<c>_MAX_BATCH_SIZE</c>: 7,000 when unset), the temporality from
    /// <c>OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE</c>.
    /// </summary>
    private static MetricReader CreateReader(IServiceProvider services)
    {
        OtlpExport otlp = services.GetRequiredService<OtlpExport>();
        PeriodicExportingMetricReaderOptions periodic = services.GetRequiredService<IOptionsMonitor<MetricReaderOptions>>()
            .Get(Options.DefaultName).PeriodicExportingMetricReaderOptions;
        return new OtlpExportReader(
            otlp.Options,
            periodic.ExportIntervalMilliseconds ?? DefaultExportIntervalMilliseconds,
            periodic.ExportTimeoutMilliseconds ?? DefaultExportTimeoutMilliseconds,
            periodic.MaxExportBatchSize ?? OtlpExportReader.DefaultPointsPerRequest,
            otlp.Health)
        {
            TemporalityPreference = Temporality(services),
        };
    }

    /// <summary>
    /// Cumulative unless the variable says otherwise: a collector or backend that misses an export loses nothing, the
    /// next carries the total. An unknown value is reported and ignored, as the SDK does with its own variables.
    /// </summary>
    internal static MetricReaderTemporalityPreference Temporality(IServiceProvider services)
    {
        string? value = services.GetRequiredService<IConfiguration>()[TemporalityVariable];
        if (string.IsNullOrWhiteSpace(value))
        {
            return MetricReaderTemporalityPreference.Cumulative;
        }

        if (!value.Any(char.IsDigit)
            && Enum.TryParse(value.Trim(), ignoreCase: true, out MetricReaderTemporalityPreference preference))
        {
            return preference;
        }

        services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(OpenTelemetrySetup))
            .LogWarning("{Variable}={Value} is not cumulative, delta or lowmemory; exporting cumulative", TemporalityVariable, value);
        return MetricReaderTemporalityPreference.Cumulative;
    }

    /// <summary>
    /// The OTLP exporter's options (the SDK reads <c>OTEL_EXPORTER_OTLP_*</c> in their constructor) and what tells
    /// whether its exports go out (<see cref="ExportHealthReporter"/>), whose handler the exporter's HTTP client sends
    /// through. Where <c>OTEL_EXPORTER_OTLP_CERTIFICATE</c>, <c>_CLIENT_CERTIFICATE</c> or <c>_CLIENT_KEY</c> is set, the
    /// SDK's own client keeps the TLS it configures from them, and a failure's cause is read from the exporter's own
    /// error events instead.
    /// </summary>
    internal sealed record OtlpExport(OtlpExporterOptions Options, ExportHealthReporter Health)
    {
        private static readonly string[] TlsVariables =
            ["OTEL_EXPORTER_OTLP_CERTIFICATE", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "OTEL_EXPORTER_OTLP_CLIENT_KEY"];

        internal static OtlpExport Create(IServiceProvider services, Action<OtlpExporterOptions>? configureExporter)
        {
            var options = new OtlpExporterOptions();
            configureExporter?.Invoke(options);
            string protocol = options.Protocol == OtlpExportProtocol.HttpProtobuf ? "http/protobuf" : "grpc";
            var health = new ExportHealth(Shown(options.Endpoint), protocol,
                cumulative: Temporality(services) == MetricReaderTemporalityPreference.Cumulative, repeatEvery: TimeSpan.FromMinutes(1));
            var reporter = new ExportHealthReporter(health, services.GetRequiredService<ILoggerFactory>().CreateLogger<ExportHealthReporter>(),
                TimeProvider.System, Os.SystemdStatus.FromEnvironment(), services.GetRequiredService<OtlpExportMonitor>());
            IConfiguration configuration = services.GetRequiredService<IConfiguration>();
            if (!TlsVariables.Any(v => !string.IsNullOrEmpty(configuration[v])))
            {
                options.HttpClientFactory = () => new HttpClient(reporter.CreateHandler(new SocketsHttpHandler()))
                {
                    Timeout = TimeSpan.FromMilliseconds(options.TimeoutMilliseconds),
                    MaxResponseContentBufferSize = options.MaxResponseSizeBytes,
                };
            }

            return new OtlpExport(options, reporter);
        }

        /// <summary>The endpoint as a person may see it: no user information, no query (either may hold a secret).</summary>
        internal static string Shown(Uri endpoint) => endpoint.GetComponents(
            UriComponents.Scheme | UriComponents.Host | UriComponents.Port | UriComponents.Path, UriFormat.UriEscaped);
    }

    /// <summary>Says once, at start, what was ignored in <c>OTEL_METRICS_EXPORTER</c> and whether nothing is exported.</summary>
    private sealed class ChoiceLogger(MetricsExporters exporters, ILoggerFactory loggers) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            ILogger logger = loggers.CreateLogger(typeof(OpenTelemetrySetup));
            foreach (string warning in exporters.Warnings)
            {
                logger.LogWarning("{Warning}", warning);
            }

            if (exporters.None)
            {
                logger.LogWarning("{Variable} turns every metrics exporter off: nothing is exported", MetricsExporters.Variable);
            }

            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
