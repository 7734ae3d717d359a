using System.Text.Json;
using TunTelemetry.IntegrationTests.Otlp;
using TunTelemetry.IntegrationTests.Support;
using TunTelemetry.Metrics;
using Xunit;
using Xunit.Abstractions;

namespace TunTelemetry.IntegrationTests.EndToEnd;

/// <summary>
/// Unprivileged (uid 65534, no capabilities), the agent can read only its own user's processes' open files: it names
/// the readers among those, says once that it sees only them, and never guesses the others.
/// </summary>
public sealed class UnprivilegedReaderTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly string _prefix = $"tu{Random.Shared.Next(0, 0xffffff):x6}";
    private readonly string _config = Path.Combine(Path.GetTempPath(), $"tt-{Guid.NewGuid():N}.conf");

    private string Owned => _prefix + "own";

    [NetAdminFact]
    public async Task Snapshot_as_nobody_names_its_own_users_reader_and_not_roots()
    {
        CreateOwnedDevice();
        using TunHolder mine = await TunHolder.StartAsNobodyAsync(Owned, "--no-up");
        using TunHolder roots = await TunHolder.StartAsync(_prefix + "root");

        (int exitCode, string json) = Snapshot("--json", Owned, roots.Name);

        Assert.True(exitCode == 0, json);
        JsonElement[] devices = JsonDocument.Parse(json).RootElement.EnumerateArray().ToArray();
        JsonElement reader = Assert.Single(devices[0].GetProperty("readers").EnumerateArray().ToArray());
        Assert.Equal(mine.Pid, reader.GetProperty("pid").GetInt32());
        Assert.Equal(65534U, devices[0].GetProperty("tun").GetProperty("owner").GetUInt32());
        Assert.Empty(devices[1].GetProperty("readers").EnumerateArray()); // root's process: not visible, not guessed

        (exitCode, string table) = Snapshot(Owned, roots.Name);
        Assert.Equal(0, exitCode);
        Assert.Contains($"python3[{mine.Pid}]", table, StringComparison.Ordinal);
        Assert.Contains("Readers are shown among the processes this user can see", table, StringComparison.Ordinal);
    }

    [NetAdminFact]
    public async Task The_agent_as_nobody_exports_its_own_users_readers_and_says_once_that_it_sees_only_those()
    {
        CreateOwnedDevice();
        using TunHolder mine = await TunHolder.StartAsNobodyAsync(Owned, "--no-up");
        File.WriteAllText(_config, "tuntelemetry.metrics.reader-interval = 1s");
        File.SetUnixFileMode(_config, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        await using OtlpTestReceiver receiver = await OtlpTestReceiver.StartAsync();
        var environment = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.GrpcEndpoint.ToString().TrimEnd('/'),
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "300",
        };
        using AgentProcess agent = AgentProcess.Start(environment, asNobody: true,
            "run", "--no-console", "--config", _config, "--poll-interval", "300ms", "--include", $"^{_prefix}");
        try
        {
            await receiver.WaitForAsync(
                r => r.Latest(MetricNames.Reader, (MetricNames.InterfaceName, Owned), (MetricNames.ProcessPid, (long)mine.Pid)) is not null,
                Patience, $"{Owned}'s reader python3[{mine.Pid}]");
            await agent.WaitForOutputAsync("(not root: only its own user's)", Patience);

            // Several more scans (one a second, exports every 300 ms): still said once.
            int exports = receiver.Exports;
            await receiver.WaitForAsync(r => r.Exports >= exports + 12, Patience, "a dozen more exports");
            Assert.Single(System.Text.RegularExpressions.Regex.Matches(agent.Output, "only its own user's"));
        }
        finally
        {
            output.WriteLine(agent.Output);
        }
    }

    private void CreateOwnedDevice() =>
        Command.Run("ip", "tuntap", "add", "dev", Owned, "mode", "tun", "user", "65534", "group", "65534");

    private static (int ExitCode, string Output) Snapshot(params string[] arguments)
    {
        using AgentProcess snapshot = AgentProcess.Start(new Dictionary<string, string>(), asNobody: true, ["snapshot", .. arguments]);
        int exitCode = snapshot.WaitForExit(Patience);
        return (exitCode, snapshot.Output);
    }

    public void Dispose()
    {
        File.Delete(_config);
        if (Sysfs.Exists(Owned))
        {
            Command.Run("ip", "tuntap", "del", "dev", Owned, "mode", "tun");
        }
    }
}
