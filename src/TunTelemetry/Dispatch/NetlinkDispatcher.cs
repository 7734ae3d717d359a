namespace TunTelemetry.Dispatch;

/// <summary>
/// The dispatcher TunTelemetry's actors run on by default: pollers, link-state actors, the supervisor and the
/// aggregator, on <see cref="QuietThreadsExecutor"/> threads of their own.
/// </summary>
/// <remarks>
/// Netlink requests block their thread for microseconds (up to netlink-timeout when the kernel does not answer), so
/// they never run on Akka's default dispatcher. The aggregator shares the pollers' threads so that a reading is
/// handled by the thread that read it, without a hand-off.
/// </remarks>
internal static class NetlinkDispatcher
{
    public const string Id = "tuntelemetry-netlink-dispatcher";

    /// <summary>Its definition; a host's own HOCON for the same id takes precedence.</summary>
    public const string Hocon = $$"""
        {{Id}} {
          type = Dispatcher
          executor = "TunTelemetry.Dispatch.QuietThreadsExecutorConfigurator, TunTelemetry"
          quiet-threads.thread-count = 2
          throughput = 64
          mailbox-type = "TunTelemetry.Dispatch.CompactMailbox, TunTelemetry"
        }
        """;
}
