using System.Diagnostics.Metrics;
using Akka.Hosting;
using TunTelemetry.Devices;
using TunTelemetry.Discovery;
using TunTelemetry.Dispatch;
using TunTelemetry.Metrics;
using TunTelemetry.Readers;
using TunTelemetry.Supervision;

namespace TunTelemetry.Hosting;

public static class AkkaConfigurationBuilderExtensions
{
    /// <summary>
    /// Starts TunTelemetry in this actor system: the metrics aggregator, the reader scan and the device supervisor, which
    /// starts a poller and the registered per-device actors (<see cref="TunTelemetryBuilder.AddPerDeviceActor"/>) for
    /// every watched device. These actors are internal: a host talks to them only through what it registers.
    /// </summary>
    /// <remarks>
    /// A guest in the host's actor system: it adds three dispatchers of its own (<see cref="NetlinkDispatcher"/>,
    /// <see cref="ControlDispatcher"/>, <see cref="ReaderDispatcher"/>) and changes nothing of the host's, neither <c>akka.scheduler</c> nor the default
    /// dispatcher. The agent's scheduler is one call away: <see cref="WithTunTelemetryScheduler"/>.
    /// </remarks>
    public static AkkaConfigurationBuilder WithTunTelemetry(
        this AkkaConfigurationBuilder builder, TunTelemetryOptions options, Action<TunTelemetryBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        var setup = new TunTelemetryBuilder(options);
        configure?.Invoke(setup);

        // Appended: the host's own HOCON (e.g. hocon.conf) overrides them.
        builder.AddHocon(NetlinkDispatcher.Hocon, HoconAddMode.Append);
        builder.AddHocon(ControlDispatcher.Hocon, HoconAddMode.Append);
        builder.AddHocon(ReaderDispatcher.Hocon, HoconAddMode.Append);
        return builder.WithActors((system, registry, resolver) =>
        {
            Meter meter = setup.Meter
                ?? resolver.GetService<IMeterFactory>()?.Create(TunDeviceMetrics.MeterName, typeof(TunDeviceMetrics).Assembly.GetName().Version?.ToString(3))
                ?? new Meter(TunDeviceMetrics.MeterName);
            var metrics = new TunDeviceMetrics(meter, options.DetailedMetrics, options.MaxDevices, setup.Instruments);
            if (options.AllNamespaces)
            {
                // Every series of this mode names its namespace, the agent's own included.
                metrics.OwnNamespace = DeviceNamespace.Own();
            }

            var aggregator = system.ActorOf(MetricsAggregatorActor.Props(metrics, options.RetainDeleted).WithDispatcher(options.ControlDispatcher), "metrics");
            registry.Register<MetricsAggregatorActor>(aggregator);

            // On a thread of its own: a /proc scan must hold neither a poller's thread nor the aggregator's.
            var readers = system.ActorOf(ReaderScanActor.Props(aggregator, options).WithDispatcher(ReaderDispatcher.Id), "readers");
            registry.Register<ReaderScanActor>(readers);

            var supervisor = system.ActorOf(
                DeviceSupervisorActor.Props(options, aggregator, setup.Registrations(), setup.LinkEventsFactory(), setup.NameResolver(), readers)
                    .WithDispatcher(options.ControlDispatcher),
                "devices");
            registry.Register<DeviceSupervisorActor>(supervisor);

            if (options.AllNamespaces && setup.WatchKernel)
            {
                system.ActorOf(NamespacesActor.Props(supervisor, options).WithDispatcher(options.ControlDispatcher), "namespaces");
            }
        });
    }

    /// <summary>
    /// Runs the whole actor system on TunTelemetry's scheduler (a thirtieth of the poll interval per tick, within
    /// 100 ms to 500 ms): one thread woken once per tick that has work, where Akka's wakes
    /// the .NET timer thread and thread-pool workers every tick. The agent uses it; a host that embeds the library and
    /// wants the same low idle cost calls it too. Appended, so <c>akka.scheduler</c> settings of the host win.
    /// </summary>
    public static AkkaConfigurationBuilder WithTunTelemetryScheduler(this AkkaConfigurationBuilder builder, TunTelemetryOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        return builder.AddHocon(options.SchedulerHocon, HoconAddMode.Append);
    }
}
