using System.Text.Json;
using TunTelemetry.Agent.Demo;
using TunTelemetry.Devices;
using TunTelemetry.IntegrationTests.Otlp;
using TunTelemetry.IntegrationTests.Support;
using TunTelemetry.Metrics;
using Xunit;

namespace TunTelemetry.IntegrationTests.EndToEnd;

/// <summary>The agent's command line as a user types it: snapshot, bad input, privileges.</summary>
public sealed class CommandLineTests
{
    private static readonly Dictionary<string, string> NoEnvironment = [];

    private static (int ExitCode, string Output) Run(params string[] arguments) => RunAs(asNobody: false, arguments);

    private static (int ExitCode, string Output) RunAs(bool asNobody, params string[] arguments)
    {
        using AgentProcess agent = AgentProcess.Start(NoEnvironment, asNobody, arguments);
        int exitCode = agent.WaitForExit(TimeSpan.FromSeconds(60));
        return (exitCode, agent.Output);
    }

    [NetAdminFact]
    public void Snapshot_json_prints_the_sysfs_values_of_tun_and_tap_devices_and_no_other_links()
    {
        using DroppingTunDevice tun = DroppingTunDevice.Create(TunDeviceKind.Tun);
        using DroppingTunDevice tap = DroppingTunDevice.Create(TunDeviceKind.Tap);
        tun.SendPackets(1200);
        tap.SendPackets(1700); // a TAP device queues 1,000 (txqueuelen), a TUN device 500

        (int exitCode, string output) = Run("snapshot", "--json");
        Assert.Equal(0, exitCode);
        JsonElement[] devices = JsonDocument.Parse(output).RootElement.EnumerateArray().ToArray();

        Assert.All(devices, d => Assert.Contains(d.GetProperty("kind").GetString(), new[] { "tun", "tap" }));
        Assert.DoesNotContain(devices, d => d.GetProperty("name").GetString() == "lo");
        foreach ((DroppingTunDevice device, string kind) in new[] { (tun, "tun"), (tap, "tap") })
        {
            JsonElement entry = Assert.Single(devices, d => d.GetProperty("name").GetString() == device.Name);
            Assert.Equal(device.IfIndex, entry.GetProperty("ifindex").GetInt32());
            Assert.Equal(kind, entry.GetProperty("kind").GetString());
            JsonElement stats = entry.GetProperty("stats");
            IReadOnlyDictionary<string, ulong> sysfs = Sysfs.Statistics(device.Name);
            foreach ((string field, ulong value) in sysfs)
            {
                Assert.Equal(value, stats.GetProperty(field).GetUInt64());
            }

            Assert.Equal(sysfs.Count + 1, stats.EnumerateObject().Count()); // + rx_otherhost_dropped, which sysfs lacks
            Assert.True(stats.GetProperty("tx_dropped").GetUInt64() > 0);
        }
    }

    [NetAdminFact]
    public void Snapshot_with_all_links_and_names_shows_any_link()
    {
        using DroppingTunDevice tun = DroppingTunDevice.Create();
        (int exitCode, string output) = Run("snapshot", "--json", "lo", tun.Name);
        Assert.Equal(0, exitCode);
        string[] names = JsonDocument.Parse(output).RootElement.EnumerateArray().Select(d => d.GetProperty("name").GetString()!).ToArray();
        Assert.Equal(["lo", tun.Name], names);

        (exitCode, output) = Run("snapshot", "--all-links");
        Assert.Equal(0, exitCode);
        Assert.Contains("loopback", output, StringComparison.Ordinal);
        Assert.Contains(tun.Name, output, StringComparison.Ordinal);
    }

    [Fact]
    public void Snapshot_of_a_device_that_does_not_exist_fails_with_one_line_naming_it()
    {
        (int exitCode, string output) = Run("snapshot", "nosuchdev9");
        Assert.NotEqual(0, exitCode);
        Assert.Equal("tuntelemetry: no such device: nosuchdev9", output.Trim());
    }

    [NetAdminFact]
    public void Reading_stats_needs_no_privilege_snapshot_as_nobody_without_capabilities()
    {
        using DroppingTunDevice tun = DroppingTunDevice.Create();
        tun.SendPackets(900);
        (int exitCode, string output) = RunAs(asNobody: true, "snapshot", "--json", tun.Name);
        Assert.True(exitCode == 0, output);
        JsonElement stats = JsonDocument.Parse(output).RootElement[0].GetProperty("stats");
        Assert.Equal(Sysfs.Statistic(tun.Name, "tx_dropped"), stats.GetProperty("tx_dropped").GetUInt64());
        Assert.Equal(400UL, stats.GetProperty("tx_dropped").GetUInt64());
    }

    [NetAdminFact]
    public async Task The_agent_runs_as_nobody_and_exports_exact_drops()
    {
        string prefix = $"tn{Random.Shared.Next(0, 0xffffff):x6}";
        await using OtlpTestReceiver receiver = await OtlpTestReceiver.StartAsync();
        using DroppingTunDevice tun = DroppingTunDevice.Create(name: prefix + "a");
        tun.SendPackets(1100);
        var environment = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.GrpcEndpoint.ToString().TrimEnd('/'),
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "300",
        };
        using AgentProcess agent = AgentProcess.Start(environment, asNobody: true, "run", "--no-console", "--poll-interval", "300ms", "--include", $"^{prefix}");
        await receiver.WaitForAsync(
            r => r.Latest(MetricNames.TxQueueDrops, (MetricNames.InterfaceName, tun.Name))?.AsInt == 600,
            TimeSpan.FromSeconds(60), $"600 drops of {tun.Name} from the unprivileged agent\n{agent.Output}");
        Assert.Equal(0, agent.Terminate(TimeSpan.FromSeconds(30)));
    }

    [Theory]
    [InlineData("--poll-interval 0s", "tuntelemetry.poll-interval")]
    [InlineData("--poll-interval soon", "--poll-interval")]
    [InlineData("--kind tuntap", "--kind")]
    [InlineData("--include (", "tuntelemetry.devices.include")]
    [InlineData("--config /nonexistent/hocon.conf", "--config")]
    [InlineData("--frobnicate", "--frobnicate")]
    [InlineData("--log-level loud", "--log-level")]
    [InlineData("--prometheus-listen 9464", "--prometheus-listen")]
    [InlineData("--prometheus-listen 127.0.0.1:70000", "--prometheus-listen")]
    public void A_bad_option_is_a_one_line_error_naming_it_with_exit_code_2(string arguments, string named)
    {
        (int exitCode, string output) = Run(["run", .. arguments.Split(' ')]);
        Assert.Equal(2, exitCode);
        string line = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(named, line, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_configuration_file_value_is_a_one_line_error_with_exit_code_2()
    {
        string path = Path.Combine(Path.GetTempPath(), $"tt-{Guid.NewGuid():N}.conf");
        File.WriteAllText(path, "tuntelemetry { backoff { random-factor = 3 } }");
        try
        {
            (int exitCode, string output) = Run("run", "--config", path);
            Assert.Equal(2, exitCode);
            Assert.Equal("tuntelemetry: invalid configuration: tuntelemetry.backoff.random-factor: '3' is not a number from 0 to 1",
                output.Trim());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Help_explains_every_run_option()
    {
        (int exitCode, string output) = Run("run", "--help");
        Assert.Equal(0, exitCode);
        foreach (string option in new[] { "--config", "--poll-interval", "--include", "--exclude", "--kind", "--console", "--no-console", "--log-level" })
        {
            Assert.Contains(option, output, StringComparison.Ordinal);
        }
    }
}
