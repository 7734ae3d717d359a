using System.Diagnostics.Metrics;
using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TunTelemetry.Hosting;
using Xunit;

namespace TunTelemetry.Extensions.Tests;

/// <summary>
/// README's registration, run: a host built with <see cref="TxQueueWatchHost"/> starts TunTelemetry in its actor system
/// and declares the sample's instruments beside the built-in ones. (What the actor does per device is in
/// <see cref="TxQueueWatchActorSpecs"/>, in virtual time.)
/// </summary>
public sealed class TxQueueWatchHostTests
{
    [Fact]
    public async Task The_registration_as_the_readme_shows_it_starts_the_library_with_the_samples_instruments()
    {
        var declared = new Dictionary<string, Instrument>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name == "TunTelemetry" && instrument.Name.StartsWith("sample.tun.", StringComparison.Ordinal))
                {
                    lock (declared)
                    {
                        declared[instrument.Name] = instrument;
                    }
                }
            },
        };
        listener.Start();

        using IHost host = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true })
            .AddTunTelemetryWithTxQueueWatch(TunTelemetryOptions.Default)
            .Build();
        await host.StartAsync();
        try
        {
            ActorSystem system = host.Services.GetRequiredService<ActorSystem>();
            Assert.False(system.WhenTerminated.IsCompleted);

            lock (declared)
            {
                Assert.IsType<ObservableGauge<long>>(declared[TxQueueWatchActor.Queues.Name]);
                Assert.IsType<ObservableCounter<long>>(declared[TxQueueWatchActor.Timeouts.Name]);
            }
        }
        finally
        {
            await host.StopAsync();
        }
    }
}
