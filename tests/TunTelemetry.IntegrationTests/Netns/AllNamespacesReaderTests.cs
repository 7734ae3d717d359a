using System.Globalization;
using System.Text.Json;
using TunTelemetry.IntegrationTests.Otlp;
using TunTelemetry.IntegrationTests.Support;
using TunTelemetry.Metrics;
using Xunit;
using Xunit.Abstractions;

namespace TunTelemetry.IntegrationTests.Netns;

/// <summary>
/// The real agent with <c>--all-namespaces</c> naming the readers of devices in every namespace: one device name in the
/// agent's own namespace and in two namespaces the test makes, each device held by its own real process (Debian's
/// <c>python3</c>, <c>Support/tun_holder.py</c>), checked through a real OTLP receiver, the console view and
/// <c>snapshot</c>.
/// </summary>
public sealed class AllNamespacesReaderTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [NetAdminFact]
    public async Task Each_namespaces_device_names_its_own_holder_only_the_stopped_one_is_flagged_and_a_reader_that_exits_leaves()
    {
        string device = $"tr{Random.Shared.Next(0, 0xffffff):x6}";
        string config = Path.GetTempFileName();
        using TestNetworkNamespace first = TestNetworkNamespace.CreateNamed();
        using TestNetworkNamespace second = TestNetworkNamespace.CreateNamed();
        first.AddTun(device); // persistent: it stays when its holder exits
        using TunHolder ownHolder = await TunHolder.StartAsync(device);
        using TunHolder firstHolder = await TunHolder.StartAsync(device, first.Name);
        using TunHolder secondHolder = await TunHolder.StartAsync(device, second.Name);
        secondHolder.Stop(secondHolder.Pid);
        long own = OwnInode(), firstInode = (long)first.Inode, secondInode = (long)second.Inode;
        try
        {
            File.WriteAllText(config, "tuntelemetry.metrics.reader-interval = 1s\n");
            await using OtlpTestReceiver receiver = await OtlpTestReceiver.StartAsync();
            var environment = new Dictionary<string, string>
            {
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.GrpcEndpoint.ToString().TrimEnd('/'),
                ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
            };
            using AgentProcess agent = AgentProcess.Start(environment,
                "run", "--console", "--all-namespaces", "--config", config, "--poll-interval", "500ms", "--include", $"^{device}$");
            try
            {
                await receiver.WaitForAsync(r => Readers(r, device, own).Count == 1 && Readers(r, device, firstInode).Count == 1
                    && Readers(r, device, secondInode).Count == 1, Patience, $"one reader of {device} in each of the three namespaces\n{agent.Output}");
                Assert.Equal([(ownHolder.Pid, "python3", 0L)], Readers(receiver, device, own));
                Assert.Equal([(firstHolder.Pid, "python3", 0L)], Readers(receiver, device, firstInode));
                Assert.Equal([(secondHolder.Pid, "python3", 1L)], Readers(receiver, device, secondInode)); // the stopped one only

                // The reader series name the namespace as the device's other series do.
                DataPoint reader = receiver.Latest(MetricNames.Reader, (MetricNames.InterfaceName, device), (MetricNames.NetnsInode, firstInode))!;
                Assert.Equal(first.Name, reader.Attributes[MetricNames.NetnsName]);
                string ownName = (string)receiver.Latest(MetricNames.TxQueueDrops, (MetricNames.InterfaceName, device), (MetricNames.NetnsInode, own))!
                    .Attributes[MetricNames.NetnsName];
                Assert.Equal(ownName, receiver.Latest(MetricNames.Reader, (MetricNames.InterfaceName, device), (MetricNames.NetnsInode, own))!
                    .Attributes[MetricNames.NetnsName]);

                // The console view names the readers of the other namespaces' devices too, flagging the stopped one.
                await agent.WaitForAsync(a => ConsoleLine(a, $"{device}@{first.Name}")?.Contains($"python3[{firstHolder.Pid}]", StringComparison.Ordinal) == true
                    && ConsoleLine(a, $"{device}@{second.Name}")?.Contains($"python3[{secondHolder.Pid}]:STOPPED", StringComparison.Ordinal) == true
                    && ConsoleLine(a, device)?.Contains($"python3[{ownHolder.Pid}]", StringComparison.Ordinal) == true,
                    Patience, "console lines naming each device's reader");

                // The first namespace's reader exits; its persistent device stays watched, and only its reader series leaves.
                firstHolder.Kill(firstHolder.Pid);
                await receiver.WaitForAsync(r => Readers(r, device, firstInode).Count == 0 && Readers(r, device, own).Count == 1
                    && Readers(r, device, secondInode).Count == 1, Patience, $"the exited reader of {device} in {first.Name} to leave\n{agent.Output}");
                Assert.NotNull(LatestExport(receiver, MetricNames.TxQueueDrops, device, firstInode));
                Assert.Equal(0, agent.Terminate(Patience));
            }
            finally
            {
                output.WriteLine(agent.Output);
            }
        }
        finally
        {
            File.Delete(config);
        }
    }

    [NetAdminFact]
    public async Task Snapshot_all_namespaces_names_each_namespaces_readers_and_follows_a_device_moved_away_from_its_holder()
    {
        string device = $"tq{Random.Shared.Next(0, 0xffffff):x6}";
        string moved = $"tm{Random.Shared.Next(0, 0xffffff):x6}";
        using TestNetworkNamespace first = TestNetworkNamespace.CreateNamed();
        using TestNetworkNamespace second = TestNetworkNamespace.CreateNamed();
        using TunHolder firstHolder = await TunHolder.StartAsync(device, first.Name);
        using TunHolder secondHolder = await TunHolder.StartAsync(device, second.Name);
        secondHolder.Stop(secondHolder.Pid);

        // Measured: a device moved to another namespace stays attached to its holder, whose fdinfo still names it while
        // the holder's own ns/net stays where it was. Named once among the namespaces, it is still its holder's.
        using TunHolder movedHolder = await TunHolder.StartAsync(moved, first.Name);
        first.Ip("link", "set", "dev", moved, "netns", second.Name!);

        JsonElement[] devices = Snapshot();
        Assert.Equal([(firstHolder.Pid, "sleeping")], ReadersOf(devices, device, first.Inode));
        Assert.Equal([(secondHolder.Pid, "stopped")], ReadersOf(devices, device, second.Inode));
        Assert.Equal([(movedHolder.Pid, "sleeping")], ReadersOf(devices, moved, second.Inode));
        Assert.DoesNotContain(devices, d => d.GetProperty("name").GetString() == moved && d.GetProperty("netns").GetProperty("inode").GetUInt64() == first.Inode);

        using AgentProcess table = AgentProcess.Start(new Dictionary<string, string>(), "snapshot", "--all-namespaces");
        Assert.Equal(0, table.WaitForExit(Patience));
        string readersRow = Assert.Single(table.Output.Split('\n'), l => l.StartsWith("readers ", StringComparison.Ordinal));
        Assert.Contains($"python3[{firstHolder.Pid}]", readersRow, StringComparison.Ordinal);
        Assert.Contains($"python3[{secondHolder.Pid}]:STOPPED", readersRow, StringComparison.Ordinal);
        Assert.Contains($"python3[{movedHolder.Pid}]", readersRow, StringComparison.Ordinal);
    }

    private JsonElement[] Snapshot()
    {
        using AgentProcess json = AgentProcess.Start(new Dictionary<string, string>(), "snapshot", "--all-namespaces", "--json");
        Assert.Equal(0, json.WaitForExit(Patience));
        output.WriteLine(json.Output);
        return JsonDocument.Parse(json.Output).RootElement.EnumerateArray().Select(e => e.Clone()).ToArray();
    }

    /// <summary>(pid, state) of the readers of <paramref name="device"/> in the namespace <paramref name="inode"/> in a snapshot.</summary>
    private static List<(int Pid, string State)> ReadersOf(JsonElement[] devices, string device, ulong inode)
    {
        JsonElement entry = Assert.Single(devices, d => d.GetProperty("name").GetString() == device
            && d.GetProperty("netns").GetProperty("inode").GetUInt64() == inode);
        return entry.GetProperty("readers").EnumerateArray()
            .Select(r => (r.GetProperty("pid").GetInt32(), r.GetProperty("state").GetString()!))
            .ToList();
    }

    /// <summary>(pid, comm, stopped) of every reader of the device in one namespace in the last export, by pid.</summary>
    private static List<(long Pid, string Name, long Stopped)> Readers(OtlpTestReceiver receiver, string device, long inode)
    {
        if (receiver.Received.LastOrDefault() is not { } last)
        {
            return [];
        }

        Metric[] metrics = last.SelectMany(r => r.Metrics).ToArray();
        bool Of(DataPoint p) => Equals(p.Attributes.GetValueOrDefault(MetricNames.InterfaceName), device)
            && Equals(p.Attributes.GetValueOrDefault(MetricNames.NetnsInode), inode);
        DataPoint[] stopped = metrics.Where(m => m.Name == MetricNames.ReaderStopped).SelectMany(m => m.Points).Where(Of).ToArray();
        return metrics.Where(m => m.Name == MetricNames.Reader).SelectMany(m => m.Points).Where(Of)
            .Select(p =>
            {
                long pid = (long)p.Attributes[MetricNames.ProcessPid];
                long isStopped = stopped.Single(s => Equals(s.Attributes.GetValueOrDefault(MetricNames.ProcessPid), pid)).AsInt!.Value;
                return (pid, (string)p.Attributes[MetricNames.ProcessExecutableName], isStopped);
            })
            .OrderBy(r => r.pid)
            .ToList();
    }

    private static DataPoint? LatestExport(OtlpTestReceiver receiver, string metric, string device, long inode) =>
        (receiver.Received.LastOrDefault() ?? []).SelectMany(r => r.Metrics).Where(m => m.Name == metric).SelectMany(m => m.Points)
            .FirstOrDefault(p => Equals(p.Attributes.GetValueOrDefault(MetricNames.InterfaceName), device)
                && Equals(p.Attributes.GetValueOrDefault(MetricNames.NetnsInode), inode));

    /// <summary>The last console line of a device (as the view names it: NAME or NAME@NAMESPACE).</summary>
    private static string? ConsoleLine(AgentProcess agent, string displayName) =>
        agent.Output.Split('\n').LastOrDefault(l => l.Trim().StartsWith(displayName + " ", StringComparison.Ordinal));

    private static long OwnInode() =>
        long.Parse(Command.Run("stat", "-L", "-c", "%i", "/proc/self/ns/net").Trim(), CultureInfo.InvariantCulture);
}
