using TunTelemetry.Agent.Demo;
using TunTelemetry.IntegrationTests.Otlp;
using TunTelemetry.IntegrationTests.Support;
using TunTelemetry.Metrics;
using Xunit;
using Xunit.Abstractions;

namespace TunTelemetry.IntegrationTests.EndToEnd;

/// <summary>
/// The whole agent as users run it (a child process, the real OTLP exporter) against a real OTLP receiver on
/// loopback, on real TUN devices that drop packets for real.
/// </summary>
public sealed class AgentExportTests(ITestOutputHelper output)
{
    private const int PollMs = 300;
    private const int ExportMs = 300;
    // How long to wait for an export or a console block: start-up alone can take seconds on a busy machine.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static Dictionary<string, string> Environment(OtlpTestReceiver receiver, string protocol, int exportMs = ExportMs) => new()
    {
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = (protocol == "grpc" ? receiver.GrpcEndpoint : receiver.HttpEndpoint).ToString().TrimEnd('/'),
        ["OTEL_EXPORTER_OTLP_PROTOCOL"] = protocol,
        ["OTEL_METRIC_EXPORT_INTERVAL"] = exportMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["OTEL_RESOURCE_ATTRIBUTES"] = "deployment.environment.name=e2e",
        ["OTEL_EXPORTER_OTLP_HEADERS"] = "x-tenant=e2e-tenant",
    };

    private static long? Drops(OtlpTestReceiver receiver, string device) =>
        receiver.Latest(MetricNames.TxQueueDrops, (MetricNames.InterfaceName, device))?.AsInt;

    [NetAdminTheory]
    [InlineData("grpc")]
    [InlineData("http/protobuf")]
    public async Task Exports_exact_drops_follows_devices_and_ends_with_a_final_export_on_SIGTERM(string protocol)
    {
        string prefix = $"te{Random.Shared.Next(0, 0xffffff):x6}";
        await using OtlpTestReceiver receiver = await OtlpTestReceiver.StartAsync();
        using DroppingTunDevice first = DroppingTunDevice.Create(name: prefix + "a");
        first.SendPackets(2000);

        using AgentProcess agent = AgentProcess.Start(Environment(receiver, protocol),
            "run", "--no-console", "--poll-interval", $"{PollMs}ms", "--include", $"^{prefix}");
        try
        {
            // The drops made before start are counted in full, on both the seed's metric and the semantic-convention one.
            // (An export may fall between two instruments' updates of one poll, so wait for both.)
            long? TransmitDropped(OtlpTestReceiver r) => r.Latest(MetricNames.NetworkPacketDropped,
                (MetricNames.InterfaceName, first.Name), (MetricNames.Direction, MetricNames.Transmit))?.AsInt;
            await receiver.WaitForAsync(r => Drops(r, first.Name) == 1500 && TransmitDropped(r) == 1500, Patience,
                $"tundev.txq.drops and system.network.packet.dropped of {first.Name} = 1500");
            Assert.Equal((long)Sysfs.Statistic(first.Name, "tx_dropped"), Drops(receiver, first.Name));
            Assert.Equal((long)Sysfs.Statistic(first.Name, "tx_dropped"), TransmitDropped(receiver));

            IReadOnlyDictionary<string, object> resource = receiver.LatestResource!;
            Assert.Equal("tuntelemetry", resource["service.name"]);
            Assert.False(string.IsNullOrEmpty(resource["service.version"] as string));
            Assert.Equal(System.Environment.MachineName, resource["host.name"]);
            Assert.Equal("e2e", resource["deployment.environment.name"]);
            Assert.Contains("x-tenant: e2e-tenant", receiver.Headers); // OTEL_EXPORTER_OTLP_HEADERS reaches the collector
            // Counters are cumulative (OTLP temporality 2) unless OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE says otherwise.
            Assert.All(
                receiver.Received.SelectMany(e => e).SelectMany(r => r.Metrics).Where(m => m.Name == MetricNames.TxQueueDrops),
                m => Assert.Equal(2, m.Temporality));

            // A device created while the agent runs is found and exported. (The agent never lists devices again after
            // start-up, so only the link notification can find it; TunLinkEventsTests checks that path alone. The
            // latency is printed, not asserted: a busy machine may stretch it by seconds.)
            using DroppingTunDevice second = DroppingTunDevice.Create(name: prefix + "b");
            DateTime created = DateTime.UtcNow;
            await receiver.WaitForAsync(r => Drops(r, second.Name) == 0, Patience, $"a series for {second.Name}");
            output.WriteLine($"new device exported after {(DateTime.UtcNow - created).TotalMilliseconds:0} ms (poll {PollMs} ms, export {ExportMs} ms)");

            // Deleted and re-created under the same name: the new device counts from zero on top of the old total.
            string name = first.Name;
            first.Dispose();
            using DroppingTunDevice reborn = DroppingTunDevice.Create(name: name);
            reborn.SendPackets(900);
            DateTime dropped = DateTime.UtcNow;
            await receiver.WaitForAsync(r => Drops(r, name) == 1500 + 400, Patience, $"{name} re-created: 1500 + 400");
            // Kernel-to-collector latency: bounded by one poll interval plus one export interval (plus the transfer).
            output.WriteLine($"drops reached the collector {(DateTime.UtcNow - dropped).TotalMilliseconds:0} ms after they happened (poll {PollMs} ms, export {ExportMs} ms)");

            // SIGTERM: exit code 0 after a final export that carries the last poll. (That the final export is one of
            // its own, not a periodic one, is A_final_export_happens_on_SIGTERM_even_between_export_intervals.)
            second.SendPackets(600);
            await receiver.WaitForAsync(r => Drops(r, second.Name) == 100, Patience, $"100 drops of {second.Name}");
            int exports = receiver.Exports;
            Assert.Equal(0, agent.Terminate(TimeSpan.FromSeconds(30)));
            Assert.True(receiver.Exports > exports, "a final export after SIGTERM");
            Assert.Equal(100, Drops(receiver, second.Name));
        }
        finally
        {
            output.WriteLine(agent.Output);
        }
    }

    [NetAdminFact]
    public async Task A_final_export_happens_on_SIGTERM_even_between_export_intervals()
    {
        string prefix = $"tf{Random.Shared.Next(0, 0xffffff):x6}";
        await using OtlpTestReceiver receiver = await OtlpTestReceiver.StartAsync();
        using DroppingTunDevice tun = DroppingTunDevice.Create(name: prefix + "a");
        // The console view shows each poll's reading once the aggregator has it: what the test waits for.
        using AgentProcess agent = AgentProcess.Start(Environment(receiver, "grpc", exportMs: 600_000),
            "run", "--console", "--poll-interval", "200ms", "--include", $"^{prefix}");
        try
        {
            await agent.WaitForAsync(a => a.ConsoleTxDropped(tun.Name) == 0, Patience, $"a first reading of {tun.Name}");
            tun.SendPackets(800);
            await agent.WaitForAsync(a => a.ConsoleTxDropped(tun.Name) == 300, Patience, $"300 drops of {tun.Name} polled");
            Assert.Equal(0, receiver.Exports); // the first periodic export is ten minutes away

            Assert.Equal(0, agent.Terminate(TimeSpan.FromSeconds(30)));
            Assert.Equal(300, Drops(receiver, tun.Name));
            Assert.Contains("Exiting with [ExitCode:0]", agent.Output, StringComparison.Ordinal);
        }
        finally
        {
            output.WriteLine(agent.Output);
        }
    }

    [NetAdminFact]
    public async Task Ctrl_C_ends_the_agent_with_a_final_export_and_exit_code_0()
    {
        string prefix = $"tg{Random.Shared.Next(0, 0xffffff):x6}";
        await using OtlpTestReceiver receiver = await OtlpTestReceiver.StartAsync();
        using DroppingTunDevice tun = DroppingTunDevice.Create(name: prefix + "a");
        using AgentProcess agent = AgentProcess.Start(Environment(receiver, "http/protobuf", exportMs: 600_000),
            "run", "--console", "--poll-interval", "200ms", "--include", $"^{prefix}");
        try
        {
            tun.SendPackets(650);
            // The console view shows the reading once the aggregator has it.
            await agent.WaitForAsync(a => a.ConsoleTxDropped(tun.Name) == 150, Patience, $"150 drops of {tun.Name} polled");
            Assert.Equal(0, receiver.Exports);
            Assert.Equal(0, agent.Interrupt(TimeSpan.FromSeconds(30)));
            Assert.Equal(150, Drops(receiver, tun.Name));
        }
        finally
        {
            output.WriteLine(agent.Output);
        }
    }

    [NetAdminFact]
    public async Task A_collector_that_comes_up_late_receives_the_correct_cumulative_totals()
    {
        string prefix = $"tl{Random.Shared.Next(0, 0xffffff):x6}";
        await using OtlpTestReceiver receiver = await OtlpTestReceiver.StartAsync();
        await receiver.StopAsync(); // the collector is down when the agent starts
        using DroppingTunDevice tun = DroppingTunDevice.Create(name: prefix + "a");
        // The console view shows each poll's reading once the aggregator has it, and counts the failed exports.
        using AgentProcess agent = AgentProcess.Start(Environment(receiver, "grpc"),
            "run", "--console", "--poll-interval", $"{PollMs}ms", "--include", $"^{prefix}");
        try
        {
            tun.SendPackets(1000);
            await agent.WaitForAsync(a => a.ConsoleTxDropped(tun.Name) == 500 && a.ConsoleExportFailures() >= 3, Patience,
                $"500 drops of {tun.Name} polled and several failed exports");
            tun.SendPackets(250);
            await agent.WaitForAsync(a => a.ConsoleTxDropped(tun.Name) == 750, Patience, $"750 drops of {tun.Name} polled");

            await receiver.StartAgainAsync();
            await receiver.WaitForAsync(r => r.Exports > 0, Patience, "an export after the collector came back");
            Assert.Equal(750, Drops(receiver, tun.Name));
        }
        finally
        {
            output.WriteLine(agent.Output);
        }
    }
}
