using TunTelemetry.Agent.Configuration;
using TunTelemetry.Devices;
using TunTelemetry.Hosting;
using Xunit;

namespace TunTelemetry.Tests.Agent;

/// <summary>Precedence: command line over hocon.conf over built-in defaults.</summary>
public sealed class AgentConfigLoaderTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"tt-{Guid.NewGuid():N}.conf");

    public AgentConfigLoaderTests()
    {
        File.WriteAllText(_path, """
            tuntelemetry {
              poll-interval = 2s
              devices { kind = tap, include = ["^file"] }
              backoff.max = 30s
              prometheus.listen = "127.0.0.1:9100"
            }
            """);
    }

    [Fact]
    public void The_file_overrides_the_defaults()
    {
        (_, TunTelemetryOptions options) = AgentConfigLoader.Load(new AgentSettings { ConfigPath = _path });
        Assert.Equal(TimeSpan.FromSeconds(2), options.PollInterval);
        Assert.Equal(TunKindSelection.Tap, options.Devices.Kinds);
        Assert.Equal(TimeSpan.FromSeconds(30), options.Backoff.Max);
        Assert.Equal(TunTelemetryOptions.Default.Backoff.Min, options.Backoff.Min);
        Assert.Equal(new ListenAddress("127.0.0.1", 9100), options.PrometheusListen);
    }

    [Fact]
    public void The_command_line_overrides_the_file()
    {
        (_, TunTelemetryOptions options) = AgentConfigLoader.Load(new AgentSettings
        {
            ConfigPath = _path,
            PollInterval = "500ms",
            Kind = "all",
            Include = [@"^wg\d+$", "^tun"],
            Exclude = ["test"],
            PrometheusListen = "[::1]:9464",
        });
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.PollInterval);
        Assert.Equal(TunKindSelection.All, options.Devices.Kinds);
        Assert.Equal([@"^wg\d+$", "^tun"], options.Devices.IncludePatterns);
        Assert.Equal(["test"], options.Devices.ExcludePatterns);
        Assert.Equal(TimeSpan.FromSeconds(30), options.Backoff.Max); // untouched keys still come from the file
        Assert.Equal(new ListenAddress("[::1]", 9464), options.PrometheusListen);
    }

    [Theory]
    [InlineData(@"^wg\d+$")]
    [InlineData("a \"quoted\" name")]
    [InlineData(@"back\\slash")]
    [InlineData("tab\there, newline\nthere, bell\u0007, return\rthere")]
    [InlineData("non-ASCII: wg-zürich-é, and <&'> kept")]
    public void A_command_line_pattern_reaches_the_options_unchanged(string pattern)
    {
        (_, TunTelemetryOptions options) = AgentConfigLoader.Load(new AgentSettings { ConfigPath = _path, Include = [pattern] });
        Assert.Equal([pattern], options.Devices.IncludePatterns);
    }

    [Fact]
    public void A_bad_prometheus_listen_on_the_command_line_names_the_option()
    {
        var e = Assert.Throws<TunTelemetryConfigException>(() =>
            AgentConfigLoader.Load(new AgentSettings { ConfigPath = _path, PrometheusListen = "127.0.0.1" }));
        Assert.Equal("--prometheus-listen", e.Key);
        Assert.DoesNotContain('\n', e.Message);
    }

    public void Dispose() => File.Delete(_path);
}
