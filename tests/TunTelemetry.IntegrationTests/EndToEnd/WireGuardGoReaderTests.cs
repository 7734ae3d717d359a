using System.Text.Json;
using TunTelemetry.IntegrationTests.Support;
using Xunit;
using Xunit.Abstractions;

namespace TunTelemetry.IntegrationTests.EndToEnd;

/// <summary>
/// A real VPN daemon from Debian's packages (<c>wireguard-go</c>, <c>apt-get install wireguard-go</c>) in a test
/// namespace: with no peer configured nothing it reads leaves the namespace. Stopped with SIGSTOP, its device drops
/// what is written into it, and the agent (run in the same namespace) names it as the device's stopped reader.
/// </summary>
public sealed class WireGuardGoReaderTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly string _config = Path.Combine(Path.GetTempPath(), $"tt-{Guid.NewGuid():N}.conf");

    public void Dispose() => File.Delete(_config);

    [NetAdminFact]
    public async Task A_stopped_wireguard_go_is_named_as_its_devices_stopped_reader_while_the_device_drops()
    {
        // Its own name: wireguard-go's control socket is /var/run/wireguard/NAME.sock, one per host, not per namespace.
        string device = $"wg{Random.Shared.Next(0, 0xffffff):x6}";
        using TestNetworkNamespace ns = TestNetworkNamespace.CreateNamed();
        string netns = ns.Name!;
        // No IPv6: the kernel's router solicitations would add a drop or two to the exact count.
        Command.Run("ip", "netns", "exec", netns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
        using WireGuardGo wireguard = await WireGuardGo.StartAsync(netns, device);
        AgentProcess? agent = null;
        try
        {
            ns.Ip("link", "set", device, "up");
            File.WriteAllText(_config, "tuntelemetry.metrics.reader-interval = 1s");
            agent = AgentProcess.StartUnder(["ip", "netns", "exec", netns],
                new Dictionary<string, string> { ["OTEL_METRICS_EXPORTER"] = "none" },
                "run", "--console", "--config", _config, "--poll-interval", "500ms", "--include", $"^{device}$");
            await agent.WaitForOutputAsync($"wireguard-go[{wireguard.Pid}]", Patience);

            Command.Run("kill", "-STOP", $"{wireguard.Pid}");
            Assert.Equal(600, PacketWriter.Send(device, 600, netns));

            await agent.WaitForOutputAsync($"wireguard-go[{wireguard.Pid}]:STOPPED  <- ", Patience);
            await agent.WaitForAsync(a => a.ConsoleTxDropped(device) == 100, Patience, $"100 drops of {device}");
            JsonElement snapshot = Snapshot(netns, device);
            Assert.Equal(100UL, snapshot.GetProperty("stats").GetProperty("tx_dropped").GetUInt64());
            JsonElement reader = Assert.Single(snapshot.GetProperty("readers").EnumerateArray().ToArray());
            Assert.Equal(wireguard.Pid, reader.GetProperty("pid").GetInt32());
            Assert.Equal("wireguard-go", reader.GetProperty("name").GetString());
            Assert.Equal("stopped", reader.GetProperty("state").GetString());
            Assert.True(snapshot.GetProperty("link_up").GetBoolean());
            Assert.Equal("tun", snapshot.GetProperty("tun").GetProperty("type").GetString());
            output.WriteLine(snapshot.ToString());
        }
        finally
        {
            if (agent is not null)
            {
                output.WriteLine(agent.Output);
                agent.Dispose();
            }
        }
    }

    private static JsonElement Snapshot(string netns, string device)
    {
        using AgentProcess snapshot = AgentProcess.StartUnder(["ip", "netns", "exec", netns], new Dictionary<string, string>(), "snapshot", "--json", device);
        Assert.Equal(0, snapshot.WaitForExit(Patience));
        return JsonDocument.Parse(snapshot.Output).RootElement[0].Clone();
    }
}
