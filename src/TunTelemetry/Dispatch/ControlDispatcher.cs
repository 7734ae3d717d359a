namespace TunTelemetry.Dispatch;

/// <summary>
/// The dispatcher of TunTelemetry's two non-blocking actors, the device supervisor and the metrics aggregator: one
/// <see cref="QuietThreadsExecutor"/> thread of their own.
/// </summary>
/// <remarks>
/// Not the pollers' <see cref="NetlinkDispatcher"/>: a poller blocks its thread in <c>recv</c> for up to
/// <c>netlink-timeout</c> when the kernel does not answer, and with every netlink thread blocked the aggregator would
/// stop counting and the supervisor stop following devices. Not Akka's default dispatcher either: in a host that embeds
/// the library, that belongs to the host, and in the agent the thread pool would be woken for every busy reading.
/// </remarks>
internal static class ControlDispatcher
{
    public const string Id = "tuntelemetry-control-dispatcher";

    /// <summary>Its definition; a host's own HOCON for the same id takes precedence.</summary>
    public const string Hocon = $$"""
        {{Id}} {
          type = Dispatcher
          executor = "TunTelemetry.Dispatch.QuietThreadsExecutorConfigurator, TunTelemetry"
          quiet-threads.thread-count = 1
          throughput = 64
        }
        """;
}
