using Akka.Configuration;
using Akka.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Exporter;
using TunTelemetry.Agent.ConsoleView;
using TunTelemetry.Agent.Logging;
using TunTelemetry.Agent.Os;
using TunTelemetry.Agent.Telemetry;
using TunTelemetry.Hosting;
using TunTelemetry.Logging;

namespace TunTelemetry.Agent;

/// <summary>
/// The agent's Generic Host: Akka.Hosting runs the actor system from the effective HOCON, the OpenTelemetry SDK
/// exports its meter over OTLP (and, when asked, serves it for Prometheus to scrape), systemd gets readiness notifications, and SIGTERM/Ctrl-C stop it cleanly (actors
/// stop and close their sockets, then the meter provider's disposal makes a final export).
/// </summary>
public static class AgentHost
{
    /// <param name="configuration">
    /// Extra configuration (as <c>OTEL_METRIC_EXPORT_*</c> and <c>OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE</c>
    /// keys) over the environment, for in-process tests.
    /// </param>
    /// <param name="configureExporter">
    /// Changes the exporter's options after the SDK has read them from the <c>OTEL_EXPORTER_OTLP_*</c> environment
    /// variables; lets in-process tests aim the exporter without touching the process environment.
    /// </param>
    public static IHost Build(
        Config hocon,
        TunTelemetryOptions options,
        bool console,
        Action<TunTelemetryBuilder>? configure = null,
        IReadOnlyDictionary<string, string?>? configuration = null,
        Action<OtlpExporterOptions>? configureExporter = null)
    {
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            DisableDefaults = true,
            ContentRootPath = AppContext.BaseDirectory,
        });
        // The OpenTelemetry SDK reads OTEL_* through IConfiguration; without the host defaults, add the environment.
        builder.Configuration.AddEnvironmentVariables();
        if (configuration is not null)
        {
            builder.Configuration.AddInMemoryCollection(configuration);
        }

        builder.Services.AddSystemd();
        AgentLogging.Configure(builder.Logging, builder.Configuration);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(20));

        builder.Services.AddSingleton(options);
        builder.Services.AddHostedService<NativeHeapTrimmer>();
        var exportMonitor = new OtlpExportMonitor();
        builder.Services.AddSingleton(exportMonitor);
        var exporters = MetricsExporters.Choose(builder.Configuration[MetricsExporters.Variable], options.PrometheusListen);
        builder.Services.AddSingleton(exporters);
        OpenTelemetrySetup.Add(builder.Services, options, exporters, configureExporter);
        builder.Services.AddHostedService<FinalExportService>(); // before AddAkka: it stops after the actors

        builder.Services.AddAkka("tuntelemetry", (akka, services) =>
        {
            akka.AddHocon(hocon, HoconAddMode.Prepend)
                .ConfigureLoggers(loggers =>
                {
                    loggers.ClearLoggers();
                    loggers.AddActorClassLogger();
                    loggers.LogLevel = AgentLogging.AkkaLevel(services);
                })
                .WithTunTelemetryScheduler(options)
                .WithTunTelemetry(options, configure);
        });

        if (console)
        {
            builder.Services.AddSingleton<TextWriter>(Console.Out);
            builder.Services.AddHostedService<ConsoleViewService>();
        }

        return builder.Build();
    }
}
