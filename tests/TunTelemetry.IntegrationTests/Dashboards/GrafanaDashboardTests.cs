using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;

namespace TunTelemetry.IntegrationTests.Dashboards;

/// <summary>
/// The Grafana dashboard's JSON as Grafana would load it. Grafana itself cannot run here (no container engine); what
/// Prometheus answers to each query is checked in <see cref="DashboardQueryTests"/>.
/// </summary>
public sealed class GrafanaDashboardTests
{
    [Fact]
    public void The_dashboard_loads_with_unique_panel_ids_and_every_query_on_the_data_source_variable()
    {
        GrafanaDashboard dashboard = GrafanaDashboard.Load();
        Assert.Equal("tuntelemetry", dashboard.Root.GetProperty("uid").GetString());

        JsonElement[] panels = Flatten(dashboard.Root.GetProperty("panels")).ToArray();
        int[] ids = panels.Select(p => p.GetProperty("id").GetInt32()).ToArray();
        Assert.Equal(ids.Length, ids.Distinct().Count());

        JsonElement datasource = dashboard.Root.GetProperty("templating").GetProperty("list").EnumerateArray()
            .Single(v => v.GetProperty("name").GetString() == "datasource");
        Assert.Equal("datasource", datasource.GetProperty("type").GetString());
        Assert.Equal("prometheus", datasource.GetProperty("query").GetString());

        foreach (JsonElement panel in dashboard.Panels())
        {
            string title = panel.GetProperty("title").GetString()!;
            Assert.False(string.IsNullOrWhiteSpace(panel.GetProperty("description").GetString()), $"{title}: no description");
            Assert.Equal("${datasource}", panel.GetProperty("datasource").GetProperty("uid").GetString());
            JsonElement[] targets = panel.GetProperty("targets").EnumerateArray().ToArray();
            Assert.NotEmpty(targets);
            Assert.All(targets, t => Assert.Equal("${datasource}", t.GetProperty("datasource").GetProperty("uid").GetString()));
        }
    }

    [Fact]
    public void Every_query_uses_only_variables_the_dashboard_defines_or_grafana_provides()
    {
        foreach (PanelQuery query in GrafanaDashboard.Load().Queries())
        {
            string expanded = GrafanaDashboard.Expand(query.Expression);
            Assert.False(expanded.Contains('$', StringComparison.Ordinal), $"{query.Panel}: an unknown variable in {query.Expression}");
        }
    }

    [Fact]
    public void The_dashboard_shows_every_topic_the_agent_exports()
    {
        string queries = string.Join('\n', GrafanaDashboard.Load().Queries().Select(q => q.Expression));
        foreach (string metric in (string[])[
            "tundev_txq_drops_total", "system_network_packet_dropped_total", "system_network_io_bytes_total",
            "system_network_packet_count_total", "system_network_errors_total", "tundev_link_txqueuelen",
            "tundev_link_oper_state", "tundev_link_up", "tundev_link_queues", "tundev_reader", "tundev_reader_stopped",
            "process_cpu_time_seconds_total", "tundev_reader_cgroup_cpu_throttled_total", "tundev_reader_cpu_delay_seconds_total",
            "tuntelemetry_poll_duration_seconds_bucket", "tuntelemetry_poll_failures_total",
            "tuntelemetry_poller_restarts_total", "tuntelemetry_poller_gave_up_total", "tuntelemetry_devices_watched", "ALERTS"])
        {
            Assert.Matches(new Regex($@"\b{metric}\b"), queries);
        }
    }

    [Fact]
    public void Variables_are_label_values_queries_whose_all_value_matches_series_without_the_label()
    {
        GrafanaDashboard dashboard = GrafanaDashboard.Load();
        string[] names = dashboard.LabelValuesVariables().Select(v => v.Name).ToArray();
        Assert.Equal(["instance", "netns", "device"], names);
        foreach (JsonElement variable in dashboard.Root.GetProperty("templating").GetProperty("list").EnumerateArray()
                     .Where(v => v.GetProperty("type").GetString() == "query"))
        {
            // ".*" matches the empty value, which is how PromQL sees a label a series does not have.
            Assert.Equal(".*", variable.GetProperty("allValue").GetString());
            Assert.True(variable.GetProperty("includeAll").GetBoolean());
        }
    }

    private static IEnumerable<JsonElement> Flatten(JsonElement panels) =>
        panels.EnumerateArray().SelectMany(p => p.TryGetProperty("panels", out JsonElement inner) ? Flatten(inner).Prepend(p) : [p]);
}
