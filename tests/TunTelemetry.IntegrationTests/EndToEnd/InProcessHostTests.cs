using Akka.Configuration;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Exporter;
using TunTelemetry.Agent;
using TunTelemetry.Agent.Demo;
using TunTelemetry.Devices;
using TunTelemetry.Hosting;
using TunTelemetry.IntegrationTests.Otlp;
using TunTelemetry.IntegrationTests.Support;
using TunTelemetry.Metrics;
using TunTelemetry.Netlink;
using Xunit;

namespace TunTelemetry.IntegrationTests.EndToEnd;

/// <summary>
/// The full host in this process, so a fault can be injected where the kernel cannot produce one on demand: a device
/// whose every poll fails. Everything else is real: devices, sockets, actors, exporter, receiver.
/// </summary>
[Collection(InProcessAgentHostCollection.Name)]
public sealed class InProcessHostTests
{
    [NetAdminFact]
    public async Task A_device_whose_polls_always_fail_has_no_series_while_others_export()
    {
        string prefix = $"tp{Random.Shared.Next(0, 0xffffff):x6}";
        await using OtlpTestReceiver receiver = await OtlpTestReceiver.StartAsync();
        using DroppingTunDevice healthy = DroppingTunDevice.Create(name: prefix + "ok");
        using DroppingTunDevice broken = DroppingTunDevice.Create(name: prefix + "bad");
        healthy.SendPackets(800);
        broken.SendPackets(800);

        TunTelemetryOptions options = TunTelemetryOptions.Default with
        {
            PollInterval = TimeSpan.FromMilliseconds(200),
            NetlinkTimeout = TimeSpan.FromMilliseconds(100),
            Devices = new DeviceSelection(include: [$"^{prefix}"]),
            Backoff = new BackoffSettings(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(200), 0, -1, TimeSpan.FromMinutes(5)),
        };
        var configuration = new Dictionary<string, string?>
        {
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "200",
        };
        using IHost host = AgentHost.Build(Config.Empty, options, console: false,
            t => t.UseLinkStatsReader(() => new FailingFor(broken.IfIndex, RouteSocket.Open())), configuration,
            exporter =>
            {
                exporter.Endpoint = receiver.GrpcEndpoint;
                exporter.Protocol = OtlpExportProtocol.Grpc;
            });
        await host.StartAsync();
        try
        {
            await receiver.WaitForAsync(
                r => r.Latest(MetricNames.TxQueueDrops, (MetricNames.InterfaceName, healthy.Name))?.AsInt == 300
                    && r.Latest(MetricNames.PollFailures, (MetricNames.InterfaceName, broken.Name), (MetricNames.ErrorType, "timeout"))?.AsInt > 3,
                TimeSpan.FromSeconds(60), "the healthy device's drops and the broken one's failures");

            foreach (LinkStatsMetricBinding binding in LinkStatsMetricMap.Bindings.Where(b => !b.Detailed))
            {
                Assert.DoesNotContain(broken.Name, receiver.DevicesOf(binding.Metric));
                Assert.Contains(healthy.Name, receiver.DevicesOf(binding.Metric));
            }

            Assert.True(receiver.Latest(MetricNames.PollerRestarts, (MetricNames.InterfaceName, broken.Name))?.AsInt > 3);
            Assert.Equal(2, receiver.Latest(MetricNames.DevicesWatched)?.AsInt);
            Assert.True(receiver.Latest(MetricNames.PollDuration)?.Count > 0);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    /// <summary>A real socket that times out for one device.</summary>
    private sealed class FailingFor(int ifIndex, RouteSocket real) : ILinkStatsReader
    {
        public LinkStats64 Read(int index) => index == ifIndex ? throw new NetlinkSocketException("recv", Errno.EAGAIN) : real.ReadStats(LinkTarget.Own, index, name: null);

        public void Dispose() => real.Dispose();
    }
}
