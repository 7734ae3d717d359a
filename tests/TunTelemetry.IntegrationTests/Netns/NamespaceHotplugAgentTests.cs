using System.Text.RegularExpressions;
using TunTelemetry.IntegrationTests.Otlp;
using TunTelemetry.IntegrationTests.Support;
using TunTelemetry.Metrics;
using Xunit;
using Xunit.Abstractions;

namespace TunTelemetry.IntegrationTests.Netns;

/// <summary>
/// The real agent with <c>--all-namespaces</c>, exporting to a real OTLP receiver: a TUN device created, deleted or
/// moved in another namespace while the agent runs is seen within the tests' deadlines through the link events of every
/// namespace (<c>NETLINK_LISTEN_ALL_NSID</c>); without them a namespace is listed again only once a minute
/// (<see cref="Actors.NamespaceDiscoveryActor.RelistInterval"/>). Devices are polled every second, by their own pollers.
/// </summary>
public sealed class NamespaceHotplugAgentTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [NetAdminFact]
    public async Task A_tun_device_created_in_another_namespace_is_watched_and_its_drops_exported_and_when_deleted_it_leaves_from_link_events_alone()
    {
        string device = $"th{Random.Shared.Next(0, 0xffffff):x6}";
        using TestNetworkNamespace ns = TestNetworkNamespace.CreateNamed();
        string config = Path.GetTempFileName();
        await using OtlpTestReceiver receiver = await OtlpTestReceiver.StartAsync();
        using AgentProcess agent = StartAgent(receiver, device, config);
        try
        {
            await agent.WaitForOutputAsync($"Watching network namespace {ns.Name}", Patience); // its first listing found nothing
            ns.AddTun(device);
            Assert.Equal(9, ns.DropPackets(device, 9));
            await receiver.WaitForAsync(r => r.Latest(MetricNames.TxQueueDrops, Of(device, ns))?.AsInt == 9, Patience,
                $"tundev.txq.drops of {device}, created in {ns.Name} after the agent's first poll, to be 9\n{agent.Output}");
            Assert.Equal(9UL, ns.Statistic(device, "tx", "dropped"));

            ns.Ip("link", "del", device);
            await agent.WaitForOutputAsync($"Stopped watching {device}", Patience); // its listing or its poller found it gone
            await receiver.WaitForAsync(r => !Exported(r, device, (long)ns.Inode), Patience,
                $"the series of {device}, deleted in {ns.Name}, to leave after retain-deleted\n{agent.Output}");
            Assert.False(agent.HasExited, agent.Output);
            Assert.Equal(0, agent.Terminate(Patience));
        }
        finally
        {
            output.WriteLine(agent.Output);
            File.Delete(config);
        }
    }

    [NetAdminFact]
    public async Task A_tun_device_moved_from_one_namespace_to_another_leaves_the_first_and_appears_in_the_second_from_link_events_alone()
    {
        string device = $"tv{Random.Shared.Next(0, 0xffffff):x6}";
        using TestNetworkNamespace from = TestNetworkNamespace.CreateNamed();
        using TestNetworkNamespace to = TestNetworkNamespace.CreateNamed();
        from.AddTun(device);
        Assert.Equal(13, from.DropPackets(device, 13));
        string config = Path.GetTempFileName();
        await using OtlpTestReceiver receiver = await OtlpTestReceiver.StartAsync();
        using AgentProcess agent = StartAgent(receiver, device, config);
        try
        {
            await receiver.WaitForAsync(r => r.Latest(MetricNames.TxQueueDrops, Of(device, from))?.AsInt == 13, Patience,
                $"the first poll to read 13 drops of {device} in {from.Name}\n{agent.Output}");
            await agent.WaitForOutputAsync($"Watching network namespace {to.Name}", Patience);

            from.Ip("link", "set", "dev", device, "netns", to.Name!);

            // Its counters moved with it: the series in the new namespace starts at the device's whole value.
            await receiver.WaitForAsync(r => r.Latest(MetricNames.TxQueueDrops, Of(device, to))?.AsInt == 13, Patience,
                $"{device} moved to {to.Name} to be exported there with its 13 drops\n{agent.Output}");
            await receiver.WaitForAsync(r => !Exported(r, device, (long)from.Inode) && Exported(r, device, (long)to.Inode), Patience,
                $"the series of {device} in {from.Name} to leave\n{agent.Output}");
            Assert.Equal(0, agent.Terminate(Patience));
        }
        finally
        {
            output.WriteLine(agent.Output);
            File.Delete(config);
        }
    }

    [NetAdminFact]
    public async Task A_namespace_id_freed_by_a_dead_namespace_and_given_to_a_new_one_routes_the_new_one_s_events_to_its_own_poller()
    {
        string device = $"tr{Random.Shared.Next(0, 0xffffff):x6}";
        string config = Path.GetTempFileName();
        TestNetworkNamespace dead = TestNetworkNamespace.CreateNamed();
        TestNetworkNamespace? reborn = null;
        await using OtlpTestReceiver receiver = await OtlpTestReceiver.StartAsync();
        using AgentProcess agent = StartAgent(receiver, device, config);
        try
        {
            dead.AddTun(device);
            Assert.Equal(4, dead.DropPackets(device, 4));
            dead.Ip("link", "set", device, "mtu", "1400");
            await receiver.WaitForAsync(r => r.Latest(MetricNames.TxQueueDrops, Of(device, dead))?.AsInt == 4, Patience,
                $"4 drops of {device} in {dead.Name}\n{agent.Output}");
            long deadInode = (long)dead.Inode;
            int deadId = IdOf(agent, dead.Name!);

            // The namespace dies and the kernel frees its id; the next namespace given an id gets the lowest free one,
            // most often that one (unless a namespace made meanwhile by something else took it).
            dead.Delete();
            await receiver.WaitForAsync(r => !Exported(r, device, deadInode), Patience,
                $"the series of {device} in the dead namespace to leave\n{agent.Output}");
            reborn = TestNetworkNamespace.CreateNamed();
            await agent.WaitForOutputAsync($"Watching network namespace {reborn.Name}", Patience);
            output.WriteLine($"id {deadId} of the dead namespace, id {IdOf(agent, reborn.Name!)} of the new one");

            reborn.AddTun(device);
            Assert.Equal(6, reborn.DropPackets(device, 6));
            reborn.Ip("link", "set", device, "mtu", "1400");
            await receiver.WaitForAsync(r => r.Latest(MetricNames.TxQueueDrops, Of(device, reborn))?.AsInt == 6, Patience,
                $"6 drops of {device} in {reborn.Name}, under its own namespace\n{agent.Output}");
            // The kernel may give the new namespace the dead one's inode too: the name tells them apart.
            Assert.Equal(reborn.Name, receiver.Latest(MetricNames.TxQueueDrops, Of(device, reborn))!.Attributes[MetricNames.NetnsName]);
            Assert.DoesNotContain(LatestPoints(receiver, device), p => Equals(p.Attributes.GetValueOrDefault(MetricNames.NetnsName), dead.Name));
            Assert.Equal(0, agent.Terminate(Patience));
        }
        finally
        {
            output.WriteLine(agent.Output);
            dead.Dispose();
            reborn?.Dispose();
            File.Delete(config);
        }
    }

    [NetAdminFact]
    public async Task With_CAP_NET_ADMIN_alone_the_agent_says_in_one_line_that_it_needs_CAP_NET_BROADCAST_for_link_events_and_polls_other_namespaces()
    {
        string device = $"tb{Random.Shared.Next(0, 0xffffff):x6}";
        using TestNetworkNamespace ns = TestNetworkNamespace.CreateNamed();
        ns.AddTun(device);
        Assert.Equal(8, ns.DropPackets(device, 8));
        await using OtlpTestReceiver receiver = await OtlpTestReceiver.StartAsync();
        var environment = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.GrpcEndpoint.ToString().TrimEnd('/'),
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
            ["HOME"] = "/tmp",
            ["DOTNET_CLI_HOME"] = "/tmp",
        };
        // As the measured least privilege: nobody with CAP_NET_ADMIN as its only (ambient) capability.
        string[] netAdminOnly = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all,+net_admin", "--ambient-caps=+net_admin"];
        using AgentProcess agent = AgentProcess.StartUnder(netAdminOnly, environment,
            "run", "--no-console", "--all-namespaces", "--poll-interval", "500ms", "--include", $"^{device}$");
        try
        {
            await agent.WaitForOutputAsync("CAP_NET_BROADCAST", Patience);
            await receiver.WaitForAsync(r => r.Latest(MetricNames.TxQueueDrops, Of(device, ns))?.AsInt == 8, Patience,
                $"8 drops of {device} in {ns.Name}, read by its poller\n{agent.Output}");
            string line = Assert.Single(agent.Output.Split('\n'), l => l.Contains("CAP_NET_BROADCAST", StringComparison.Ordinal));
            Assert.Contains("seen at each namespace's next listing", line, StringComparison.Ordinal);
            Assert.DoesNotContain("CAP_NET_ADMIN", agent.Output, StringComparison.Ordinal);
            Assert.Equal(0, agent.Terminate(Patience));
        }
        finally
        {
            output.WriteLine(agent.Output);
        }
    }

    private static int IdOf(AgentProcess agent, string name)
    {
        Match match = Regex.Match(agent.Output, $@"Watching network namespace {Regex.Escape(name)} \(netns:\[\d+\], id (\d+) in ours\)");
        Assert.True(match.Success, $"no line giving the id of {name}\n{agent.Output}");
        return int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static AgentProcess StartAgent(OtlpTestReceiver receiver, string device, string config)
    {
        File.WriteAllText(config, "tuntelemetry.metrics { retain-deleted = 2s, link-state-interval = 10m }\n");
        var environment = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.GrpcEndpoint.ToString().TrimEnd('/'),
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
        };
        return AgentProcess.Start(environment,
            "run", "--no-console", "--all-namespaces", "--config", config, "--poll-interval", "1s", "--include", $"^{device}$");
    }

    private static (string, object)[] Of(string device, TestNetworkNamespace ns) =>
        [(MetricNames.InterfaceName, device), (MetricNames.NetnsInode, (long)ns.Inode)];

    /// <summary>Whether the newest export has a tundev.txq.drops point of that device in that namespace.</summary>
    private static bool Exported(OtlpTestReceiver receiver, string device, long inode) =>
        LatestPoints(receiver, device).Any(p => Equals(p.Attributes.GetValueOrDefault(MetricNames.NetnsInode), inode));

    /// <summary>The tundev.txq.drops points of that device in the newest export.</summary>
    private static IEnumerable<DataPoint> LatestPoints(OtlpTestReceiver receiver, string device) =>
        (receiver.Received.LastOrDefault() ?? []).SelectMany(r => r.Metrics).Where(m => m.Name == MetricNames.TxQueueDrops).SelectMany(m => m.Points)
            .Where(p => Equals(p.Attributes.GetValueOrDefault(MetricNames.InterfaceName), device));
}
