using System.Diagnostics.Metrics;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using TunTelemetry.Actors;
using TunTelemetry.Dispatch;
using TunTelemetry.Metrics;

namespace TunTelemetry.Hosting;

public static class AkkaConfigurationBuilderExtensions
{
    /// <summary>
    /// Starts TunTelemetry in this actor system: a <see cref="MetricsAggregatorActor"/> and a
    /// <see cref="DeviceSupervisorActor"/> (both in the <c>ActorRegistry</c>; take them as <c>IRequiredActor&lt;T&gt;</c>),
    /// which starts a poller and the registered per-device actors for every watched device.
    /// </summary>
    public static AkkaConfigurationBuilder WithTunTelemetry(
        this AkkaConfigurationBuilder builder, TunTelemetryOptions options, Action<TunTelemetryBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        var setup = new TunTelemetryBuilder(options);
        configure?.Invoke(setup);

        // Appended: the host's own HOCON (e.g. hocon.conf) overrides both.
        builder.AddHocon(NetlinkDispatcher.Hocon, HoconAddMode.Append);
        builder.AddHocon(options.SchedulerHocon, HoconAddMode.Append);
        return builder.WithActors((system, registry, resolver) =>
        {
            Meter meter = setup.Meter
                ?? resolver.GetService<IMeterFactory>()?.Create(TunDeviceMetrics.MeterName, typeof(TunDeviceMetrics).Assembly.GetName().Version?.ToString(3))
                ?? new Meter(TunDeviceMetrics.MeterName);
            var metrics = new TunDeviceMetrics(meter, options.DetailedMetrics);
            var aggregator = system.ActorOf(MetricsAggregatorActor.Props(metrics).WithDispatcher(options.NetlinkDispatcher), "metrics");
            registry.Register<MetricsAggregatorActor>(aggregator);

            var supervisor = system.ActorOf(
                DeviceSupervisorActor.Props(options, aggregator, setup.Registrations(), setup.WatcherFactory(), setup.NameResolver())
                    .WithDispatcher(options.NetlinkDispatcher),
                "devices");
            registry.Register<DeviceSupervisorActor>(supervisor);
        });
    }
}
