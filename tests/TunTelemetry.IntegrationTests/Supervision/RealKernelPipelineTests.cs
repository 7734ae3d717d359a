using System.Diagnostics.Metrics;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using TunTelemetry.Agent.Demo;
using TunTelemetry.Devices;
using TunTelemetry.Hosting;
using TunTelemetry.IntegrationTests.Support;
using TunTelemetry.Metrics;
using TunTelemetry.Supervision;
using TunTelemetry.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace TunTelemetry.IntegrationTests.Supervision;

/// <summary>
/// The real actor system with the real scheduler, real discovery and real sockets on a real TUN device that drops.
/// </summary>
public sealed class RealKernelPipelineTests(ITestOutputHelper output) : TestKit(RealTimeTestConfig.AsShipped, output: output)
{
    [NetAdminFact]
    public void Exported_txq_drops_equal_the_kernels_tx_dropped()
    {
        using DroppingTunDevice tun = DroppingTunDevice.Create();
        using var meter = new Meter($"TunTelemetry.Test.{Guid.NewGuid():N}");
        using var export = new MeterExport(meter);
        TunTelemetryOptions options = TunTelemetryOptions.Default with
        {
            PollInterval = TimeSpan.FromMilliseconds(200),
            NetlinkTimeout = TimeSpan.FromMilliseconds(100),
            Devices = new DeviceSelection(include: [$"^{tun.Name}$"]),
        };
        IActorRef aggregator = Sys.ActorOf(MetricsAggregatorActor.Props(new TunDeviceMetrics(meter, detailed: false)));
        var builder = new TunTelemetryBuilder(options);
        Sys.ActorOf(DeviceSupervisorActor.Props(options, aggregator, builder.Registrations(), builder.LinkEventsFactory(), builder.NameResolver()));

        AwaitAssert(() => Assert.NotNull(export.Export().Value(MetricNames.TxQueueDrops, tun.Name)), TimeSpan.FromSeconds(30));
        Assert.Equal(0, export.Export().Value(MetricNames.TxQueueDrops, tun.Name));

        tun.SendPackets(2000);
        AwaitAssert(() => Assert.Equal(1500, export.Export().Value(MetricNames.TxQueueDrops, tun.Name)), TimeSpan.FromSeconds(30));
        Assert.Equal((long)Sysfs.Statistic(tun.Name, "tx_dropped"), export.Export().Value(MetricNames.TxQueueDrops, tun.Name));

        tun.SendPackets(700);
        AwaitAssert(() => Assert.Equal((long)Sysfs.Statistic(tun.Name, "tx_dropped"), export.Export().Value(MetricNames.TxQueueDrops, tun.Name)), TimeSpan.FromSeconds(30));
        Assert.Equal(2200, export.Export().Value(MetricNames.TxQueueDrops, tun.Name));
        Assert.Equal(2200, export.Export().Value(MetricNames.NetworkPacketDropped, tun.Name, (MetricNames.Direction, MetricNames.Transmit)));
    }
}
