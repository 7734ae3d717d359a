using Akka.Configuration;
using TunTelemetry.Dispatch;

namespace TunTelemetry.Testing;

/// <summary>
/// Actor system settings for specs: virtual time (<c>TestScheduler</c>: a 15 s tick runs in microseconds), the
/// dispatchers TunTelemetry's actors ask for, and waits without an explicit deadline (<c>ExpectMsg</c>,
/// <c>AwaitAssert</c>) that allow for a busy machine: 30 s instead of TestKit's 3 s. A wait ends as soon as its
/// message or condition arrives, so only a failing spec takes that long. Pass it to your TestKit's constructor.
/// </summary>
public static class VirtualTime
{
    public static Config Config { get; } = ConfigurationFactory.ParseString("""
        akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
        akka.loglevel = INFO
        akka.test.single-expect-default = 30s
        """).WithFallback(ConfigurationFactory.ParseString(NetlinkDispatcher.Hocon))
        .WithFallback(ConfigurationFactory.ParseString(ControlDispatcher.Hocon));
}
