using System.Text.RegularExpressions;
using TunTelemetry.IntegrationTests.Support;
using Xunit;
using Xunit.Abstractions;
using YamlDotNet.RepresentationModel;

namespace TunTelemetry.IntegrationTests.Dashboards;

/// <summary>
/// <c>docker-compose.otel.yml</c> checked offline by Debian's <c>docker-compose</c> (1.29; no container engine is
/// needed for <c>config</c>), and the files it mounts checked against what the containers expect to find.
/// </summary>
public sealed class ComposeFileTests(ITestOutputHelper output)
{
    private const string Missing = "docker-compose is needed (Debian package docker-compose; .ci/run installs it)";
    private const string ComposeFile = "docker-compose.otel.yml";

    [Fact]
    public void The_compose_file_is_valid_offline()
    {
        if (DockerCompose() is not string compose)
        {
            return;
        }

        (int exitCode, string text) = DebianProgram.Run(compose, AgentProcess.RepositoryRoot, "-f", ComposeFile, "config", "-q");
        Assert.True(exitCode == 0, text);
        Assert.Equal(string.Empty, text.Trim());
    }

    [Fact]
    public void Every_mounted_file_exists_and_every_image_has_a_pinned_version()
    {
        if (Resolved() is not YamlMappingNode services)
        {
            return;
        }

        foreach ((YamlNode name, YamlNode node) in services.Children)
        {
            var service = (YamlMappingNode)node;
            if (service.Children.TryGetValue("image", out YamlNode? image))
            {
                Assert.Matches(new Regex(@"^[a-z0-9./-]+:v?\d+\.\d+\.\d+$"), ((YamlScalarNode)image).Value!);
            }

            foreach ((string source, string _) in Mounts(service))
            {
                Assert.True(File.Exists(source) || Directory.Exists(source), $"{name}: {source} is mounted but does not exist");
            }
        }
    }

    [Fact]
    public void Prometheus_loads_the_alert_rules_from_where_the_compose_file_mounts_them()
    {
        if (Resolved() is not YamlMappingNode services)
        {
            return;
        }

        var prometheus = (YamlMappingNode)services["prometheus"];
        Dictionary<string, string> mounts = Mounts(prometheus).ToDictionary(m => m.Target, m => m.Source);
        string configTarget = ((YamlSequenceNode)prometheus["command"]).Select(a => ((YamlScalarNode)a).Value!)
            .Single(a => a.StartsWith("--config.file=", StringComparison.Ordinal))["--config.file=".Length..];
        string config = mounts[configTarget];
        Assert.Equal(Path.Combine(AgentProcess.RepositoryRoot, "config", "prometheus.yml"), config);

        string ruleGlob = Assert.Single(((YamlSequenceNode)AlertRulesFile.Load(config)["rule_files"]).Select(r => ((YamlScalarNode)r).Value!));
        var ruleTargets = mounts.Where(m => MatchesGlob(ruleGlob, m.Key)).ToArray();
        Assert.Equal(AlertRulesFile.RulesPath, Assert.Single(ruleTargets).Value);
    }

    [Fact]
    public void Grafana_is_provisioned_with_the_prometheus_service_and_the_dashboard_folder_it_mounts()
    {
        if (Resolved() is not YamlMappingNode services)
        {
            return;
        }

        var grafana = (YamlMappingNode)services["grafana"];
        Assert.StartsWith("grafana/grafana", ((YamlScalarNode)grafana["image"]).Value, StringComparison.Ordinal);
        Dictionary<string, string> mounts = Mounts(grafana).ToDictionary(m => m.Target, m => m.Source);
        string provisioning = Path.Combine(AgentProcess.RepositoryRoot, "config", "grafana", "provisioning");
        Assert.Equal(Path.Combine(provisioning, "datasources"), mounts["/etc/grafana/provisioning/datasources"]);
        Assert.Equal(Path.Combine(provisioning, "dashboards"), mounts["/etc/grafana/provisioning/dashboards"]);

        // The data source: the compose file's Prometheus service on its port, with the uid the dashboard defaults to.
        YamlMappingNode source = Assert.Single(((YamlSequenceNode)AlertRulesFile.Load(
            Path.Combine(provisioning, "datasources", "prometheus.yml"))["datasources"]).Cast<YamlMappingNode>());
        Assert.Equal("prometheus", AlertRulesFile.Scalar(source, "type"));
        var url = new Uri(AlertRulesFile.Scalar(source, "url"));
        Assert.True(services.Children.ContainsKey(url.Host), $"no service {url.Host} for the data source {url}");
        Assert.Contains(((YamlSequenceNode)services[url.Host]["ports"]).Cast<YamlMappingNode>(),
            p => AlertRulesFile.Scalar(p, "target") == url.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        string defaultSource = GrafanaDashboard.Load().Root.GetProperty("templating").GetProperty("list").EnumerateArray()
            .Single(v => v.GetProperty("name").GetString() == "datasource").GetProperty("current").GetProperty("value").GetString()!;
        Assert.Equal(AlertRulesFile.Scalar(source, "uid"), defaultSource);

        // The dashboards provider reads the folder the dashboard JSON is mounted at.
        YamlMappingNode provider = Assert.Single(((YamlSequenceNode)AlertRulesFile.Load(
            Path.Combine(provisioning, "dashboards", "tuntelemetry.yml"))["providers"]).Cast<YamlMappingNode>());
        string folder = AlertRulesFile.Scalar((YamlMappingNode)provider["options"], "path");
        Assert.Equal(Path.GetDirectoryName(GrafanaDashboard.Path), mounts[folder]);
        Assert.True(File.Exists(Path.Combine(mounts[folder], "tuntelemetry.json")));

        // No traffic leaves the machine: usage reports and update checks are off.
        var environment = (YamlMappingNode)grafana["environment"];
        foreach (string key in (string[])["GF_ANALYTICS_REPORTING_ENABLED", "GF_ANALYTICS_CHECK_FOR_UPDATES", "GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES"])
        {
            Assert.Equal("false", AlertRulesFile.Scalar(environment, key));
        }
    }

    /// <summary>The compose file as docker-compose resolves it (paths made absolute); null when docker-compose is missing.</summary>
    private YamlMappingNode? Resolved()
    {
        if (DockerCompose() is not string compose)
        {
            return null;
        }

        (int exitCode, string text) = DebianProgram.Run(compose, AgentProcess.RepositoryRoot, "-f", ComposeFile, "config");
        Assert.True(exitCode == 0, text);
        var yaml = new YamlStream();
        yaml.Load(new StringReader(text));
        return (YamlMappingNode)((YamlMappingNode)yaml.Documents[0].RootNode)["services"];
    }

    /// <summary>Bind mounts as docker-compose 1.29 prints them: SOURCE:TARGET[:MODE], SOURCE absolute.</summary>
    private static IEnumerable<(string Source, string Target)> Mounts(YamlMappingNode service) =>
        service.Children.TryGetValue("volumes", out YamlNode? volumes)
            ? ((YamlSequenceNode)volumes).Select(v => ((YamlScalarNode)v).Value!.Split(':')).Select(parts => (parts[0], parts[1]))
            : [];

    private static bool MatchesGlob(string glob, string path) =>
        Regex.IsMatch(path, "^" + Regex.Escape(glob).Replace(@"\*", "[^/]*", StringComparison.Ordinal) + "$");

    private string? DockerCompose()
    {
        string? compose = DebianProgram.Find("docker-compose");
        if (compose is null)
        {
            Assert.False(NetAdmin.Required, Missing);
            output.WriteLine($"not run: {Missing}");
        }

        return compose;
    }
}
