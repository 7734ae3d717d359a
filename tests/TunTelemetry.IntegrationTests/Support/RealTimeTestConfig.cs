using Akka.Configuration;
using TunTelemetry.Hosting;

namespace TunTelemetry.IntegrationTests.Support;

/// <summary>
/// Actor system settings for real-time specs: the dispatchers the actors ask for and the scheduler the agent
/// runs on, with Akka's 10 ms tick so that specs with short intervals are not held to the agent's coarser one, and
/// expectations that wait 30 s by default (TestKit's 3 s is short for real sockets on two busy cores).
/// </summary>
public static class RealTimeTestConfig
{
    public static Config AsShipped { get; } = ConfigurationFactory.ParseString("akka.scheduler.tick-duration = 10ms\nakka.test.single-expect-default = 30s")
        .WithFallback(ConfigurationFactory.ParseString(TunTelemetryOptions.Default.SchedulerHocon))
        .WithFallback(ConfigurationFactory.ParseString(Dispatch.NetlinkDispatcher.Hocon))
        .WithFallback(ConfigurationFactory.ParseString(Dispatch.ControlDispatcher.Hocon));
}
