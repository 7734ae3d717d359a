using Akka.Configuration;
using TunTelemetry.Dispatch;

namespace TunTelemetry.Tests.Support;

/// <summary>Actor system settings for specs: virtual time, and the dispatchers the actors ask for.</summary>
public static class ActorTestConfig
{
    public static Config VirtualTime { get; } = ConfigurationFactory.ParseString("""
        akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
        akka.loglevel = INFO
        """).WithFallback(ConfigurationFactory.ParseString(NetlinkDispatcher.Hocon))
        .WithFallback(ConfigurationFactory.ParseString(ControlDispatcher.Hocon));
}
