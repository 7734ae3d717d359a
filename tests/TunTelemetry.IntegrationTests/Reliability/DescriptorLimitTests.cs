using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using TunTelemetry.IntegrationTests.Otlp;
using TunTelemetry.IntegrationTests.Support;
using TunTelemetry.Metrics;
using Xunit;
using Xunit.Abstractions;

namespace TunTelemetry.IntegrationTests.Reliability;

/// <summary>
/// The agent as shipped, run by <c>prlimit --nofile</c> in a namespace with more TUN devices than its descriptors allow
/// (two sockets per device with link-state on), exporting to a real OTLP receiver it reaches over a veth pair. Before,
/// the process died ("Out of memory.": the runtime could not start a thread once device sockets had taken every
/// descriptor) after thousands of per-device warnings.
/// </summary>
public sealed partial class DescriptorLimitTests(ITestOutputHelper output)
{
    private const int Devices = 150;

    // The agent holds about 210 descriptors of its own (two per loaded assembly, most of them) and keeps 64 in reserve:
    // 360 leaves room for a few dozen of the 150 devices.
    private const int Limit = 360;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [NetAdminFact]
    public async Task Out_of_descriptors_the_agent_stays_up_says_so_once_and_watches_the_rest_when_devices_leave()
    {
        using TestNetworkNamespace ns = TestNetworkNamespace.CreateNamed();
        // No IPv6: the kernel's router solicitations would add a drop or two to the exact counts.
        Command.Run("ip", "netns", "exec", ns.Name!, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
        string tag = $"{Random.Shared.Next(0, 0xffffff):x6}";
        string hostSide = $"ttfd{tag}h", nsSide = $"ttfd{tag}n";
        int segment = Random.Shared.Next(0, 64 * 256);
        string hostAddress = $"10.251.{segment / 64}.{(segment % 64 * 4) + 1}", nsAddress = $"10.251.{segment / 64}.{(segment % 64 * 4) + 2}";
        Command.Run("ip", "link", "add", hostSide, "type", "veth", "peer", "name", nsSide, "netns", ns.Name!);
        AgentProcess? agent = null;
        try
        {
            Command.Run("ip", "addr", "add", $"{hostAddress}/30", "dev", hostSide);
            Command.Run("ip", "link", "set", hostSide, "up");
            ns.Ip("addr", "add", $"{nsAddress}/30", "dev", nsSide);
            ns.Ip("link", "set", nsSide, "up");
            string[] names = AddDevices(ns);
            await using OtlpTestReceiver receiver = await OtlpTestReceiver.StartAsync(address: IPAddress.Parse(hostAddress));

            agent = AgentProcess.StartUnder(["ip", "netns", "exec", ns.Name!, "prlimit", $"--nofile={Limit}:{Limit}", "--"],
                new Dictionary<string, string>
                {
                    ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.GrpcEndpoint.ToString().TrimEnd('/'),
                    ["OTEL_METRIC_EXPORT_INTERVAL"] = "1000",
                },
                "run", "--no-console", "--poll-interval", "1s", "--include", "^tf[0-9]+$");

            // One line says it, with the limit and how many devices are watched and not.
            await agent.WaitForOutputAsync("Out of file descriptors:", Patience);
            Match began = BeganLine().Match(agent.Output);
            Assert.True(began.Success, agent.Output);
            int watched = int.Parse(began.Groups[1].Value, CultureInfo.InvariantCulture);
            int notWatched = int.Parse(began.Groups[2].Value, CultureInfo.InvariantCulture);
            output.WriteLine(began.Value);
            Assert.True(watched > 0 && notWatched > 0, began.Value);
            Assert.Equal(Devices, watched + notWatched);
            Assert.Contains($"(RLIMIT_NOFILE {Limit}, of which 64 are kept for the agent itself", began.Value, StringComparison.Ordinal);

            // Devices not watched are not counted as watched, and are counted as waiting, as many as the line says.
            await receiver.WaitForAsync(r => DevicesWatched(r) is > 0 and < Devices, Patience, $"tuntelemetry.devices.watched below {Devices}");
            await receiver.WaitForAsync(r => DevicesWaiting(r) == notWatched, Patience, $"tuntelemetry.devices.waiting at {notWatched}");

            // The devices it watches are exported, exactly.
            await receiver.WaitForAsync(r => Exported(r).Count >= watched, Patience, $"{watched} devices exported");
            string[] exported = [.. Exported(receiver).Order(StringComparer.Ordinal)];
            foreach (string device in exported.Take(2))
            {
                await AssertExportedExactlyAsync(ns, receiver, device);
            }

            // Devices leave: most of those not watched, and six watched ones (their sockets close). The three not watched
            // that are left get the freed descriptors.
            string[] waiting = [.. names.Except(exported)];
            string[] kept = waiting[..3];
            string[] deleted = [.. waiting[3..], .. exported[^6..]];
            DeleteDevices(ns, deleted);
            await agent.WaitForOutputAsync("File descriptors suffice again:", Patience);
            Assert.Contains($"File descriptors suffice again: all {Devices - deleted.Length} devices watched (RLIMIT_NOFILE {Limit})", agent.Output, StringComparison.Ordinal);
            await receiver.WaitForAsync(r => kept.All(Exported(r).Contains), Patience, $"{string.Join(", ", kept)} exported");
            await receiver.WaitForAsync(r => DevicesWatched(r) == Devices - deleted.Length, Patience,
                $"tuntelemetry.devices.watched at {Devices - deleted.Length}");
            await receiver.WaitForAsync(r => DevicesWaiting(r) == 0, Patience, "tuntelemetry.devices.waiting at 0");
            await AssertExportedExactlyAsync(ns, receiver, kept[0]);

            // Still up; the shortage was said once, never per device or retry.
            Assert.False(agent.HasExited, agent.Output);
            string log = agent.Output;
            Assert.Single(BeganLine().Matches(log));
            Assert.DoesNotContain("EMFILE", log, StringComparison.Ordinal);
            Assert.DoesNotContain("Exception during creation", log, StringComparison.Ordinal);
            Assert.DoesNotContain("Out of memory", log, StringComparison.Ordinal);
            Assert.Equal(0, agent.Terminate(Patience));
        }
        finally
        {
            if (agent is not null)
            {
                output.WriteLine(string.Join('\n', agent.Output.Split('\n').Where(l => !l.Contains("Watching tf", StringComparison.Ordinal))));
                agent.Dispose();
            }

            Command.TryRun("ip", "link", "del", hostSide);
        }
    }

    private static long? DevicesWatched(OtlpTestReceiver receiver) => receiver.Latest(MetricNames.DevicesWatched)?.AsInt;

    private static long? DevicesWaiting(OtlpTestReceiver receiver) => receiver.Latest(MetricNames.DevicesWaiting)?.AsInt;

    private static HashSet<string> Exported(OtlpTestReceiver receiver) =>
        receiver.DevicesOf(MetricNames.TxQueueDrops).Where(d => d.StartsWith("tf", StringComparison.Ordinal)).ToHashSet();

    /// <summary>Makes the device drop (500 packets fill its queue, nobody reads it) and waits for the export to equal the kernel's count.</summary>
    private static async Task AssertExportedExactlyAsync(TestNetworkNamespace ns, OtlpTestReceiver receiver, string device)
    {
        Assert.Equal(512, ns.DropPackets(device, 512));
        long kernel = (long)ns.Statistic(device, "tx", "dropped");
        Assert.True(kernel >= 12, $"{device} dropped only {kernel}");
        await receiver.WaitForAsync(r => r.Latest(MetricNames.TxQueueDrops, (MetricNames.InterfaceName, device))?.AsInt == kernel,
            Patience, $"{device} exported at its kernel tx_dropped {kernel}");
    }

    private static string[] AddDevices(TestNetworkNamespace ns)
    {
        string[] names = [.. Enumerable.Range(0, Devices).Select(i => $"tf{i:000}")];
        RunBatch(ns, names.SelectMany(n => new[] { $"tuntap add dev {n} mode tun", $"link set {n} up" }));
        return names;
    }

    private static void DeleteDevices(TestNetworkNamespace ns, IEnumerable<string> names) =>
        RunBatch(ns, names.Select(n => $"link del {n}"));

    private static void RunBatch(TestNetworkNamespace ns, IEnumerable<string> commands)
    {
        string batch = Path.Combine(Path.GetTempPath(), $"tt-batch-{Guid.NewGuid():N}");
        File.WriteAllLines(batch, commands);
        try
        {
            ns.Ip("-batch", batch);
        }
        finally
        {
            File.Delete(batch);
        }
    }

    [GeneratedRegex(@"Out of file descriptors: (\d+) devices watched, (\d+) not watched[^\n]*")]
    private static partial Regex BeganLine();
}
