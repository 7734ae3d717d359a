using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;

namespace TunTelemetry.Agent.Telemetry;

/// <summary>
/// Makes the final export when the agent stops, after the actors have stopped (so every counted reading is in it) and
/// before the host disposes its services. The counters are observable instruments read from the aggregator's totals:
/// once the host's meter factory has disposed their meter, an export has nothing left to read, and the meter
/// provider's own export at disposal may come after that.
/// </summary>
/// <remarks>Registered before Akka's hosted service: hosted services stop in reverse order, so this one stops after it.</remarks>
internal sealed class FinalExportService(MeterProvider meterProvider) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken)
    {
        meterProvider.ForceFlush();
        return Task.CompletedTask;
    }
}
