using TunTelemetry.IntegrationTests.Support;
using YamlDotNet.RepresentationModel;

namespace TunTelemetry.IntegrationTests.Dashboards;

/// <summary>The shipped alert rules (<c>config/prometheus/tuntelemetry-alerts.yml</c>) and their promtool unit tests.</summary>
internal static class AlertRulesFile
{
    public static string RulesPath { get; } = Path.Combine(AgentProcess.RepositoryRoot, "config", "prometheus", "tuntelemetry-alerts.yml");

    public static string UnitTestsPath { get; } =
        Path.Combine(AgentProcess.RepositoryRoot, "config", "prometheus", "tests", "tuntelemetry-alerts.test.yml");

    public static YamlMappingNode Load(string path)
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(path))
        {
            yaml.Load(reader);
        }

        return (YamlMappingNode)yaml.Documents[0].RootNode;
    }

    /// <summary>Every alerting rule of the file, in file order.</summary>
    public static IEnumerable<YamlMappingNode> Alerts(YamlMappingNode rules) =>
        ((YamlSequenceNode)rules["groups"]).Cast<YamlMappingNode>()
            .SelectMany(group => ((YamlSequenceNode)group["rules"]).Cast<YamlMappingNode>())
            .Where(rule => rule.Children.ContainsKey("alert"));

    public static string Scalar(YamlMappingNode node, string key) => ((YamlScalarNode)node[key]).Value ?? string.Empty;
}
