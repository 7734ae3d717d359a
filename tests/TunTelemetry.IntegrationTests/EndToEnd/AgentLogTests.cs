using System.Text.RegularExpressions;
using TunTelemetry.Agent.Demo;
using TunTelemetry.IntegrationTests.Otlp;
using TunTelemetry.IntegrationTests.Support;
using TunTelemetry.Metrics;
using Xunit;

namespace TunTelemetry.IntegrationTests.EndToEnd;

/// <summary>
/// The agent's log as its process prints it: one header per line (timestamp, level, the logging class), levels set by
/// <c>--log-level</c> and <c>Logging__*</c> variables, and the journal's format under systemd.
/// </summary>
public sealed partial class AgentLogTests
{
    // Generous: start-up alone can take seconds with both cores busy.
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    // "2026-12-02T01:41:34.741Z info: TunTelemetry.Supervision.DeviceSupervisorActor[0] Watching tun0 (…)"
    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (trce|dbug|info|warn|fail|crit): (TunTelemetry|Akka)(\.\w+)+\[\d+\] \S")]
    private static partial Regex OneHeaderLine();

    // "<6>TunTelemetry.Supervision.DeviceSupervisorActor[0] Watching tun0 (…)": the journal adds the time itself.
    [GeneratedRegex(@"^<[0-7]>(TunTelemetry|Akka)(\.\w+)+\[\d+\] \S")]
    private static partial Regex JournalLine();

    private static string NewPrefix() => $"tl{Random.Shared.Next(0, 0xffffff):x6}";

    private static Dictionary<string, string> Variables(params string[] assignments)
    {
        var environment = new Dictionary<string, string> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:9" }; // nothing listens
        foreach (string assignment in assignments)
        {
            string[] parts = assignment.Split('=', 2);
            environment[parts[0]] = parts[1];
        }

        return environment;
    }

    private static string[] Lines(string output) => output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [NetAdminFact]
    public async Task Every_log_line_has_one_header_with_the_logging_actors_class_as_category()
    {
        string prefix = NewPrefix();
        using DroppingTunDevice tun = DroppingTunDevice.Create(name: prefix + "a");
        using AgentProcess agent = AgentProcess.Start(Variables(), "run", "--no-console", "--include", $"^{prefix}");
        await agent.WaitForOutputAsync($"Watching {tun.Name}", Deadline);
        Assert.Equal(0, agent.Terminate(Deadline));

        string[] lines = Lines(agent.Output);
        Assert.All(lines, line =>
        {
            Assert.Matches(OneHeaderLine(), line);
            Assert.DoesNotContain("[Thread", line, StringComparison.Ordinal);
            Assert.DoesNotMatch(@"\[(DEBUG|INFO|WARNING|ERROR)\]", line);
        });
        string watching = Assert.Single(lines, l => l.Contains($"Watching {tun.Name}", StringComparison.Ordinal));
        Assert.Matches($@" info: TunTelemetry\.Supervision\.DeviceSupervisorActor\[0\] Watching {tun.Name} \(", watching);
    }

    [NetAdminTheory]
    [InlineData("--log-level debug")]
    [InlineData("Logging__LogLevel__Default=Debug")]
    [InlineData("Logging__LogLevel__Akka=Debug")]
    public async Task Asking_for_debug_shows_akkas_debug_events(string setting)
    {
        (string[] arguments, string[] environment) = Split(setting);
        string prefix = NewPrefix();
        using DroppingTunDevice tun = DroppingTunDevice.Create(name: prefix + "a");
        using AgentProcess agent = AgentProcess.Start(
            Variables(environment), ["run", "--no-console", "--include", $"^{prefix}", .. arguments]);

        // Akka publishes this only when akka.loglevel is DEBUG, so ILogger's level alone would not show it. Stopping
        // the agent only once it watches the device: a SIGTERM during start-up makes Akka print its own stdout logger's
        // lines.
        await agent.WaitForOutputAsync("dbug: Akka.Event.EventStream[0] Default Loggers started", Deadline);
        await agent.WaitForOutputAsync($"Watching {tun.Name}", Deadline);
        Assert.Equal(0, agent.Terminate(Deadline));

        // Akka stops its loggers with their last events still queued (here its own debug note that it is stopping them)
        // and its logger mailbox prints those itself, in its own format, rather than drop them.
        Assert.All(
            Lines(agent.Output).Where(l => !AkkaShutdownNote().IsMatch(l)),
            line => Assert.Matches(OneHeaderLine(), line));
    }

    [GeneratedRegex(@"^\[DEBUG\]\[[^\]]+\]\[Thread \d+\]\[EventStream\] (Shutting down: StandardOutLogger started|All default loggers stopped)$")]
    private static partial Regex AkkaShutdownNote();

    [NetAdminTheory]
    [InlineData("--log-level warning")]
    [InlineData("Logging__LogLevel__Default=Warning")]
    [InlineData("Logging__LogLevel__Default=Debug --log-level Warning")] // the command line wins
    public async Task Warning_hides_information_lines(string setting)
    {
        (string[] arguments, string[] environment) = Split(setting);
        string prefix = NewPrefix();
        await using OtlpTestReceiver receiver = await OtlpTestReceiver.StartAsync();
        using DroppingTunDevice tun = DroppingTunDevice.Create(name: prefix + "a");
        Dictionary<string, string> variables = Variables(environment);
        variables["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.GrpcEndpoint.ToString().TrimEnd('/');
        variables["OTEL_METRIC_EXPORT_INTERVAL"] = "300";
        using AgentProcess agent = AgentProcess.Start(
            variables, ["run", "--no-console", "--poll-interval", "300ms", "--include", $"^{prefix}", .. arguments]);

        // An exported poll of the device means the supervisor has logged "Watching" at Information by now.
        await receiver.WaitForAsync(
            r => r.Latest(MetricNames.TxQueueDrops, (MetricNames.InterfaceName, tun.Name)) is not null,
            Deadline, $"an export of {tun.Name}\n{agent.Output}");
        Assert.Equal(0, agent.Terminate(Deadline));

        Assert.DoesNotContain("Watching", agent.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(" info: ", agent.Output, StringComparison.Ordinal);
    }

    [NetAdminTheory]
    [InlineData("JOURNAL_STREAM=8:123456", true)]
    [InlineData("Logging__Console__FormatterName=systemd", true)]
    [InlineData("JOURNAL_STREAM=8:123456 Logging__Console__FormatterName=simple", false)]
    public async Task Under_systemd_lines_carry_the_journal_level_prefix_and_no_timestamp(string variables, bool journal)
    {
        string prefix = NewPrefix();
        using DroppingTunDevice tun = DroppingTunDevice.Create(name: prefix + "a");
        using AgentProcess agent = AgentProcess.Start(Variables(variables.Split(' ')), "run", "--no-console", "--include", $"^{prefix}");
        await agent.WaitForOutputAsync($"Watching {tun.Name}", Deadline);
        Assert.Equal(0, agent.Terminate(Deadline));

        string[] lines = Lines(agent.Output);
        Assert.All(lines, line => Assert.Matches(journal ? JournalLine() : OneHeaderLine(), line));
        if (journal)
        {
            // <6> is the journal's "info".
            Assert.Contains(lines, l => l.StartsWith($"<6>TunTelemetry.Supervision.DeviceSupervisorActor[0] Watching {tun.Name} (", StringComparison.Ordinal));
        }
    }

    /// <summary>"--log-level debug" is arguments, "Logging__X=Y" a variable; one setting string may hold both.</summary>
    private static (string[] Arguments, string[] Environment) Split(string setting)
    {
        string[] words = setting.Split(' ');
        return ([.. words.Where(w => !w.Contains('=', StringComparison.Ordinal))], [.. words.Where(w => w.Contains('=', StringComparison.Ordinal))]);
    }
}
