using System.Diagnostics;
using System.Text.Json;
using TunTelemetry.IntegrationTests.Otlp;
using TunTelemetry.IntegrationTests.Support;
using TunTelemetry.Metrics;
using Xunit;
using Xunit.Abstractions;

namespace TunTelemetry.IntegrationTests.EndToEnd;

/// <summary>
/// <c>diagnose</c> against real programs: Debian's <c>wireguard-go</c> in a test namespace, in a cgroup the test makes
/// with a CPU quota of 1 ms per 100 ms, fed with packets through <c>AF_PACKET</c> until its device drops (named as
/// throttled, while the running agent's exported throttled time grows); the same reader stopped (named as stopped); a
/// persistent device nobody holds; a held device that does not drop (only in the summary line).
/// </summary>
public sealed class DiagnoseTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [NetAdminFact]
    public async Task Diagnose_names_a_throttled_wireguard_go_a_stopped_one_and_a_device_nobody_holds()
    {
        string run = $"{Random.Shared.Next(0, 0xffffff):x6}";
        string wg = $"dw{run}", orphan = $"do{run}", calm = $"dc{run}";
        using TestNetworkNamespace ns = TestNetworkNamespace.CreateNamed();
        // No IPv6: the kernel's router solicitations would add drops to the calm device.
        Command.Run("ip", "netns", "exec", ns.Name!, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
        using TestCgroup cgroup = TestCgroup.CreateWithQuota(TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(100));
        using WireGuardGo wireguard = await WireGuardGo.StartAsync(ns.Name!, wg);
        string config = Path.GetTempFileName();
        AgentProcess? agent = null;
        try
        {
            cgroup.Add(wireguard.Pid);
            ns.Ip("link", "set", wg, "up");
            ns.AddTun(orphan); // persistent, up, and nobody holds it
            using TunHolder calmHolder = await TunHolder.StartAsync(calm, ns.Name);

            // The running agent: the reader's cgroup quota and throttled time beside tundev.reader.
            File.WriteAllText(config, "tuntelemetry.metrics.reader-interval = 1s\n");
            await using OtlpTestReceiver receiver = await OtlpTestReceiver.StartAsync();
            agent = AgentProcess.Start(new Dictionary<string, string>
            {
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.GrpcEndpoint.ToString().TrimEnd('/'),
                ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
            }, "run", "--no-console", "--all-namespaces", "--config", config, "--poll-interval", "500ms", "--include", $"^d[woc]{run}$");
            (string Key, object Value) device = (MetricNames.InterfaceName, wg);
            await receiver.WaitForAsync(r => r.Latest(MetricNames.ReaderCgroupQuota, device)?.AsDouble == 0.001, Patience, $"{wg}'s reader's quota");
            Assert.Equal(0.1, receiver.Latest(MetricNames.ReaderCgroupPeriod, device)!.AsDouble);
            Assert.Equal((long)wireguard.Pid, receiver.Latest(MetricNames.ReaderCgroupQuota, device)!.Attributes[MetricNames.ProcessPid]);
            double throttledBefore = receiver.Latest(MetricNames.ReaderCgroupThrottledTime, device)!.AsDouble!.Value;

            // Throttled: the quota stops wireguard-go while packets keep coming, and its queue overflows.
            int orphanSent = 0;
            // A window long enough for the sends on busy cores (each starts ip netns exec and python3).
            (int exit, string text) = await DiagnoseAsync(["--all-namespaces", "--for", "20s"], () =>
            {
                for (int i = 0; i < 6; i++)
                {
                    PacketWriter.Send(wg, 3000, ns.Name);
                    orphanSent += PacketWriter.Send(orphan, 20, ns.Name); // each one dropped: no queue is attached
                }
            });
            Assert.Equal(3, exit);
            string wgLine = Assert.Single(Lines(text), l => l.StartsWith($"{wg}@{ns.Name}: ", StringComparison.Ordinal));
            Assert.Contains($"its reader wireguard-go[{wireguard.Pid}]'s cgroup {cgroup.Path} was throttled in ", wgLine, StringComparison.Ordinal);
            Assert.Contains("by its quota of 1 ms per 100 ms (0.01 CPU); raise its CPU limit", wgLine, StringComparison.Ordinal);
            string orphanLine = Assert.Single(Lines(text), l => l.StartsWith($"{orphan}@{ns.Name}: ", StringComparison.Ordinal));
            Assert.Contains($"{orphan}@{ns.Name}: {orphanSent} drops in ", orphanLine, StringComparison.Ordinal); // every packet sent: no queue
            Assert.Contains("nobody holds it", orphanLine, StringComparison.Ordinal);
            // The calm device has no line of its own; the summary names ten (other suites' devices may come first),
            // so that it is among them is checked in the JSON below.
            Assert.DoesNotContain(Lines(text), l => l.StartsWith($"{calm}@", StringComparison.Ordinal));
            Assert.Single(Lines(text), l => l.Contains(" device(s) did not drop in ", StringComparison.Ordinal));
            await receiver.WaitForAsync(r => r.Latest(MetricNames.ReaderCgroupThrottledTime, device)?.AsDouble > throttledBefore, Patience,
                "the exported throttled time to grow");

            // Stopped: the same reader under SIGSTOP, in JSON.
            Command.Run("kill", "-STOP", $"{wireguard.Pid}");
            (exit, text) = await DiagnoseAsync(["--all-namespaces", "--for", "4s", "--json"], () => PacketWriter.Send(wg, 600, ns.Name));
            Assert.Equal(3, exit);
            JsonElement stopped = JsonDocument.Parse(text).RootElement.EnumerateArray()
                .Single(d => d.GetProperty("name").GetString() == wg && d.GetProperty("netns").GetString() == ns.Name);
            Assert.Equal("reader_stopped", stopped.GetProperty("cause").GetString());
            Assert.Equal($"resume it (kill -CONT {wireguard.Pid}) or detach the tracer", stopped.GetProperty("remedy").GetString());
            Assert.Equal("T", Assert.Single(stopped.GetProperty("readers").EnumerateArray().ToArray()).GetProperty("state").GetString());
            JsonElement calmDevice = JsonDocument.Parse(text).RootElement.EnumerateArray()
                .Single(d => d.GetProperty("name").GetString() == calm && d.GetProperty("netns").GetString() == ns.Name);
            Assert.Equal(JsonValueKind.Null, calmDevice.GetProperty("cause").ValueKind);
            Assert.Equal(0UL, calmDevice.GetProperty("drops").GetUInt64());
            Assert.Equal(0, agent.Terminate(Patience));
        }
        finally
        {
            wireguard.Dispose(); // before its cgroup goes
            if (agent is not null)
            {
                output.WriteLine(agent.Output);
                agent.Dispose();
            }

            File.Delete(config);
        }
    }

    [Fact]
    public async Task Diagnose_exits_0_when_nothing_dropped_and_2_on_a_bad_duration()
    {
        using AgentProcess bad = AgentProcess.Start(new Dictionary<string, string>(), "diagnose", "--for", "forever");
        Assert.Equal(2, bad.WaitForExit(Patience));
        Assert.Contains("--for: 'forever' is not a duration", bad.Output, StringComparison.Ordinal);

        // lo is no TUN device and nothing else is named: nothing can have dropped.
        (int exit, string text) = await DiagnoseAsync(["--for", "1s", "--json", "lo"], () => { });
        Assert.Equal(0, exit);
        Assert.Equal(JsonValueKind.Array, JsonDocument.Parse(text).RootElement.ValueKind);
    }

    /// <summary>Runs diagnose, does <paramref name="during"/> once it watches, and returns its exit code and standard output.</summary>
    private async Task<(int Exit, string Output)> DiagnoseAsync(string[] arguments, Action during)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AgentProcess.AgentDirectory, "TunTelemetry.Agent.dll"));
        start.ArgumentList.Add("diagnose");
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process diagnose = Process.Start(start)!;
        Task<string> stdout = diagnose.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Patience);
        string? line = await diagnose.StandardError.ReadLineAsync(timeout.Token);
        Assert.True(line?.Contains(" watching ", StringComparison.Ordinal) == true, $"diagnose said: {line}");
        during();
        await diagnose.WaitForExitAsync(timeout.Token);
        string text = await stdout;
        output.WriteLine(text + await diagnose.StandardError.ReadToEndAsync());
        return (diagnose.ExitCode, text);
    }

    private static string[] Lines(string text) => text.Split('\n');
}
