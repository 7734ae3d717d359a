namespace TunTelemetry.Dispatch;

/// <summary>
/// The dispatcher of the reader scan (<see cref="Actors.ReaderScanActor"/>): one <see cref="QuietThreadsExecutor"/>
/// thread of its own.
/// </summary>
/// <remarks>
/// A scan reads <c>/proc</c> for milliseconds to hundreds of milliseconds, so it may hold neither a poller's thread nor
/// the aggregator's. It ran on Akka's default dispatcher, the .NET thread pool, where each scan (one a minute) woke a
/// pool worker, often a second one, and the pool's gate thread for about a second after; on an idle node those
/// wake-ups were a visible part of the agent's CPU (docs/performance-log.md "Idle cost, 2026-12-08"). Here a scan wakes
/// one thread.
/// </remarks>
internal static class ReaderDispatcher
{
    public const string Id = "tuntelemetry-reader-dispatcher";

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
