using TunTelemetry.IntegrationTests.Support;
using Xunit;
using Xunit.Abstractions;
using YamlDotNet.RepresentationModel;

namespace TunTelemetry.IntegrationTests.Dashboards;

/// <summary>
/// The alert rules checked and unit-tested by Debian's <c>promtool</c> (package <c>prometheus</c>) on the synthetic
/// series of <c>config/prometheus/tests/tuntelemetry-alerts.test.yml</c>.
/// </summary>
public sealed class AlertRuleTests(ITestOutputHelper output)
{
    private const string Missing = "promtool is needed (Debian package prometheus; .ci/run installs it)";

    [Fact]
    public void The_rules_file_is_valid_for_promtool()
    {
        if (Promtool() is not string promtool)
        {
            return;
        }

        (int exitCode, string text) = DebianProgram.Run(promtool, AgentProcess.RepositoryRoot, "check", "rules", AlertRulesFile.RulesPath);
        output.WriteLine(text);
        Assert.Equal(0, exitCode);
        Assert.Contains("SUCCESS: 10 rules found", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Promtool_unit_tests_of_every_alert_pass()
    {
        if (Promtool() is not string promtool)
        {
            return;
        }

        (int exitCode, string text) = DebianProgram.Run(promtool, AgentProcess.RepositoryRoot, "test", "rules", AlertRulesFile.UnitTestsPath);
        output.WriteLine(text);
        Assert.Equal(0, exitCode);
        Assert.Contains("SUCCESS", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_alert_has_a_unit_test_where_it_fires_and_one_where_it_does_not()
    {
        string[] alerts = AlertRulesFile.Alerts(AlertRulesFile.Load(AlertRulesFile.RulesPath))
            .Select(rule => AlertRulesFile.Scalar(rule, "alert")).ToArray();
        Assert.Equal(
            ["TunTxQueueDropping", "TunReaderStopped", "TunReaderThrottled", "TunReaderGone", "TunDevicePollsFailing", "TunDevicePollerGaveUp",
             "TunTelemetryDevicesNotWatched", "TunTelemetryExportsFailing", "TunTelemetryAgentDown", "TunTelemetryAgentAbsent"],
            alerts);

        var cases = ((YamlSequenceNode)AlertRulesFile.Load(AlertRulesFile.UnitTestsPath)["tests"]).Cast<YamlMappingNode>()
            .SelectMany(test => ((YamlSequenceNode)test["alert_rule_test"]).Cast<YamlMappingNode>())
            .Select(check => (Alert: AlertRulesFile.Scalar(check, "alertname"), Fires: ((YamlSequenceNode)check["exp_alerts"]).Children.Count > 0))
            .ToArray();
        foreach (string alert in alerts)
        {
            Assert.True(cases.Contains((alert, true)), $"no unit test where {alert} fires");
            Assert.True(cases.Contains((alert, false)), $"no unit test where {alert} does not fire");
        }
    }

    /// <summary>
    /// The unit tests can fail: with any one alert's expression replaced by one that is never true, a test expecting
    /// it to fire fails; replaced by one that is always true, a test expecting silence fails.
    /// </summary>
    [Fact]
    public void The_unit_tests_fail_when_any_alert_never_or_always_fires()
    {
        if (Promtool() is not string promtool)
        {
            return;
        }

        string work = Directory.CreateTempSubdirectory("tt-promtool-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(work, "tests"));
            string unitTests = Path.Combine(work, "tests", Path.GetFileName(AlertRulesFile.UnitTestsPath));
            File.Copy(AlertRulesFile.UnitTestsPath, unitTests);
            int alerts = AlertRulesFile.Alerts(AlertRulesFile.Load(AlertRulesFile.RulesPath)).Count();
            for (int index = 0; index < alerts; index++)
            {
                foreach ((string expression, string meaning) in (ReadOnlySpan<(string, string)>)[("vector(1) > 2", "never"), ("vector(1)", "always")])
                {
                    YamlMappingNode rules = AlertRulesFile.Load(AlertRulesFile.RulesPath);
                    YamlMappingNode alert = AlertRulesFile.Alerts(rules).ElementAt(index);
                    alert.Children[new YamlScalarNode("expr")] = new YamlScalarNode(expression);
                    using (var writer = new StreamWriter(Path.Combine(work, Path.GetFileName(AlertRulesFile.RulesPath))))
                    {
                        new YamlStream(new YamlDocument(rules)).Save(writer, assignAnchors: false);
                    }

                    (int exitCode, string text) = DebianProgram.Run(promtool, work, "test", "rules", unitTests);
                    string name = AlertRulesFile.Scalar(alert, "alert");
                    Assert.True(exitCode != 0, $"the unit tests pass with {name} firing {meaning}:\n{text}");
                    Assert.Contains($"alertname: {name}", text, StringComparison.Ordinal);
                }
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private string? Promtool()
    {
        string? promtool = DebianProgram.Find("promtool");
        if (promtool is null)
        {
            Assert.False(NetAdmin.Required, Missing);
            output.WriteLine($"not run: {Missing}");
        }

        return promtool;
    }
}
