using System.Globalization;
using System.Text.Json;
using TunTelemetry.Agent.Demo;
using TunTelemetry.IntegrationTests.Otlp;
using TunTelemetry.IntegrationTests.Support;
using TunTelemetry.Metrics;
using Xunit;
using Xunit.Abstractions;

namespace TunTelemetry.IntegrationTests.Netns;

/// <summary>
/// The real agent with <c>--all-namespaces</c>, exporting to a real OTLP receiver, against TUN devices in network
/// namespaces the tests make (and always delete), made to drop for real by packets written inside each namespace.
/// </summary>
public sealed class AllNamespacesAgentTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [NetAdminFact]
    public async Task A_device_of_the_same_name_in_three_namespaces_is_three_series_each_equal_to_its_own_kernel_counter_and_a_deleted_namespace_leaves()
    {
        string device = $"tw{Random.Shared.Next(0, 0xffffff):x6}";
        var namespaces = new List<TestNetworkNamespace>();
        string config = Path.GetTempFileName();
        try
        {
            for (int i = 0; i < 3; i++)
            {
                TestNetworkNamespace ns = TestNetworkNamespace.CreateNamed();
                namespaces.Add(ns);
                ns.AddTun(device);
                ns.Ip("link", "set", device, "mtu", (1400 + i).ToString(CultureInfo.InvariantCulture)); // the link-state gauges tell them apart too
                Assert.Equal(10 * (i + 1), ns.DropPackets(device, 10 * (i + 1))); // 10, 20, 30: three different totals
            }

            File.WriteAllText(config, "tuntelemetry.metrics.retain-deleted = 2s\n");
            await using OtlpTestReceiver receiver = await OtlpTestReceiver.StartAsync();
            var environment = new Dictionary<string, string>
            {
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.GrpcEndpoint.ToString().TrimEnd('/'),
                ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
            };
            using AgentProcess agent = AgentProcess.Start(environment,
                "run", "--no-console", "--all-namespaces", "--config", config, "--poll-interval", "500ms", "--include", $"^{device}$");
            try
            {
                await AllMatchKernel(receiver, namespaces, device, "the first readings");

                // More drops in each namespace, differently: each series follows its own device only.
                for (int i = 0; i < namespaces.Count; i++)
                {
                    namespaces[i].DropPackets(device, 7 * (i + 1));
                }

                await AllMatchKernel(receiver, namespaces, device, "after more drops");
                foreach (TestNetworkNamespace ns in namespaces)
                {
                    DataPoint point = receiver.Latest(MetricNames.TxQueueDrops, Of(device, ns))!;
                    Assert.Equal(ns.Name, point.Attributes[MetricNames.NetnsName]);
                }

                await receiver.WaitForAsync(r => Enumerable.Range(0, 3).All(i => r.Latest(MetricNames.LinkMtu, Of(device, namespaces[i]))?.AsInt == 1400 + i),
                    Patience, $"tundev.link.mtu of {device} in each namespace\n{agent.Output}");

                await receiver.WaitForAsync(r => r.Latest(MetricNames.DevicesWatched)?.AsInt == 3, Patience,
                    $"tuntelemetry.devices.watched to count the three namespaces' devices\n{agent.Output}");

                // The agent's own namespace is not one of them: no series of this name without a namespace inode.
                Assert.DoesNotContain(receiver.Received.Last().SelectMany(r => r.Metrics).Where(m => m.Name == MetricNames.TxQueueDrops).SelectMany(m => m.Points),
                    p => Equals(p.Attributes.GetValueOrDefault(MetricNames.InterfaceName), device) && !p.Attributes.ContainsKey(MetricNames.NetnsInode));

                // A namespace deleted while watched: its device is retired and its series leave after retain-deleted
                // (2 s); the other two stay.
                TestNetworkNamespace deleted = namespaces[1];
                long deletedInode = (long)deleted.Inode;
                deleted.Delete();
                await receiver.WaitForAsync(r => !Exported(r, device, deletedInode) && Exported(r, device, (long)namespaces[0].Inode)
                    && Exported(r, device, (long)namespaces[2].Inode), Patience, $"the series of {device} in the deleted namespace to leave\n{agent.Output}");
                await agent.WaitForOutputAsync("is gone", Patience);
                await receiver.WaitForAsync(r => r.Latest(MetricNames.DevicesWatched)?.AsInt == 2, Patience, "two devices watched");
                Assert.False(agent.HasExited, agent.Output);
                Assert.Equal(0, agent.Terminate(Patience));
            }
            finally
            {
                output.WriteLine(agent.Output);
            }
        }
        finally
        {
            foreach (TestNetworkNamespace ns in namespaces)
            {
                ns.Dispose();
            }

            File.Delete(config);
        }
    }

    [NetAdminFact]
    public async Task A_device_moved_to_an_unnamed_namespace_is_retired_in_one_and_found_in_the_other()
    {
        string device = $"tm{Random.Shared.Next(0, 0xffffff):x6}";
        string config = Path.GetTempFileName();
        using TestNetworkNamespace named = TestNetworkNamespace.CreateNamed();
        using TestNetworkNamespace unnamed = TestNetworkNamespace.CreateUnnamed(); // held by an unshare -n child only
        try
        {
            named.AddTun(device);
            named.DropPackets(device, 13);
            File.WriteAllText(config, "tuntelemetry.metrics { retain-deleted = 2s, link-state-interval = 1s }\n");
            await using OtlpTestReceiver receiver = await OtlpTestReceiver.StartAsync();
            var environment = new Dictionary<string, string>
            {
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.GrpcEndpoint.ToString().TrimEnd('/'),
                ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
            };
            using AgentProcess agent = AgentProcess.Start(environment,
                "run", "--no-console", "--all-namespaces", "--config", config, "--poll-interval", "500ms", "--include", $"^{device}");
            try
            {
                await AllMatchKernel(receiver, [named], device, "before the move");
                named.Ip("link", "set", "dev", device, "netns", unnamed.HolderPid!.Value.ToString(CultureInfo.InvariantCulture));
                unnamed.Ip("link", "set", device, "up"); // a move takes a device down, and a down device takes no packets
                Assert.Equal(5, unnamed.DropPackets(device, 5));

                // Its counters moved with it: the series in the new namespace starts at the device's whole value.
                await AllMatchKernel(receiver, [unnamed], device, "after the move");
                Assert.Equal(18L, receiver.Latest(MetricNames.TxQueueDrops, Of(device, unnamed))!.AsInt);
                Assert.Equal($"pid:{unnamed.HolderPid}", receiver.Latest(MetricNames.TxQueueDrops, Of(device, unnamed))!.Attributes[MetricNames.NetnsName]);
                await receiver.WaitForAsync(r => !Exported(r, device, (long)named.Inode) && Exported(r, device, (long)unnamed.Inode), Patience,
                    $"the series of {device} in its old namespace to leave\n{agent.Output}");

                // Renamed in place (same ifindex): the new name is a new series with the device's whole value, the
                // old name's leaves.
                string renamed = device + "r";
                unnamed.Ip("link", "set", "dev", device, "name", renamed);
                await receiver.WaitForAsync(r => r.Latest(MetricNames.TxQueueDrops, Of(renamed, unnamed))?.AsInt == 18
                    && Exported(r, renamed, (long)unnamed.Inode) && !Exported(r, device, (long)unnamed.Inode), Patience,
                    $"{renamed} to replace {device} in the unnamed namespace\n{agent.Output}");
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
    public async Task Unprivileged_all_namespaces_says_once_which_capability_it_needs_and_keeps_watching_its_own_namespace()
    {
        string prefix = $"tu{Random.Shared.Next(0, 0xffffff):x6}";
        using TestNetworkNamespace other = TestNetworkNamespace.CreateNamed(); // one it could watch with CAP_NET_ADMIN
        other.AddTun(prefix + "b");
        await using OtlpTestReceiver receiver = await OtlpTestReceiver.StartAsync();
        using DroppingTunDevice tun = DroppingTunDevice.Create(name: prefix + "a");
        tun.SendPackets(1100); // 500 fill its TX queue, 600 are dropped
        var environment = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.GrpcEndpoint.ToString().TrimEnd('/'),
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "300",
        };
        using AgentProcess agent = AgentProcess.Start(environment, asNobody: true,
            "run", "--no-console", "--all-namespaces", "--poll-interval", "300ms", "--include", $"^{prefix}");
        try
        {
            await agent.WaitForOutputAsync("CAP_NET_ADMIN", Patience);
            await receiver.WaitForAsync(r => r.Latest(MetricNames.TxQueueDrops, (MetricNames.InterfaceName, tun.Name))?.AsInt == 600,
                Patience, $"600 drops of {tun.Name} in the agent's own namespace\n{agent.Output}");
            Assert.False(agent.HasExited, agent.Output);
            string line = Assert.Single(agent.Output.Split('\n'), l => l.Contains("CAP_NET_ADMIN", StringComparison.Ordinal));
            Assert.Contains("watching only the agent's own network namespace", line, StringComparison.Ordinal);

            // In all-namespaces mode the own namespace's devices name it too; the other namespace's device is not read.
            DataPoint point = receiver.Latest(MetricNames.TxQueueDrops, (MetricNames.InterfaceName, tun.Name))!;
            Assert.Equal(OwnInode(), point.Attributes[MetricNames.NetnsInode]);
            Assert.DoesNotContain(prefix + "b", receiver.DevicesOf(MetricNames.TxQueueDrops));
            Assert.Equal(0, agent.Terminate(Patience));
        }
        finally
        {
            output.WriteLine(agent.Output);
        }
    }

    [NetAdminFact]
    public void Snapshot_all_namespaces_shows_a_same_named_device_once_per_namespace_with_its_namespace_and_its_own_counters()
    {
        string device = $"ts{Random.Shared.Next(0, 0xffffff):x6}";
        using TestNetworkNamespace first = TestNetworkNamespace.CreateNamed();
        using TestNetworkNamespace second = TestNetworkNamespace.CreateNamed();
        first.AddTun(device);
        second.AddTun(device);
        first.DropPackets(device, 11);
        second.DropPackets(device, 23);

        using AgentProcess json = AgentProcess.Start(new Dictionary<string, string>(), "snapshot", "--all-namespaces", "--json");
        Assert.Equal(0, json.WaitForExit(Patience));
        List<JsonElement> found = JsonDocument.Parse(json.Output).RootElement.EnumerateArray()
            .Where(d => d.GetProperty("name").GetString() == device).ToList();
        Assert.Equal(2, found.Count);
        foreach (TestNetworkNamespace ns in new[] { first, second })
        {
            JsonElement entry = Assert.Single(found, d => d.GetProperty("netns").GetProperty("inode").GetUInt64() == ns.Inode);
            Assert.Equal(ns.Name, entry.GetProperty("netns").GetProperty("name").GetString());
            Assert.Equal(ns.Statistic(device, "tx", "dropped"), entry.GetProperty("stats").GetProperty("tx_dropped").GetUInt64());
        }

        Assert.Equal([11UL, 23UL], found.Select(d => d.GetProperty("stats").GetProperty("tx_dropped").GetUInt64()).Order());

        using AgentProcess table = AgentProcess.Start(new Dictionary<string, string>(), "snapshot", "--all-namespaces");
        Assert.Equal(0, table.WaitForExit(Patience));
        string netnsRow = Assert.Single(table.Output.Split('\n'), l => l.StartsWith("netns ", StringComparison.Ordinal));
        Assert.Contains($"{first.Name} [{first.Inode}]", netnsRow, StringComparison.Ordinal);
        Assert.Contains($"{second.Name} [{second.Inode}]", netnsRow, StringComparison.Ordinal);
    }

    [NetAdminFact]
    public async Task The_console_view_names_a_device_of_another_namespace_with_its_namespace()
    {
        string device = $"tc{Random.Shared.Next(0, 0xffffff):x6}";
        using TestNetworkNamespace ns = TestNetworkNamespace.CreateNamed();
        ns.AddTun(device);
        ns.DropPackets(device, 9);
        using AgentProcess agent = AgentProcess.Start(new Dictionary<string, string>(),
            "run", "--console", "--all-namespaces", "--poll-interval", "500ms", "--include", $"^{device}$");
        try
        {
            // The only non-zero cell of its line is tx_dropped (packets into a device nobody reads are dropped, not sent).
            await agent.WaitForAsync(a => a.Output.Split('\n').Any(l => l.Trim().StartsWith($"{device}@{ns.Name} ", StringComparison.Ordinal)
                && l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains("9")), Patience,
                $"a console line for {device}@{ns.Name} with its 9 drops");
            Assert.Equal(0, agent.Terminate(Patience));
        }
        finally
        {
            output.WriteLine(agent.Output);
        }
    }

    [Fact]
    public void Snapshot_all_namespaces_with_device_names_is_a_one_line_usage_error()
    {
        using AgentProcess snapshot = AgentProcess.Start(new Dictionary<string, string>(), "snapshot", "--all-namespaces", "tun0");
        Assert.Equal(2, snapshot.WaitForExit(Patience));
        string line = Assert.Single(snapshot.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("--all-namespaces", line, StringComparison.Ordinal);
    }

    private static (string, object)[] Of(string device, TestNetworkNamespace ns) =>
        [(MetricNames.InterfaceName, device), (MetricNames.NetnsInode, (long)ns.Inode)];

    private static async Task AllMatchKernel(OtlpTestReceiver receiver, IReadOnlyList<TestNetworkNamespace> namespaces, string device, string when)
    {
        await receiver.WaitForAsync(r => namespaces.All(ns =>
                r.Latest(MetricNames.TxQueueDrops, Of(device, ns))?.AsInt == (long)ns.Statistic(device, "tx", "dropped")),
            Patience, $"{when}: tundev.txq.drops of {device} in each namespace equal to its kernel tx_dropped ("
                + string.Join(", ", namespaces.Select(ns => $"{ns.Name}: {ns.Statistic(device, "tx", "dropped")}")) + ")");
    }

    /// <summary>Whether the newest export has a tundev.txq.drops point of that device in that namespace.</summary>
    private static bool Exported(OtlpTestReceiver receiver, string device, long inode) =>
        (receiver.Received.LastOrDefault() ?? []).SelectMany(r => r.Metrics).Where(m => m.Name == MetricNames.TxQueueDrops).SelectMany(m => m.Points)
            .Any(p => Equals(p.Attributes.GetValueOrDefault(MetricNames.InterfaceName), device)
                && Equals(p.Attributes.GetValueOrDefault(MetricNames.NetnsInode), inode));

    private static long OwnInode() =>
        long.Parse(Command.Run("stat", "-L", "-c", "%i", "/proc/self/ns/net").Trim(), CultureInfo.InvariantCulture);
}
