using Akka.Actor;
using Akka.Configuration;
using TunTelemetry.Dispatch;
using TunTelemetry.Hosting;

namespace TunTelemetry.Perf;

/// <summary>
/// An actor system with the scheduler and dispatcher the agent gets from <c>WithTunTelemetry</c>, so an in-process
/// benchmark measures what ships.
/// </summary>
public static class PerfActorSystem
{
    /// <param name="hocon">Settings that win over the agent's (e.g. another scheduler tick).</param>
    public static ActorSystem Create(string name, TunTelemetryOptions options, string hocon = "") =>
        ActorSystem.Create(name, ConfigurationFactory.ParseString(hocon)
            .WithFallback(ConfigurationFactory.ParseString($"""
                {options.SchedulerHocon}
                akka.loglevel = WARNING
                """))
            .WithFallback(ConfigurationFactory.ParseString(NetlinkDispatcher.Hocon)));
}
