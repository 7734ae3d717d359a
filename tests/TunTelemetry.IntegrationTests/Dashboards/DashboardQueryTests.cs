using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using TunTelemetry.Agent.Demo;
using TunTelemetry.IntegrationTests.Support;
using Xunit;
using Xunit.Abstractions;

namespace TunTelemetry.IntegrationTests.Dashboards;

/// <summary>
/// Every dashboard query and every alert rule against Debian's real Prometheus, which scrapes the real agent watching
/// real TUN devices: one that keeps dropping packets, one that dropped once, and, after strace made every netlink
/// receive of the pollers fail until they gave up, a third that drops while being polled again.
/// </summary>
public sealed class DashboardQueryTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [NetAdminFact]
    public async Task Every_panel_query_returns_series_and_every_metric_name_matches_the_collectors_from_prometheus_scraping_an_agent_with_dropping_devices()
    {
        string? server = DebianProgram.Find("prometheus");
        Assert.True(server is not null, "the prometheus server is needed (Debian package prometheus; .ci/run installs it)");
        Assert.True(File.Exists("/usr/bin/strace"), "strace is needed to make polls fail (.ci/run installs it)");

        string prefix = $"td{Random.Shared.Next(0, 0xffffff):x6}";
        using DroppingTunDevice dropping = DroppingTunDevice.Create(name: prefix + "a");
        using DroppingTunDevice droppedOnce = DroppingTunDevice.Create(name: prefix + "b");
        droppedOnce.SendPackets(1700);

        // A multi-queue device held by a real process, one of its two queues detached: the queue and reader panels.
        using TunHolder multiQueue = await TunHolder.StartAsync(prefix + "m", null, "--queues", "2", "--detach", "1");
        // Its holder in a cgroup with a CPU quota: the reader CPU and throttling panel.
        using TestCgroup limited = TestCgroup.CreateWithQuota(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(100));
        limited.Add(multiQueue.Pid);

        // Pollers give up after 3 failures in a row, retried within a fraction of a second; every metric exported.
        string agentConfig = Path.Combine(Path.GetTempPath(), $"tt-dash-{Guid.NewGuid():N}.conf");
        File.WriteAllText(agentConfig, "tuntelemetry {\n  backoff { min = 100ms, max = 200ms, max-retries = 3 }\n  metrics { detailed = on }\n}\n");
        int agentPort = PrometheusServer.FreeLoopbackPort();
        var environment = new Dictionary<string, string>
        {
            ["OTEL_METRICS_EXPORTER"] = "prometheus",
            ["OTEL_EXPORTER_PROMETHEUS_HOST"] = "127.0.0.1",
            ["OTEL_EXPORTER_PROMETHEUS_PORT"] = agentPort.ToString(CultureInfo.InvariantCulture),
        };
        using AgentProcess agent = AgentProcess.Start(environment,
            "run", "--no-console", "--poll-interval", "300ms", "--include", $"^{prefix}", "--config", agentConfig);

        // The job name the TunTelemetryAgentDown rule watches; rules evaluated every second.
        using PrometheusServer prometheus = PrometheusServer.Start(server, $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
              evaluation_interval: 1s
            rule_files:
              - {AlertRulesFile.RulesPath}
            scrape_configs:
              - job_name: tuntelemetry
                static_configs:
                  - targets: ["127.0.0.1:{agentPort}"]
            """);
        using var pumping = new CancellationTokenSource();
        var pumped = new List<DroppingTunDevice> { dropping };
        Task pump = Task.Run(async () =>
        {
            while (!pumping.IsCancellationRequested)
            {
                lock (pumped)
                {
                    pumped.ForEach(d => d.SendPackets(50));
                }

                await Task.Delay(100);
            }
        });
        DroppingTunDevice? later = null; // disposed after the pump stops
        try
        {
            // Drops growing at about 500/s: the drops alert is active (pending: its for: is 10 minutes).
            await WaitForSeriesAsync(prometheus, agent, $"ALERTS{{alertname=\"TunTxQueueDropping\",network_interface_name=\"{dropping.Name}\"}}");

            // Every netlink receive of the pollers fails until both devices' pollers give up.
            using (Process strace = InjectReceiveFailures(agent.Pid))
            {
                await WaitForSeriesAsync(prometheus, agent, $"tuntelemetry_poller_gave_up_total{{network_interface_name=\"{dropping.Name}\"}}");
                await WaitForSeriesAsync(prometheus, agent, $"tuntelemetry_poller_gave_up_total{{network_interface_name=\"{droppedOnce.Name}\"}}");
                strace.Kill(); // detaches; the agent goes on
                strace.WaitForExit();
            }

            // A device made after that is polled again and drops.
            later = DroppingTunDevice.Create(name: prefix + "c");
            lock (pumped)
            {
                pumped.Add(later);
            }

            await WaitForSeriesAsync(prometheus, agent, $"rate(tundev_txq_drops_total{{network_interface_name=\"{later.Name}\"}}[1m]) > 0");

            var problems = new List<string>();
            GrafanaDashboard dashboard = GrafanaDashboard.Load();
            foreach (PanelQuery query in dashboard.Queries())
            {
                string expanded = GrafanaDashboard.Expand(query.Expression);
                JsonElement[]? result = await ResultAsync(prometheus, expanded);
                output.WriteLine($"{query.Panel} [{query.RefId}]: {(result is null ? "error" : $"{result.Length} series")}");
                if (result is null)
                {
                    problems.Add($"{query.Panel} [{query.RefId}] does not parse: {expanded}");
                }
                else if (result.Length == 0)
                {
                    problems.Add($"{query.Panel} [{query.RefId}] returns no series: {expanded}");
                }
            }

            foreach (LabelValuesVariable variable in dashboard.LabelValuesVariables())
            {
                string expanded = $"group by ({variable.Label}) ({GrafanaDashboard.Expand(variable.Selector)})";
                JsonElement[]? result = await ResultAsync(prometheus, expanded);
                string[] values = result?.Select(s => s.GetProperty("metric").TryGetProperty(variable.Label, out JsonElement v) ? v.GetString()! : "")
                    .Where(v => v.Length > 0).ToArray() ?? [];
                output.WriteLine($"variable {variable.Name}: {string.Join(", ", values)}");
                if (result is null)
                {
                    problems.Add($"variable {variable.Name} does not parse: {expanded}");
                }
                else if (values.Length == 0 && !GrafanaDashboard.VariablesAwaitingNamespaces.Contains(variable.Name))
                {
                    problems.Add($"variable {variable.Name} has no values: {expanded}");
                }
            }

            Assert.True(problems.Count == 0, string.Join('\n', problems));

            // The drops panel shows the device that drops now, at a rate above zero.
            PanelQuery drops = dashboard.Queries().First(q => q.Panel == "TX-queue drops per second");
            JsonElement[] rates = (await ResultAsync(prometheus, GrafanaDashboard.Expand(drops.Expression)))!;
            Assert.Contains(rates, s => s.GetProperty("metric").GetProperty("network_interface_name").GetString() == later.Name
                && double.Parse(s.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture) > 0);

            // Alerts change only at a rule evaluation (every second): wait for the ones the devices call for to be
            // active at one, rather than read them at whatever instant the panels were done.
            await WaitForSeriesAsync(prometheus, agent, $"ALERTS{{alertname=\"TunTxQueueDropping\",network_interface_name=\"{dropping.Name}\",alertstate=\"pending\"}}");
            foreach (string gaveUp in new[] { dropping.Name, droppedOnce.Name })
            {
                await WaitForSeriesAsync(prometheus, agent, $"ALERTS{{alertname=\"TunDevicePollerGaveUp\",network_interface_name=\"{gaveUp}\",alertstate=\"firing\"}}");
            }

            await AssertRulesAndAlertsAsync(prometheus, dropping.Name, droppedOnce.Name);
            await AssertCollectorSpellsNamesAsServedAsync(prometheus, dashboard);
        }
        finally
        {
            await pumping.CancelAsync();
            await pump;
            later?.Dispose();
            output.WriteLine(agent.Output);
            output.WriteLine($"prometheus:\n{prometheus.Output}");
            File.Delete(agentConfig);
        }
    }

    /// <summary>
    /// The real Prometheus evaluates every rule without error, and the alerts the devices call for are active:
    /// drops on the dropping device only, and the given-up pollers; the agent is neither down nor absent.
    /// </summary>
    private static async Task AssertRulesAndAlertsAsync(PrometheusServer prometheus, string dropping, string droppedOnce)
    {
        using JsonDocument rules = (await prometheus.GetJsonAsync("api/v1/rules"))!;
        JsonElement[] all = rules.RootElement.GetProperty("data").GetProperty("groups").EnumerateArray()
            .SelectMany(g => g.GetProperty("rules").EnumerateArray()).ToArray();
        Assert.Equal(AlertRulesFile.Alerts(AlertRulesFile.Load(AlertRulesFile.RulesPath)).Count(), all.Length); // every rule loaded
        Assert.All(all, r => Assert.True(r.GetProperty("health").GetString() == "ok", $"{r.GetProperty("name")}: {r}"));

        // Read until they are as the devices call for (a rule evaluation every second; a slow scrape on busy cores can
        // leave a series stale for one), then assert on that reading, or on the last one if none was within Patience.
        DateTime deadline = DateTime.UtcNow + Patience;
        (string Name, string? Device, string State)[] alerts = await ReadAlertsAsync(prometheus);
        while (!AsExpected(alerts) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(500);
            alerts = await ReadAlertsAsync(prometheus);
        }

        string seen = string.Join(", ", alerts.Select(a => $"{a.Name}/{a.Device}/{a.State}"));
        Assert.Contains(("TunTxQueueDropping", (string?)dropping, "pending"), alerts);
        Assert.DoesNotContain(alerts, a => a.Name == "TunTxQueueDropping" && a.Device == droppedOnce);
        Assert.True(alerts.Contains(("TunDevicePollerGaveUp", dropping, "firing")), seen);
        Assert.True(alerts.Contains(("TunDevicePollerGaveUp", droppedOnce, "firing")), seen);
        // Down or absent would have to fire; pending for one missed scrape is not an outage.
        Assert.DoesNotContain(alerts, a => a.Name is "TunTelemetryAgentDown" or "TunTelemetryAgentAbsent" && a.State == "firing");
        Assert.DoesNotContain(alerts, a => a.Name is "TunReaderStopped" or "TunReaderGone" or "TunTelemetryDevicesNotWatched");

        bool AsExpected((string Name, string? Device, string State)[] read) =>
            read.Contains(("TunTxQueueDropping", dropping, "pending"))
            && read.Contains(("TunDevicePollerGaveUp", dropping, "firing"))
            && read.Contains(("TunDevicePollerGaveUp", droppedOnce, "firing"))
            && !read.Any(a => a.Name is "TunTelemetryAgentDown" or "TunTelemetryAgentAbsent" && a.State == "firing");
    }

    private static async Task<(string Name, string? Device, string State)[]> ReadAlertsAsync(PrometheusServer prometheus)
    {
        using JsonDocument answer = (await prometheus.GetJsonAsync("api/v1/alerts"))!;
        return answer.RootElement.GetProperty("data").GetProperty("alerts").EnumerateArray()
            .Select(a => (a.GetProperty("labels").GetProperty("alertname").GetString()!,
                a.GetProperty("labels").TryGetProperty("network_interface_name", out JsonElement d) ? d.GetString() : null,
                a.GetProperty("state").GetString()!))
            .ToArray();
    }

    /// <summary>
    /// Every instrument's name as the collector's prometheus exporter would spell it (<see cref="CollectorMetricNames"/>)
    /// is a name Prometheus got from the agent's own endpoint, except the listed differences; for those the dashboard
    /// matches both spellings and the alert rules use neither.
    /// </summary>
    private async Task AssertCollectorSpellsNamesAsServedAsync(PrometheusServer prometheus, GrafanaDashboard dashboard)
    {
        using JsonDocument answer = (await prometheus.GetJsonAsync("api/v1/label/__name__/values"))!;
        HashSet<string> served = answer.RootElement.GetProperty("data").EnumerateArray().Select(n => n.GetString()!).ToHashSet();
        string queries = string.Join('\n', dashboard.Queries().Select(q => q.Expression));
        string rules = File.ReadAllText(AlertRulesFile.RulesPath);
        foreach (OtlpMetric metric in CollectorMetricNames.AgentInstruments())
        {
            string collector = CollectorMetricNames.PrometheusName(metric);
            output.WriteLine($"{metric.Name} ({metric.Unit}, {metric.Type}): collector {collector}");
            string sample = metric.Type == OtlpMetricType.Histogram ? collector + "_bucket" : collector;
            if (CollectorMetricNames.SpelledDifferently.TryGetValue(collector, out string? agent))
            {
                Assert.DoesNotContain(collector, served);
                Assert.Contains(agent, served);
                Assert.Contains($"{agent}(_ratio)?", queries, StringComparison.Ordinal);
                Assert.DoesNotContain(agent, rules, StringComparison.Ordinal);
            }
            else
            {
                Assert.True(served.Contains(sample), $"{metric.Name}: the collector would name it {sample}, the agent serves none such");
            }
        }
    }

    /// <summary>The result of an instant query; null when Prometheus rejects it.</summary>
    private static async Task<JsonElement[]?> ResultAsync(PrometheusServer prometheus, string query)
    {
        using JsonDocument? answer = await prometheus.QueryAsync(query);
        return answer is not null && answer.RootElement.GetProperty("status").GetString() == "success"
            ? answer.RootElement.GetProperty("data").GetProperty("result").EnumerateArray().Select(e => e.Clone()).ToArray()
            : null;
    }

    private static async Task WaitForSeriesAsync(PrometheusServer prometheus, AgentProcess agent, string query)
    {
        var waited = Stopwatch.StartNew();
        while ((await ResultAsync(prometheus, query)) is not { Length: > 0 })
        {
            Assert.False(prometheus.HasExited, $"prometheus exited:\n{prometheus.Output}");
            Assert.False(agent.HasExited, $"the agent exited:\n{agent.Output}");
            if (waited.Elapsed > Patience)
            {
                throw new TimeoutException($"no series for {query} within {Patience}");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>strace on the agent's netlink threads (the pollers'), failing every recvfrom with EIO.</summary>
    private static Process InjectReceiveFailures(int pid)
    {
        string[] threads = Directory.GetDirectories($"/proc/{pid}/task")
            .Where(task => File.ReadAllText(Path.Combine(task, "comm")).Trim() == "tuntelemetry-ne")
            .Select(Path.GetFileName).ToArray()!;
        Assert.NotEmpty(threads);
        var start = new ProcessStartInfo("strace") { RedirectStandardError = true, UseShellExecute = false };
        foreach (string word in (string[])["-qq", "-o", "/dev/null", "-e", "trace=recvfrom", "-e", "inject=recvfrom:error=EIO"])
        {
            start.ArgumentList.Add(word);
        }

        foreach (string tid in threads)
        {
            start.ArgumentList.Add("-p");
            start.ArgumentList.Add(tid);
        }

        return Process.Start(start) ?? throw new InvalidOperationException("could not start strace");
    }
}
