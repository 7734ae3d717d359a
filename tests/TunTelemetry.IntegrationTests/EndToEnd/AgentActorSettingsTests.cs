using Akka.Actor;
using Akka.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TunTelemetry.Agent;
using TunTelemetry.Devices;
using TunTelemetry.Dispatch;
using TunTelemetry.Hosting;
using TunTelemetry.IntegrationTests.Support;
using Xunit;

namespace TunTelemetry.IntegrationTests.EndToEnd;

/// <summary>The actor system the agent really starts with: scheduler tick, executor and mailbox of its actors.</summary>
[Collection(InProcessAgentHostCollection.Name)]
public sealed class AgentActorSettingsTests
{
    private static readonly IReadOnlyDictionary<string, string?> NoExport = new Dictionary<string, string?>
    {
        ["OTEL_METRIC_EXPORT_INTERVAL"] = "3600000", // no export happens within the test
    };

    private static async Task<Config> StartedConfig(Config hocon, TimeSpan pollInterval, params (string Key, string Value)[] configuration)
    {
        TunTelemetryOptions options = TunTelemetryOptions.Default with
        {
            PollInterval = pollInterval,
            Devices = new DeviceSelection(include: ["^no-such-device-here$"]),
        };
        var settings = new Dictionary<string, string?>(NoExport);
        foreach ((string key, string value) in configuration)
        {
            settings[key] = value;
        }

        using IHost host = AgentHost.Build(hocon, options, console: false, configuration: settings,
            configureExporter: exporter => exporter.Endpoint = new Uri("http://127.0.0.1:9")); // the final export: nothing listens
        await host.StartAsync();
        try
        {
            return host.Services.GetRequiredService<ActorSystem>().Settings.Config;
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Theory]
    [InlineData(15_000, 500)]
    [InlineData(1_000, 100)]
    [InlineData(6_000, 200)]
    public async Task The_scheduler_ticks_at_a_thirtieth_of_the_poll_interval_within_100_to_500_ms(int pollMs, int tickMs)
    {
        Config config = await StartedConfig(Config.Empty, TimeSpan.FromMilliseconds(pollMs));

        Assert.Equal(TimeSpan.FromMilliseconds(tickMs), config.GetTimeSpan("akka.scheduler.tick-duration"));
    }

    [Fact]
    public async Task A_tick_set_in_hocon_conf_wins()
    {
        Config config = await StartedConfig(ConfigurationFactory.ParseString("akka.scheduler.tick-duration = 20ms"), TimeSpan.FromSeconds(15));

        Assert.Equal(TimeSpan.FromMilliseconds(20), config.GetTimeSpan("akka.scheduler.tick-duration"));
    }

    [Fact]
    public async Task The_actors_run_on_quiet_threads_with_compact_mailboxes()
    {
        Config config = await StartedConfig(Config.Empty, TimeSpan.FromSeconds(15));

        Assert.Equal(typeof(QuietThreadsExecutorConfigurator), Type.GetType(config.GetString($"{NetlinkDispatcher.Id}.executor")));
        Assert.Equal(typeof(CompactMailbox), Type.GetType(config.GetString($"{NetlinkDispatcher.Id}.mailbox-type")));
    }

    [Fact]
    public async Task Akka_publishes_debug_events_only_when_a_log_level_asks_for_debug()
    {
        Config hocon = ConfigurationFactory.ParseString("akka.loglevel = WARNING");

        Config quiet = await StartedConfig(hocon, TimeSpan.FromSeconds(15));
        Config debug = await StartedConfig(hocon, TimeSpan.FromSeconds(15), ("Logging:LogLevel:TunTelemetry.Actors", "Debug"));

        Assert.Equal("WARNING", quiet.GetString("akka.loglevel"), ignoreCase: true); // hocon.conf's, untouched
        Assert.Equal("DEBUG", debug.GetString("akka.loglevel"), ignoreCase: true);
    }
}
