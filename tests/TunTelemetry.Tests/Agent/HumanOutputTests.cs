using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TunTelemetry.Agent.ConsoleView;
using TunTelemetry.Agent.Logging;
using TunTelemetry.Agent.Snapshot;
using TunTelemetry.Devices;
using TunTelemetry.Metrics;
using TunTelemetry.Netlink;
using TunTelemetry.Readers;
using Xunit;

namespace TunTelemetry.Tests.Agent;

/// <summary>
/// Every output a person reads, rendered with names an attacker chose: the device's, its namespace's, its reader's.
/// Each must come out with no raw control character (line breaks only where the output makes them) and the same
/// number of lines as with tame names. A new view that prints a name without <see cref="HumanText.Escape"/> fails here.
/// </summary>
public sealed class HumanOutputTests
{
    private const string Device = "tt\u001b[2Jx\u009b";
    private const string Namespace = "ev\"il\nns\u202e";
    private const string Comm = "a\"b\nc{d}\\e\u001b[31m";

    private static readonly LinkStats64 Stats = LinkStats64.FromCounters(new ulong[24]);

    [Fact]
    public void The_snapshot_table_escapes_every_name_and_keeps_one_line_per_row()
    {
        var hostile = new StringWriter();
        SnapshotTable.Write([Snapshot(Device, Namespace, Comm)], hostile);
        var tame = new StringWriter();
        SnapshotTable.Write([Snapshot("tt0", "ns0", "python3")], tame);

        AssertNothingRaw(hostile.ToString());
        Assert.Equal(Lines(tame.ToString()).Length, Lines(hostile.ToString()).Length);
        Assert.Contains("tt\\x1b[2Jx\\x9b", hostile.ToString(), StringComparison.Ordinal);
        Assert.Contains("ev\"il\\x0ans\\u202e [7]", hostile.ToString(), StringComparison.Ordinal);
        Assert.Contains("a\"b\\x0ac{d}\\e\\x1b[31m[42]:STOPPED", hostile.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_console_view_escapes_device_namespace_and_reader_names_and_keeps_one_line_per_device()
    {
        string hostile = ConsoleBlock(Device, Namespace, Comm);
        string tame = ConsoleBlock("tt0", "ns0", "python3");

        AssertNothingRaw(hostile);
        Assert.Equal(Lines(tame).Length, Lines(hostile).Length);
        Assert.Contains("tt\\x1b[2Jx\\x9b@ev\"il\\x0ans\\u202e", hostile, StringComparison.Ordinal);
        Assert.Contains("a\"b\\x0ac{d}\\e\\x1b[31m[42]:STOPPED", hostile, StringComparison.Ordinal);
    }

    [Fact]
    public void Log_entries_and_their_exceptions_are_escaped_before_any_formatter_sees_them()
    {
        var inner = new RenderingProvider();
        using var provider = new EscapingLoggerProvider(inner);
        ILogger logger = provider.CreateLogger("test");
        var error = new InvalidOperationException($"no such device: {Device}", new IOException($"in {Namespace}"));

        logger.LogWarning(error, "Watching {Device} (reader {Reader})", Device, Comm);

        (string message, string? exception) = Assert.Single(inner.Entries);
        Assert.Equal("Watching tt\\x1b[2Jx\\x9b (reader a\"b\\x0ac{d}\\e\\x1b[31m)", message);
        AssertNothingRaw(message);
        Assert.Contains("no such device: tt\\x1b[2Jx\\x9b", exception, StringComparison.Ordinal);
        Assert.Contains("in ev\"il\\x0ans\\u202e", exception, StringComparison.Ordinal);
        Assert.DoesNotContain(exception!, c => c == '\u001b' || c == '\u009b' || c == '\u202e');
    }

    [Fact]
    public void The_agents_console_log_goes_through_the_escaping_provider_only()
    {
        var services = new ServiceCollection();
        services.AddLogging(logging => AgentLogging.Configure(logging, new ConfigurationBuilder().Build()));
        using ServiceProvider built = services.BuildServiceProvider();

        ILoggerProvider provider = Assert.Single(built.GetServices<ILoggerProvider>());
        Assert.IsType<EscapingLoggerProvider>(provider);
    }

    private static DeviceSnapshot Snapshot(string device, string netns, string comm) =>
        new(new LinkDescription(3, device, LinkKinds.Tun, 65534, 0x1, 1500, 500, LinkOperState.Unknown), Stats,
            [new TunReader(42, comm, 'T')], new DeviceNamespace(7, netns));

    private static string ConsoleBlock(string device, string netns, string comm)
    {
        var tun = new TunDevice(3, device, TunDeviceKind.Tun) { Namespace = new DeviceNamespace(7, netns) };
        var readings = new DeviceReadings([new DeviceReading(3, device, Stats) { Home = tun.Home }]);
        var readers = new ReadersObserved(true, [new DeviceReaders(tun, [new TunReader(42, comm, 'T')])]);
        return ConsoleViewService.Render(DateTime.UnixEpoch, readings, readers, exportFailures: 1, $"refused for {device}", []);
    }

    private static string[] Lines(string text) => text.Split('\n');

    private static void AssertNothingRaw(string text) =>
        Assert.DoesNotContain(text, c => (c < 0x20 && c != '\n' && c != '\r') || c is >= '\u007f' and <= '\u009f' || c is '\u202e');

    /// <summary>Renders each entry as a formatter would: the message through the formatter, the exception's ToString.</summary>
    private sealed class RenderingProvider : ILoggerProvider
    {
        public List<(string Message, string? Exception)> Entries { get; } = [];

        public ILogger CreateLogger(string categoryName) => new RenderingLogger(Entries);

        public void Dispose()
        {
        }

        private sealed class RenderingLogger(List<(string, string?)> entries) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                entries.Add((formatter(state, exception), exception?.ToString()));
        }
    }
}
