using TunTelemetry.Agent.Demo;
using TunTelemetry.IntegrationTests.Otlp;
using TunTelemetry.IntegrationTests.Support;
using TunTelemetry.Metrics;
using Xunit;
using Xunit.Abstractions;

namespace TunTelemetry.IntegrationTests.EndToEnd;

/// <summary>
/// The agent from <c>dotnet publish -c Release</c>, run from the publish directory as the systemd unit runs it from
/// /opt/tuntelemetry: what a user installs, not the Debug build output the other end-to-end tests run.
/// </summary>
public sealed class PublishedAgentTests(PublishedAgent published, ITestOutputHelper output) : IClassFixture<PublishedAgent>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private static readonly Dictionary<string, string> NoEnvironment = [];

    [Fact]
    public void Publish_ships_the_default_configuration_the_manual_and_the_licence_next_to_the_agent()
    {
        foreach (string file in (string[])["hocon.conf", "README.md", "LICENSE"])
        {
            Assert.Equal(
                File.ReadAllText(Path.Combine(AgentProcess.RepositoryRoot, file)),
                File.ReadAllText(Path.Combine(published.Directory, file)));
        }
    }

    [Fact]
    public void Version_prints_the_project_version_alone()
    {
        using AgentProcess agent = AgentProcess.StartFrom(published.Directory, NoEnvironment, "--version");
        Assert.Equal(0, agent.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Equal(PublishedAgent.ProjectVersion + System.Environment.NewLine, agent.Output);
    }

    [NetAdminFact]
    public async Task Exports_a_real_devices_tx_dropped_to_a_collector()
    {
        string prefix = $"tp{Random.Shared.Next(0, 0xffffff):x6}";
        await using OtlpTestReceiver receiver = await OtlpTestReceiver.StartAsync();
        using DroppingTunDevice tun = DroppingTunDevice.Create(name: prefix + "a");
        tun.SendPackets(2000); // 500 fill the TX queue, 1500 are dropped
        var environment = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.GrpcEndpoint.ToString().TrimEnd('/'),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
        };

        using AgentProcess agent = AgentProcess.StartFrom(published.Directory, environment,
            "run", "--no-console", "--poll-interval", "500ms", "--include", $"^{prefix}");
        try
        {
            long? Drops(OtlpTestReceiver r) => r.Latest(MetricNames.TxQueueDrops, (MetricNames.InterfaceName, tun.Name))?.AsInt;
            await receiver.WaitForAsync(r => Drops(r) == 1500, Patience, $"tundev.txq.drops of {tun.Name} = 1500");
            Assert.Equal((long)Sysfs.Statistic(tun.Name, "tx_dropped"), Drops(receiver));
            Assert.Equal(PublishedAgent.ProjectVersion, receiver.LatestResource!["service.version"]);
            Assert.Equal(0, agent.Terminate(TimeSpan.FromSeconds(30)));
        }
        finally
        {
            output.WriteLine(agent.Output);
        }
    }
}
