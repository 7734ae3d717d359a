using Akka.Configuration;

namespace TunTelemetry.IntegrationTests.Support;

/// <summary>Actor system settings for real-time specs: the netlink dispatcher the actors ask for.</summary>
public static class RealTimeTestConfig
{
    public static Config NetlinkDispatcher { get; } = ConfigurationFactory.ParseString(Dispatch.NetlinkDispatcher.Hocon);
}
