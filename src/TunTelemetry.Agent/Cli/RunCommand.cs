using System.Net;
using System.Runtime.CompilerServices;
using Akka.Configuration;
using Microsoft.Extensions.Hosting;
using TunTelemetry.Agent.Configuration;
using TunTelemetry.Agent.Logging;
using TunTelemetry.Devices;
using TunTelemetry.Hosting;
using TunTelemetry.Netlink;

namespace TunTelemetry.Agent.Cli;

/// <summary><c>run</c>: watch devices and export until stopped.</summary>
internal static class RunCommand
{
    internal static async Task<int> RunAsync(AgentSettings settings, CancellationToken cancellationToken)
    {
        Config hocon;
        TunTelemetryOptions options;
        try
        {
            (hocon, options) = AgentConfigLoader.Load(settings);
        }
        catch (TunTelemetryConfigException e)
        {
            Console.Error.WriteLine($"tuntelemetry: {HumanText.Escape(e.Message)}");
            return ExitCodes.BadUsage;
        }

        DescriptorReserve.RaiseSoftLimitToHard();
        bool console = settings.Console
            ?? (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT")) || !Console.IsOutputRedirected);

        // --log-level goes in as configuration over the environment's, where .NET hosts read levels from.
        Dictionary<string, string?>? logLevel = settings.LogLevel is { } level
            ? new() { [AgentLogging.DefaultLevelKey] = level.ToString() }
            : null;
        using IHost host = AgentHost.Build(hocon, options, console, configuration: logLevel);
        try
        {
            await host.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidOperationException e) when (ListenerFailure(e) is { } reason)
        {
            // The Prometheus exporter starts its listener when the meter provider is built; a taken port ends up here.
            Console.Error.WriteLine($"tuntelemetry: cannot serve Prometheus metrics on {options.PrometheusListen?.ToString() ?? "OTEL_EXPORTER_PROMETHEUS_HOST:OTEL_EXPORTER_PROMETHEUS_PORT"}: {reason}");
            return ExitCodes.Failure;
        }

        return ExitCodes.Success;
    }

    // Apart so that compiling RunAsync does not load System.Net.HttpListener into every agent, Prometheus or not
    // (docs/performance.md "Fixed cost per host"): the type is needed only when an exception is thrown.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static string? ListenerFailure(InvalidOperationException e) => (e.InnerException as HttpListenerException)?.Message;
}
