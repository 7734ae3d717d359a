using System.Text.Json;
using TunTelemetry.IntegrationTests.Otlp;
using TunTelemetry.IntegrationTests.Support;
using TunTelemetry.Metrics;
using Xunit;
using Xunit.Abstractions;

namespace TunTelemetry.IntegrationTests.Netns;

/// <summary>
/// Names chosen by an attacker, for real: TUN devices whose names carry terminal escape sequences (one of the kernel's
/// maximum 15 bytes), held by a process that named itself with a quote, a newline and an escape sequence, in a
/// namespace whose 255-byte name has a quote and a newline. The agent with <c>--all-namespaces</c> (its log in the
/// journal's format, and the console view), <c>snapshot</c> (table and error) and <c>diagnose</c> print none of those
/// bytes raw; <c>snapshot --json</c> and the OTLP
/// attributes carry them exactly as the kernel and <c>/proc</c> have them.
/// </summary>
public sealed class HostileNameTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    // What a process may call itself: 15 bytes, the most comm holds.
    private const string Comm = "a\"b\nc{d}\\e\u001b[31m";

    [NetAdminFact]
    public async Task Hostile_device_process_and_namespace_names_are_escaped_for_people_and_exact_for_machines()
    {
        string run = $"{Random.Shared.Next(0, 0xfffff):x5}";
        string clearing = $"h{run}\u001b[2Jx";               // 11 bytes: clears a terminal's screen
        string longest = $"m{run}x\u001b[31m\u202e";         // 15 bytes (IFNAMSIZ - 1): colours, then reverses what follows
        string netnsName = $"tt{run}ev\"il\nns".PadRight(255, 'n'); // 255 bytes: NAME_MAX
        Assert.Equal(15, System.Text.Encoding.UTF8.GetByteCount(longest));
        Assert.Equal(15, System.Text.Encoding.UTF8.GetByteCount(Comm));

        using TestNetworkNamespace ns = TestNetworkNamespace.CreateNamed(netnsName);
        using TunHolder clearingHolder = await TunHolder.StartAsync(clearing, ns.Name, "--comm", Comm);
        using TunHolder longestHolder = await TunHolder.StartAsync(longest, ns.Name);
        Assert.Equal(Comm + "\n", File.ReadAllText($"/proc/{clearingHolder.Pid}/comm"));

        const string shownComm = "a\"b\\x0ac{d}\\e\\x1b[31m";
        string config = Path.GetTempFileName();
        File.WriteAllText(config, "tuntelemetry.metrics.reader-interval = 1s\n");
        await using OtlpTestReceiver receiver = await OtlpTestReceiver.StartAsync();
        var environment = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.GrpcEndpoint.ToString().TrimEnd('/'),
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
            // The journal's format, as under systemd: its lines carry names too.
            ["Logging__Console__FormatterName"] = "systemd",
        };
        using AgentProcess agent = AgentProcess.Start(environment,
            "run", "--console", "--all-namespaces", "--config", config, "--poll-interval", "500ms", "--include", $"^[hm]{run}x?\\e");
        try
        {
            // Machines: the exported attributes are the kernel's and /proc's bytes.
            await receiver.WaitForAsync(r => r.Latest(MetricNames.Reader, (MetricNames.InterfaceName, clearing)) is not null
                && r.Latest(MetricNames.TxQueueDrops, (MetricNames.InterfaceName, longest)) is not null,
                Patience, $"{Escaped(clearing)}'s reader and {Escaped(longest)}'s drops");
            DataPoint reader = receiver.Latest(MetricNames.Reader, (MetricNames.InterfaceName, clearing))!;
            Assert.Equal(Comm, reader.Attributes[MetricNames.ProcessExecutableName]);
            Assert.Equal(netnsName, reader.Attributes[MetricNames.NetnsName]);
            Assert.Equal(netnsName, receiver.Latest(MetricNames.TxQueueDrops, (MetricNames.InterfaceName, longest))!.Attributes[MetricNames.NetnsName]);

            // People: the log and the console view show every name escaped.
            string shownReader = $"{shownComm}[{clearingHolder.Pid}]";
            await agent.WaitForAsync(a => a.Output.Contains(shownReader, StringComparison.Ordinal)
                && a.Output.Contains(Escaped(longest), StringComparison.Ordinal)
                && a.Output.Contains($"Watching network namespace tt{run}ev\"il\\x0ans", StringComparison.Ordinal)
                && a.Output.Contains($"{Escaped(clearing)}@tt{run}ev\"il\\x0ans", StringComparison.Ordinal),
                Patience, "the escaped names in the log and the console view");
            Assert.Contains(agent.Output.Split('\n'), l => l.StartsWith("<6>TunTelemetry.Discovery.NamespaceDiscoveryActor[0] Watching network namespace", StringComparison.Ordinal));
            Assert.Equal(0, agent.Terminate(Patience));
            AssertNothingRaw(agent.Output);
        }
        finally
        {
            output.WriteLine(agent.Output);
            File.Delete(config);
        }

        // snapshot's table: escaped, and still one line per row.
        string table = Snapshot("--all-namespaces");
        AssertNothingRaw(table);
        string readersRow = Assert.Single(table.Split('\n'), l => l.StartsWith("readers ", StringComparison.Ordinal));
        Assert.Contains($"a\"b\\x0ac{{d}}\\e\\x1b[31m[{clearingHolder.Pid}]", readersRow, StringComparison.Ordinal);
        Assert.Contains(Escaped(longest), Assert.Single(table.Split('\n'), l => l.StartsWith("device ", StringComparison.Ordinal)), StringComparison.Ordinal);

        // snapshot --json: the exact bytes (JSON's own escapes decode back to them).
        JsonElement[] devices = JsonDocument.Parse(Snapshot("--all-namespaces", "--json")).RootElement.EnumerateArray().ToArray();
        JsonElement device = Assert.Single(devices, d => d.GetProperty("name").GetString() == clearing);
        Assert.Equal(netnsName, device.GetProperty("netns").GetProperty("name").GetString());
        Assert.Equal(Comm, Assert.Single(device.GetProperty("readers").EnumerateArray().ToArray()).GetProperty("name").GetString());
        Assert.Single(devices, d => d.GetProperty("name").GetString() == longest);

        // diagnose: the device drops while it watches (its holder never reads), and its line names it and its reader escaped.
        using (AgentProcess diagnose = AgentProcess.Start(new Dictionary<string, string>(), "diagnose", "--all-namespaces", "--for", "15s"))
        {
            await diagnose.WaitForOutputAsync(" watching ", Patience);
            Assert.Equal(600, PacketWriter.Send(clearing, 600, ns.Name));
            Assert.Equal(3, diagnose.WaitForExit(Patience));
            output.WriteLine(diagnose.Output);
            AssertNothingRaw(diagnose.Output);
            string line = Assert.Single(diagnose.Output.Split('\n'), l => l.StartsWith($"{Escaped(clearing)}@tt{run}ev\"il\\x0ans", StringComparison.Ordinal));
            Assert.Contains(shownComm, line, StringComparison.Ordinal);
        }

        // An error that echoes a name a person typed or pasted.
        using AgentProcess missing = AgentProcess.Start(new Dictionary<string, string>(), "snapshot", $"z{run}\u001b[2J");
        Assert.NotEqual(0, missing.WaitForExit(Patience));
        Assert.Contains($"no such device: z{run}\\x1b[2J", missing.Output, StringComparison.Ordinal);
        AssertNothingRaw(missing.Output);
    }

    private static string Escaped(string name) => name.Replace("\u001b", "\\x1b", StringComparison.Ordinal).Replace("\u202e", "\\u202e", StringComparison.Ordinal);

    /// <summary>
    /// No control character, DEL, C1 control or bidi override in a person's output. The output is read line by line,
    /// so a raw newline inside a name shows as a line that ends where the name was cut.
    /// </summary>
    private static void AssertNothingRaw(string text)
    {
        Assert.DoesNotContain(text, c => (c < 0x20 && c != '\n') || c is >= '\u007f' and <= '\u009f' or '\u202e');
        Assert.DoesNotContain(text.Split('\n'), l => l.EndsWith("ev\"il", StringComparison.Ordinal) || l.EndsWith("a\"b", StringComparison.Ordinal));
    }

    private string Snapshot(params string[] arguments)
    {
        using AgentProcess snapshot = AgentProcess.Start(new Dictionary<string, string>(), ["snapshot", .. arguments]);
        Assert.Equal(0, snapshot.WaitForExit(Patience));
        output.WriteLine(snapshot.Output);
        return snapshot.Output;
    }
}
