using Akka.Configuration;
using TunTelemetry.Dispatch;

namespace TunTelemetry.Tests.Support;

/// <summary>
/// Actor system settings for specs: virtual time, the dispatchers the actors ask for, and waits without an explicit
/// deadline (<c>ExpectMsg</c>, <c>AwaitAssert</c>) that allow for a busy machine: 30 s instead of TestKit's 3 s.
/// A wait ends as soon as its message or condition arrives, so only a failing spec takes that long.
/// </summary>
public static class ActorTestConfig
{
    public static Config VirtualTime { get; } = ConfigurationFactory.ParseString("""
        akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
        akka.loglevel = INFO
        akka.test.single-expect-default = 30s
        """).WithFallback(ConfigurationFactory.ParseString(NetlinkDispatcher.Hocon))
        .WithFallback(ConfigurationFactory.ParseString(ControlDispatcher.Hocon));
}
