using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using TunTelemetry.Agent.Demo;
using TunTelemetry.IntegrationTests.Otlp;
using TunTelemetry.IntegrationTests.Support;
using TunTelemetry.Metrics;
using Xunit;
using Xunit.Abstractions;

namespace TunTelemetry.IntegrationTests.EndToEnd;

/// <summary>The agent process under a collector outage, over TLS, and with a secret header.</summary>
public sealed class SecurityAndOutageTests(ITestOutputHelper output)
{
    // How long to wait for an export or a console block: start-up alone can take seconds on a busy machine.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static long? Drops(OtlpTestReceiver receiver, string device) =>
        receiver.Latest(MetricNames.TxQueueDrops, (MetricNames.InterfaceName, device))?.AsInt;

    [NetAdminFact]
    public async Task A_collector_outage_loses_nothing_and_the_first_export_after_it_has_the_totals()
    {
        string prefix = $"to{Random.Shared.Next(0, 0xffffff):x6}";
        await using OtlpTestReceiver receiver = await OtlpTestReceiver.StartAsync();
        using DroppingTunDevice tun = DroppingTunDevice.Create(name: prefix + "a");
        var environment = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.GrpcEndpoint.ToString().TrimEnd('/'),
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "250",
        };
        // The console view shows each poll's reading once the aggregator has it, and counts the failed exports.
        using AgentProcess agent = AgentProcess.Start(environment, "run", "--console", "--poll-interval", "250ms", "--include", $"^{prefix}");
        try
        {
            tun.SendPackets(700);
            await receiver.WaitForAsync(r => Drops(r, tun.Name) == 200, Patience, "200 drops before the outage");
            long rssBefore = ResidentKiB(agent.Pid);

            await receiver.StopAsync();
            for (int i = 1; i <= 8; i++) // drops polled one batch at a time while exports fail
            {
                tun.SendPackets(100);
                await agent.WaitForAsync(a => a.ConsoleTxDropped(tun.Name) == (ulong)(200 + (100 * i)), Patience, $"{200 + (100 * i)} drops polled");
            }

            await agent.WaitForAsync(a => a.ConsoleExportFailures() >= 8, Patience, "eight failed exports");
            long rssDuring = ResidentKiB(agent.Pid);
            int before = receiver.Exports;
            await receiver.StartAgainAsync();
            await receiver.WaitForAsync(r => r.Exports > before, Patience, "the first export after the outage");
            Assert.Equal(1000, receiver.Received.Skip(before).Select(e => e.SelectMany(r => r.Metrics)
                .Where(m => m.Name == MetricNames.TxQueueDrops).SelectMany(m => m.Points)
                .FirstOrDefault(p => Equals(p.Attributes[MetricNames.InterfaceName], tun.Name))?.AsInt).First(v => v is not null));
            output.WriteLine($"agent RSS {rssBefore} KiB before the outage, {rssDuring} KiB after {agent.ConsoleExportFailures()} failed exports");
            Assert.Equal(0, agent.Terminate(TimeSpan.FromSeconds(30)));
        }
        finally
        {
            output.WriteLine(agent.Output);
        }
    }

    [NetAdminFact]
    public async Task Exports_over_TLS_to_an_https_endpoint()
    {
        string prefix = $"ts{Random.Shared.Next(0, 0xffffff):x6}";
        using X509Certificate2 certificate = SelfSignedCertificate.Create();
        string trusted = SelfSignedCertificate.WritePublicPem(certificate);
        await using OtlpTestReceiver receiver = await OtlpTestReceiver.StartAsync(certificate);
        using DroppingTunDevice tun = DroppingTunDevice.Create(name: prefix + "a");
        tun.SendPackets(600);
        var environment = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.GrpcEndpoint.ToString().TrimEnd('/'),
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "300",
            ["SSL_CERT_FILE"] = trusted, // OpenSSL's trust store: the agent trusts our throwaway CA and nothing else
        };
        using AgentProcess agent = AgentProcess.Start(environment, "run", "--no-console", "--poll-interval", "300ms", "--include", $"^{prefix}");
        try
        {
            Assert.StartsWith("https://", receiver.GrpcEndpoint.ToString(), StringComparison.Ordinal);
            await receiver.WaitForAsync(r => Drops(r, tun.Name) == 100, Patience, "100 drops over TLS");
        }
        finally
        {
            output.WriteLine(agent.Output);
            File.Delete(trusted);
        }
    }

    [NetAdminFact]
    public async Task Opens_no_listening_port_and_never_logs_header_values()
    {
        const string Secret = "s3cr3t-api-key-0f9a";
        await using OtlpTestReceiver receiver = await OtlpTestReceiver.StartAsync();
        await receiver.StopAsync(); // failing exports are where a careless agent would print its headers
        var environment = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.GrpcEndpoint.ToString().TrimEnd('/'),
            ["OTEL_EXPORTER_OTLP_HEADERS"] = $"api-key={Secret}",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "200",
        };
        using AgentProcess agent = AgentProcess.Start(environment, "run", "--console", "--poll-interval", "200ms");
        // A console block that counts a failed export: the host, the actors and the exporter are all running, and a
        // failure has been handled, so no port opened at start-up is missed and a header printed on failure would show.
        await agent.WaitForAsync(a => a.ConsoleExportFailures() >= 1, Patience, "a failed export in the console view");

        Assert.Empty(ListeningSocketsOf(agent.Pid));
        Assert.Equal(0, agent.Terminate(TimeSpan.FromSeconds(30)));
        Assert.Contains("OTLP export failed", agent.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, agent.Output, StringComparison.Ordinal);
        output.WriteLine(agent.Output);
    }

    private static long ResidentKiB(int pid) =>
        long.Parse(File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);

    /// <summary>TCP/UDP sockets in LISTEN state (or bound UDP) that belong to the process.</summary>
    private static IReadOnlyList<string> ListeningSocketsOf(int pid)
    {
        var inodes = new HashSet<string>();
        foreach (string fd in Directory.GetFiles($"/proc/{pid}/fd"))
        {
            string? target;
            try
            {
                target = new FileInfo(fd).LinkTarget;
            }
            catch (IOException)
            {
                continue; // closed since listed: the agent opens and closes a socket per device of the host
            }

            if (target is not null && target.StartsWith("socket:[", StringComparison.Ordinal))
            {
                inodes.Add(target["socket:[".Length..^1]);
            }
        }

        var listening = new List<string>();
        foreach (string table in new[] { "tcp", "tcp6", "udp", "udp6" })
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/net/{table}").Skip(1))
            {
                string[] c = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                bool isListening = table.StartsWith("tcp", StringComparison.Ordinal) ? c[3] == "0A" : c[2].EndsWith(":0000", StringComparison.Ordinal) && c[3] == "07";
                if (isListening && inodes.Contains(c[9]))
                {
                    listening.Add($"{table} {c[1]}");
                }
            }
        }

        return listening;
    }
}
