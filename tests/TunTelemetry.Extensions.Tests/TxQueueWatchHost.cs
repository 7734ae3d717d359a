using Akka.Hosting;
using Microsoft.Extensions.Hosting;
using TunTelemetry.Hosting;

namespace TunTelemetry.Extensions.Tests;

/// <summary>
/// The sample registered in an application's own host, as README's "Adding a per-device actor" shows: TunTelemetry in
/// the host's actor system, with the TX queue watch started for every watched device.
/// </summary>
public static class TxQueueWatchHost
{
    public static HostApplicationBuilder AddTunTelemetryWithTxQueueWatch(this HostApplicationBuilder builder, TunTelemetryOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);

        // snippet: register
        builder.Services.AddAkka("my-app", (akka, _) => akka.WithTunTelemetry(options, telemetry => telemetry.AddPerDeviceActor(
            TxQueueWatchActor.RegistrationName,
            context => TxQueueWatchActor.Props(context, new SysfsTxQueueSource(), TimeSpan.FromSeconds(15)),
            TxQueueWatchActor.Queues, TxQueueWatchActor.Timeouts)));
        // end snippet
        return builder;
    }
}
