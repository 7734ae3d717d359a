using TunTelemetry.IntegrationTests.Otlp;
using TunTelemetry.IntegrationTests.Support;
using TunTelemetry.Metrics;
using Xunit;
using Xunit.Abstractions;

namespace TunTelemetry.IntegrationTests.EndToEnd;

/// <summary>
/// The agent as users run it, exporting to a real OTLP receiver, with real processes holding real devices: who reads
/// each device, whether it is stopped, whether the link is up, and a multi-queue device's queues.
/// </summary>
public sealed class ReaderExportTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly string _config = Path.Combine(Path.GetTempPath(), $"tt-{Guid.NewGuid():N}.conf");

    [NetAdminFact]
    public async Task The_agent_names_each_devices_readers_flags_a_stopped_one_and_exports_link_up_and_queues()
    {
        File.WriteAllText(_config, """
            tuntelemetry.metrics.reader-interval = 1s
            tuntelemetry.metrics.link-state-interval = 500ms
            """);
        string prefix = $"tx{Random.Shared.Next(0, 0xffffff):x6}";
        await using OtlpTestReceiver receiver = await OtlpTestReceiver.StartAsync();
        using TestNetworkNamespace netns = TestNetworkNamespace.CreateNamed();
        using TunHolder single = await TunHolder.StartAsync(prefix + "s");
        using TunHolder elsewhere = await TunHolder.StartAsync(single.Name, netns.Name); // same name, other namespace
        using TunHolder multi = await TunHolder.StartAsync(prefix + "m", null, "--queues", "3", "--detach", "1", "--fork");
        var environment = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.GrpcEndpoint.ToString().TrimEnd('/'),
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
        };
        using AgentProcess agent = AgentProcess.Start(environment,
            "run", "--console", "--config", _config, "--poll-interval", "500ms", "--include", $"^{prefix}");
        try
        {
            await receiver.WaitForAsync(r => Readers(r, single.Name).Count == 1 && Readers(r, multi.Name).Count == 2,
                Patience, $"the readers of {single.Name} and {multi.Name}");
            Assert.Equal([(single.Pid, "python3", 0L)], Readers(receiver, single.Name)); // not the other namespace's holder
            Assert.Equal(multi.Pids.Order().Select(p => ((long)p, "python3", 0L)).ToList(), Readers(receiver, multi.Name));

            await receiver.WaitForAsync(r => r.Latest(MetricNames.LinkQueues, (MetricNames.InterfaceName, multi.Name)) is not null,
                Patience, $"the queues of {multi.Name}");
            Assert.Equal(2, receiver.Latest(MetricNames.LinkQueues, (MetricNames.InterfaceName, multi.Name), (MetricNames.QueueState, "enabled"))?.AsInt);
            Assert.Equal(1, receiver.Latest(MetricNames.LinkQueues, (MetricNames.InterfaceName, multi.Name), (MetricNames.QueueState, "disabled"))?.AsInt);
            Assert.Null(receiver.Latest(MetricNames.LinkQueues, (MetricNames.InterfaceName, single.Name))); // the kernel reports none
            Assert.Equal(1, receiver.Latest(MetricNames.LinkUp, (MetricNames.InterfaceName, single.Name))?.AsInt);
            Assert.Equal(0, receiver.Latest(MetricNames.LinkOperState, (MetricNames.InterfaceName, single.Name))?.AsInt); // "unknown"

            // The reader stops; packets overflow its queue (txqueuelen 500) and are dropped.
            single.Stop(single.Pid);
            Assert.Equal(600, PacketWriter.Send(single.Name, 600));
            await receiver.WaitForAsync(
                r => Readers(r, single.Name) is [(_, _, 1L)] && r.Latest(MetricNames.TxQueueDrops, (MetricNames.InterfaceName, single.Name))?.AsInt == 100,
                Patience, $"{single.Name}'s reader stopped and 100 drops");
            // "drops grow and ..." when the scan saw the stop before the block with the growth, else "its reader is not running".
            await agent.WaitForOutputAsync($"python3[{single.Pid}]:STOPPED  <- ", Patience);

            // One of the two processes holding the multi-queue device exits: its series leaves at the next scan.
            multi.Kill(multi.Pids[1]);
            await receiver.WaitForAsync(r => Readers(r, multi.Name).Count == 1, Patience, $"one reader of {multi.Name} left");
            Assert.Equal([(multi.Pid, "python3", 0L)], Readers(receiver, multi.Name));
        }
        finally
        {
            output.WriteLine(agent.Output);
        }
    }

    /// <summary>(pid, comm, stopped) of every reader of <paramref name="device"/> in the last export, by pid.</summary>
    private static List<(long Pid, string Name, long Stopped)> Readers(OtlpTestReceiver receiver, string device)
    {
        if (receiver.Received.LastOrDefault() is not { } last)
        {
            return [];
        }

        Metric[] metrics = last.SelectMany(r => r.Metrics).ToArray();
        DataPoint[] stopped = metrics.Where(m => m.Name == MetricNames.ReaderStopped).SelectMany(m => m.Points).ToArray();
        return metrics.Where(m => m.Name == MetricNames.Reader).SelectMany(m => m.Points)
            .Where(p => Equals(p.Attributes.GetValueOrDefault(MetricNames.InterfaceName), device))
            .Select(p =>
            {
                long pid = (long)p.Attributes[MetricNames.ProcessPid];
                long isStopped = stopped.Single(s => Equals(s.Attributes.GetValueOrDefault(MetricNames.InterfaceName), device)
                    && Equals(s.Attributes.GetValueOrDefault(MetricNames.ProcessPid), pid)).AsInt!.Value;
                return (pid, (string)p.Attributes[MetricNames.ProcessExecutableName], isStopped);
            })
            .OrderBy(r => r.pid)
            .ToList();
    }

    public void Dispose() => File.Delete(_config);
}
