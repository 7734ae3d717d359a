using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using TunTelemetry.Agent.Demo;
using TunTelemetry.IntegrationTests.Otlp;
using TunTelemetry.IntegrationTests.Support;
using TunTelemetry.Metrics;
using Xunit;
using Xunit.Abstractions;

namespace TunTelemetry.IntegrationTests.Prometheus;

/// <summary>
/// The agent's Prometheus scrape endpoint on real TUN devices that drop packets for real: read directly, and scraped
/// by Debian's real Prometheus server. Everything listens on loopback, on ports free at the time.
/// </summary>
public sealed class PrometheusScrapeTests(ITestOutputHelper output)
{
    // tundev.txq.drops, unit {packet}, as Prometheus names a counter: dots to underscores, a braced unit dropped, _total.
    private const string DropsSeries = "tundev_txq_drops_total";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [NetAdminFact]
    public async Task Serves_the_kernels_tx_dropped_beside_OTLP_at_the_listen_address()
    {
        string prefix = $"tp{Random.Shared.Next(0, 0xffffff):x6}";
        await using OtlpTestReceiver receiver = await OtlpTestReceiver.StartAsync();
        using DroppingTunDevice tun = DroppingTunDevice.Create(name: prefix + "a");
        tun.SendPackets(2000);
        ulong kernel = Sysfs.Statistic(tun.Name, "tx_dropped");
        Assert.Equal(1500UL, kernel);

        int port = PrometheusServer.FreeLoopbackPort();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var environment = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.GrpcEndpoint.ToString().TrimEnd('/'),
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "300",
        };
        using AgentProcess agent = AgentProcess.Start(environment,
            "run", "--no-console", "--poll-interval", "300ms", "--include", $"^{prefix}", "--prometheus-listen", $"127.0.0.1:{port}");
        try
        {
            Uri metrics = new($"http://127.0.0.1:{port}/metrics");
            await WaitAsync(async () => ScrapedValue(await GetOrEmptyAsync(http, metrics), tun.Name) == kernel,
                $"{DropsSeries} of {tun.Name} = {kernel} at {metrics}");

            // Beside OTLP, not instead of it: the collector gets the same total.
            await receiver.WaitForAsync(r => r.Latest(MetricNames.TxQueueDrops, (MetricNames.InterfaceName, tun.Name))?.AsInt == (long)kernel,
                Patience, $"tundev.txq.drops of {tun.Name} over OTLP");
            Assert.Equal(0, agent.Terminate(TimeSpan.FromSeconds(30)));
        }
        finally
        {
            output.WriteLine(agent.Output);
        }
    }

    [NetAdminFact]
    public async Task Prometheus_scrapes_the_agent_and_reads_back_the_kernels_tx_dropped()
    {
        string? server = DebianProgram.Find("prometheus");
        if (server is null)
        {
            const string Missing = "the prometheus server is needed (Debian package prometheus; .ci/run installs it)";
            Assert.False(NetAdmin.Required, Missing);
            output.WriteLine($"not run: {Missing}");
            return;
        }

        string prefix = $"tq{Random.Shared.Next(0, 0xffffff):x6}";
        using DroppingTunDevice tun = DroppingTunDevice.Create(name: prefix + "a");
        tun.SendPackets(1700);
        ulong kernel = Sysfs.Statistic(tun.Name, "tx_dropped");
        Assert.Equal(1200UL, kernel);

        // OTLP off, Prometheus on at the address OTEL_EXPORTER_PROMETHEUS_HOST/_PORT name (no --prometheus-listen).
        int agentPort = PrometheusServer.FreeLoopbackPort();
        var environment = new Dictionary<string, string>
        {
            ["OTEL_METRICS_EXPORTER"] = "prometheus",
            ["OTEL_EXPORTER_PROMETHEUS_HOST"] = "127.0.0.1",
            ["OTEL_EXPORTER_PROMETHEUS_PORT"] = agentPort.ToString(CultureInfo.InvariantCulture),
        };
        using AgentProcess agent = AgentProcess.Start(environment,
            "run", "--console", "--poll-interval", "300ms", "--include", $"^{prefix}");

        using PrometheusServer prometheus = PrometheusServer.Start(server, $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: tuntelemetry
                static_configs:
                  - targets: ["127.0.0.1:{agentPort}"]
            """);
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            string query = Uri.EscapeDataString($"{DropsSeries}{{network_interface_name=\"{tun.Name}\"}}");
            Uri api = new(prometheus.Address, $"api/v1/query?query={query}");
            await WaitAsync(async () => QueriedValue(await GetOrEmptyAsync(http, api)) == kernel,
                $"Prometheus at {prometheus.Address} to return {DropsSeries}{{network_interface_name=\"{tun.Name}\"}} = {kernel}",
                () => $"\nprometheus:\n{prometheus.Output}");

            Assert.False(prometheus.HasExited);
            Assert.Equal(0, agent.Terminate(TimeSpan.FromSeconds(30)));
            // No collector is asked, so none fails: the console view carries no export failures.
            Assert.DoesNotContain("OTLP export failed", agent.Output, StringComparison.Ordinal);
            Assert.Contains($"serving Prometheus metrics", agent.Output, StringComparison.Ordinal);
        }
        finally
        {
            output.WriteLine(agent.Output);
        }
    }

    [Fact]
    public void A_taken_port_ends_the_agent_with_one_line_naming_the_address()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        using AgentProcess agent = AgentProcess.Start(new Dictionary<string, string>(),
            "run", "--no-console", "--include", "^no-such-device$", "--prometheus-listen", $"127.0.0.1:{port}");

        Assert.Equal(1, agent.WaitForExit(Patience));
        Assert.Contains($"tuntelemetry: cannot serve Prometheus metrics on 127.0.0.1:{port}: Address already in use", agent.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", agent.Output, StringComparison.Ordinal);
    }

    /// <summary>The sample value of the device's drops series in a text-format scrape; null when it is not there.</summary>
    internal static ulong? ScrapedValue(string scrape, string device)
    {
        // NAME{...,network_interface_name="DEV",...} VALUE [TIMESTAMP]
        Match sample = Regex.Match(scrape,
            $@"^{DropsSeries}\{{[^}}\n]*network_interface_name=""{Regex.Escape(device)}""[^}}\n]*\}} (\S+)",
            RegexOptions.Multiline);
        return sample.Success && double.TryParse(sample.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
            ? (ulong)value
            : null;
    }

    /// <summary>The single sample of an instant query's vector result; null for none, several or an error.</summary>
    private static ulong? QueriedValue(string json)
    {
        if (json.Length == 0)
        {
            return null;
        }

        using var document = JsonDocument.Parse(json);
        JsonElement root = document.RootElement;
        if (root.GetProperty("status").GetString() != "success")
        {
            return null;
        }

        JsonElement result = root.GetProperty("data").GetProperty("result");
        // Each sample is [time, "value"].
        return result.GetArrayLength() == 1
            && double.TryParse(result[0].GetProperty("value")[1].GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
            ? (ulong)value
            : null;
    }

    private static async Task<string> GetOrEmptyAsync(HttpClient http, Uri uri)
    {
        try
        {
            return await http.GetStringAsync(uri);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return string.Empty; // not listening yet
        }
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, string what, Func<string>? detail = null)
    {
        var waited = Stopwatch.StartNew();
        while (!await condition())
        {
            if (waited.Elapsed > Patience)
            {
                throw new TimeoutException($"no {what} within {Patience}{detail?.Invoke()}");
            }

            await Task.Delay(100);
        }
    }
}
