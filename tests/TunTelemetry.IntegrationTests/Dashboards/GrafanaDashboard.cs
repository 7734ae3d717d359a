using System.Text.Json;
using TunTelemetry.IntegrationTests.Support;

namespace TunTelemetry.IntegrationTests.Dashboards;

/// <summary>A panel's query as the dashboard holds it (Grafana variables unexpanded).</summary>
internal sealed record PanelQuery(string Panel, string RefId, string Expression);

/// <summary>A query variable of the dashboard: <c>label_values(SELECTOR, LABEL)</c>.</summary>
internal sealed record LabelValuesVariable(string Name, string Selector, string Label);

/// <summary>The shipped Grafana dashboard, <c>config/grafana/dashboards/tuntelemetry.json</c>, read as JSON.</summary>
internal sealed class GrafanaDashboard
{
    /// <summary>
    /// Variables whose label no series carries yet: <c>linux_netns_name</c> comes with watching other network
    /// namespaces. Until then the variable has no values, its "All" (<c>.*</c>) matches series without the label,
    /// and every panel works unfiltered.
    /// </summary>
    public static readonly string[] VariablesAwaitingNamespaces = ["netns"];

    public static string Path { get; } =
        System.IO.Path.Combine(AgentProcess.RepositoryRoot, "config", "grafana", "dashboards", "tuntelemetry.json");

    private GrafanaDashboard(JsonElement root) => Root = root;

    public JsonElement Root { get; }

    public static GrafanaDashboard Load()
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(Path));
        return new GrafanaDashboard(document.RootElement.Clone());
    }

    /// <summary>Every panel that is not a row, including panels inside collapsed rows.</summary>
    public IEnumerable<JsonElement> Panels() => Flatten(Root.GetProperty("panels")).Where(p => p.GetProperty("type").GetString() != "row");

    public IEnumerable<PanelQuery> Queries() =>
        Panels().SelectMany(panel => panel.GetProperty("targets").EnumerateArray().Select(target => new PanelQuery(
            panel.GetProperty("title").GetString()!, target.GetProperty("refId").GetString()!, target.GetProperty("expr").GetString()!)));

    public IEnumerable<LabelValuesVariable> LabelValuesVariables() =>
        Root.GetProperty("templating").GetProperty("list").EnumerateArray()
            .Where(variable => variable.GetProperty("type").GetString() == "query")
            .Select(variable =>
            {
                string definition = variable.GetProperty("query").GetProperty("query").GetString()!;
                // label_values(SELECTOR, LABEL): the selector may hold commas inside its braces, the label never.
                if (!definition.StartsWith("label_values(", StringComparison.Ordinal) || !definition.EndsWith(')'))
                {
                    throw new FormatException($"variable {variable.GetProperty("name")}: not label_values(…): {definition}");
                }

                string inner = definition["label_values(".Length..^1];
                int comma = inner.LastIndexOf(',');
                return new LabelValuesVariable(variable.GetProperty("name").GetString()!, inner[..comma].Trim(), inner[(comma + 1)..].Trim());
            });

    /// <summary>
    /// The query Prometheus receives when every variable is "All" (our allValue, <c>.*</c>), with the rate interval
    /// and range Grafana would compute for a short time range at a 1 s scrape interval.
    /// </summary>
    public static string Expand(string expression) =>
        expression
            .Replace("$__rate_interval", "1m", StringComparison.Ordinal)
            .Replace("$__range", "5m", StringComparison.Ordinal)
            .Replace("$instance", ".*", StringComparison.Ordinal)
            .Replace("$netns", ".*", StringComparison.Ordinal)
            .Replace("$device", ".*", StringComparison.Ordinal);

    private static IEnumerable<JsonElement> Flatten(JsonElement panels)
    {
        foreach (JsonElement panel in panels.EnumerateArray())
        {
            yield return panel;
            if (panel.TryGetProperty("panels", out JsonElement nested))
            {
                foreach (JsonElement inner in Flatten(nested))
                {
                    yield return inner;
                }
            }
        }
    }
}
