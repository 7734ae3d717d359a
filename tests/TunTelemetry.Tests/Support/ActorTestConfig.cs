using Akka.Configuration;

namespace TunTelemetry.Tests.Support;

/// <summary>Actor system settings for specs: virtual time, and the netlink dispatcher the actors ask for.</summary>
public static class ActorTestConfig
{
    public static Config VirtualTime { get; } = ConfigurationFactory.ParseString("""
        akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
        akka.loglevel = INFO
        tuntelemetry-netlink-dispatcher {
          type = ForkJoinDispatcher
          throughput = 64
          dedicated-thread-pool { thread-count = 2, threadtype = background }
        }
        """);
}
