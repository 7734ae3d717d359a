using Akka.Configuration;
using TunTelemetry.Devices;
using TunTelemetry.Dispatch;
using TunTelemetry.Hosting;
using Xunit;

namespace TunTelemetry.Tests.Hosting;

public sealed class TunTelemetryConfigTests
{
    private static TunTelemetryOptions Read(string hocon) => TunTelemetryConfig.Read(ConfigurationFactory.ParseString(hocon));

    private static string RejectedKey(string hocon) => Assert.Throws<TunTelemetryConfigException>(() => Read(hocon)).Key;

    [Fact]
    public void The_shipped_hocon_conf_reads_as_the_defaults()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "hocon.conf");
        TunTelemetryOptions options = TunTelemetryConfig.Read(ConfigurationFactory.ParseString(File.ReadAllText(path)));
        TunTelemetryOptions defaults = TunTelemetryOptions.Default;
        Assert.Equal(defaults.PollInterval, options.PollInterval);
        Assert.Equal(defaults.NetlinkTimeout, options.NetlinkTimeout);
        Assert.Equal(defaults.Backoff, options.Backoff);
        Assert.Equal(defaults.DetailedMetrics, options.DetailedMetrics);
        Assert.Equal(TunKindSelection.All, options.Devices.Kinds);
        Assert.Null(options.PrometheusListen); // no port opened unless asked
        Assert.Equal(defaults.ReaderInterval, options.ReaderInterval);
        Assert.Equal(defaults.ReaderFullScanInterval, options.ReaderFullScanInterval);
        Assert.False(options.AllNamespaces); // the agent's own namespace only, unless asked
    }

    [Theory]
    [InlineData("current", false)]
    [InlineData("all", true)]
    [InlineData("ALL", true)]
    public void Namespaces_is_current_or_all(string text, bool all)
    {
        Assert.Equal(all, Read($"tuntelemetry.namespaces = {text}").AllNamespaces);
    }

    [Theory]
    [InlineData("off", null)]
    [InlineData("OFF", null)]
    [InlineData("30s", 30_000)]
    [InlineData("1s", 1_000)]
    [InlineData("1h", 3_600_000)]
    public void The_reader_interval_is_a_duration_or_off(string text, int? milliseconds)
    {
        TunTelemetryOptions options = Read($"tuntelemetry.metrics.reader-interval = {text}");
        Assert.Equal(milliseconds is null ? null : TimeSpan.FromMilliseconds(milliseconds.Value), options.ReaderInterval);
    }

    [Theory]
    [InlineData("500ms")]
    [InlineData("2h")]
    [InlineData("never")]
    [InlineData("0s")]
    public void A_reader_interval_out_of_range_or_not_a_duration_names_the_key_and_the_range(string text)
    {
        var e = Assert.Throws<TunTelemetryConfigException>(() => Read($"tuntelemetry.metrics.reader-interval = {text}"));
        Assert.Equal("tuntelemetry.metrics.reader-interval", e.Key);
        Assert.Contains("off, or 1s to 3600s", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", 15 * 60)] // the default
    [InlineData("tuntelemetry.metrics.reader-full-scan-interval = 10m", 10 * 60)]
    [InlineData("tuntelemetry.metrics.reader-full-scan-interval = 1m", 60)] // equal to reader-interval: every scan full
    [InlineData("tuntelemetry.metrics.reader-interval = 1h", 60 * 60)] // unset, it grows with a longer reader interval
    [InlineData("tuntelemetry.metrics.reader-interval = off\ntuntelemetry.metrics.reader-full-scan-interval = 1s", 1)]
    public void The_full_reader_scan_interval_defaults_to_15_minutes_and_is_never_below_the_reader_interval(string hocon, int seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), Read(hocon).ReaderFullScanInterval);
    }

    [Theory]
    [InlineData("tuntelemetry.metrics.reader-full-scan-interval = 30s", "30s must be at least reader-interval (60s)")]
    [InlineData("tuntelemetry.metrics.reader-interval = 10m\ntuntelemetry.metrics.reader-full-scan-interval = 5m", "300s must be at least reader-interval (600s)")]
    [InlineData("tuntelemetry.metrics.reader-full-scan-interval = 2d", "out of range (1s to 86400s)")]
    [InlineData("tuntelemetry.metrics.reader-full-scan-interval = off", "is not a duration")]
    public void A_full_reader_scan_interval_below_the_reader_interval_or_out_of_range_names_the_key(string hocon, string message)
    {
        var e = Assert.Throws<TunTelemetryConfigException>(() => Read(hocon));
        Assert.Equal("tuntelemetry.metrics.reader-full-scan-interval", e.Key);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(NetlinkDispatcher.Id, NetlinkDispatcher.Hocon)]
    [InlineData(ControlDispatcher.Id, ControlDispatcher.Hocon)]
    [InlineData(ReaderDispatcher.Id, ReaderDispatcher.Hocon)]
    public void The_shipped_hocon_conf_defines_the_dispatchers_as_the_library_does(string id, string hocon)
    {
        Config shipped = ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "hocon.conf")))
            .GetConfig(id);
        Config library = ConfigurationFactory.ParseString(hocon).GetConfig(id);

        Assert.NotNull(shipped);
        foreach (string key in new[] { "type", "executor", "quiet-threads.thread-count", "throughput", "mailbox-type" })
        {
            Assert.Equal(library.GetString(key), shipped.GetString(key));
        }
    }

    [Theory]
    [InlineData(100, 100)]
    [InlineData(1_000, 100)]
    [InlineData(6_000, 200)]
    [InlineData(15_000, 500)]
    [InlineData(3_600_000, 500)]
    public void The_scheduler_tick_is_a_thirtieth_of_the_poll_interval_within_100_to_500_ms(int pollMs, int tickMs) =>
        Assert.Equal(TimeSpan.FromMilliseconds(tickMs), (TunTelemetryOptions.Default with { PollInterval = TimeSpan.FromMilliseconds(pollMs) }).SchedulerTick);

    [Fact]
    public void Reads_every_key()
    {
        TunTelemetryOptions options = Read("""
            tuntelemetry {
              poll-interval = 500ms
              netlink-timeout = 100ms
              devices { kind = tap, include = ["^tap"], exclude = ["x$"] }
              metrics { detailed = on, link-state = off }
              backoff { min = 2s, max = 1m, random-factor = 0.5, max-retries = 3, reset-after = 10m }
            }
            """);
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.PollInterval);
        Assert.Equal(TimeSpan.FromMilliseconds(100), options.NetlinkTimeout);
        Assert.Equal(TunKindSelection.Tap, options.Devices.Kinds);
        Assert.Equal(["^tap"], options.Devices.IncludePatterns);
        Assert.True(options.DetailedMetrics);
        Assert.False(options.LinkStateMetrics);
        Assert.Equal(new BackoffSettings(TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(1), 0.5, 3, TimeSpan.FromMinutes(10)), options.Backoff);
    }

    [Theory]
    [InlineData("tuntelemetry.poll-interval = 0s", "tuntelemetry.poll-interval")]
    [InlineData("tuntelemetry.poll-interval = -5s", "tuntelemetry.poll-interval")]
    [InlineData("tuntelemetry.poll-interval = fast", "tuntelemetry.poll-interval")]
    [InlineData("tuntelemetry.poll-interval = 2h", "tuntelemetry.poll-interval")]
    [InlineData("tuntelemetry.netlink-timeout = 20s", "tuntelemetry.netlink-timeout")]
    [InlineData("tuntelemetry.devices.kind = tuntap", "tuntelemetry.devices.kind")]
    [InlineData("tuntelemetry.namespaces = every", "tuntelemetry.namespaces")]
    [InlineData("tuntelemetry.namespaces = on", "tuntelemetry.namespaces")]
    [InlineData("tuntelemetry.devices.include = [\"(\"]", "tuntelemetry.devices.include")]
    [InlineData("tuntelemetry.backoff.random-factor = 1.5", "tuntelemetry.backoff.random-factor")]
    [InlineData("tuntelemetry.backoff.max-retries = -2", "tuntelemetry.backoff.max-retries")]
    [InlineData("tuntelemetry.backoff.max-retries = 1.5", "tuntelemetry.backoff.max-retries")]
    [InlineData("tuntelemetry.backoff { min = 10s, max = 5s }", "tuntelemetry.backoff.max")]
    [InlineData("tuntelemetry.metrics.detailed = maybe", "tuntelemetry.metrics.detailed")]
    [InlineData("tuntelemetry.poll-intervall = 15s", "tuntelemetry.poll-intervall")]
    [InlineData("tuntelemetry.prometheus.listen = \"9464\"", "tuntelemetry.prometheus.listen")]
    [InlineData("tuntelemetry.prometheus.listen = \"localhost:0\"", "tuntelemetry.prometheus.listen")]
    [InlineData("tuntelemetry.prometheus.listen = \"localhost:65536\"", "tuntelemetry.prometheus.listen")]
    [InlineData("tuntelemetry.prometheus.listen = \"::1:9464\"", "tuntelemetry.prometheus.listen")]
    [InlineData("tuntelemetry.prometheus.listen = \"local host:9464\"", "tuntelemetry.prometheus.listen")]
    public void A_bad_value_names_its_key(string hocon, string key)
    {
        Assert.Equal(key, RejectedKey(hocon));
    }

    [Theory]
    [InlineData("127.0.0.1:9464", "127.0.0.1", 9464)]
    [InlineData("localhost:1", "localhost", 1)]
    [InlineData("[::1]:65535", "[::1]", 65535)]
    [InlineData("metrics.example.org:9100", "metrics.example.org", 9100)]
    public void Reads_the_prometheus_listen_address(string text, string host, int port) =>
        Assert.Equal(new ListenAddress(host, port), Read($"tuntelemetry.prometheus.listen = \"{text}\"").PrometheusListen);

    [Fact]
    public void An_empty_prometheus_listen_address_opens_no_port() =>
        Assert.Null(Read("tuntelemetry.prometheus.listen = \"\"").PrometheusListen);

    [Fact]
    public void A_bad_prometheus_listen_address_is_one_line_naming_the_key_and_the_port_range()
    {
        var e = Assert.Throws<TunTelemetryConfigException>(() => Read("tuntelemetry.prometheus.listen = \"127.0.0.1:99999\""));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("tuntelemetry.prometheus.listen", e.Message, StringComparison.Ordinal);
        Assert.Contains("1 to 65535", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_error_is_one_line_with_the_accepted_range()
    {
        var e = Assert.Throws<TunTelemetryConfigException>(() => Read("tuntelemetry.poll-interval = 0s"));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("100ms to 3600s", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("15s", 15_000)]
    [InlineData("500ms", 500)]
    [InlineData("1m", 60_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("2 minutes", 120_000)]
    public void Parses_durations(string text, double milliseconds)
    {
        Assert.True(TunTelemetryConfig.TryParseDuration(text, out TimeSpan value));
        Assert.Equal(milliseconds, value.TotalMilliseconds);
    }
}
