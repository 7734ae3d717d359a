using Akka.Event;

namespace TunTelemetry.Logging;

/// <summary>Writes a line decided elsewhere (a pure type chose its level and words) to an actor's log.</summary>
internal static class LoggingAdapterLines
{
    /// <summary>
    /// Writes <paramref name="line"/> at <paramref name="level"/>, as an argument, never as a format: device and
    /// namespace names in it may hold braces.
    /// </summary>
    public static void Say(this ILoggingAdapter log, LogLevel level, string line)
    {
        switch (level)
        {
            case LogLevel.ErrorLevel:
                log.Error("{0}", line);
                break;
            case LogLevel.WarningLevel:
                log.Warning("{0}", line);
                break;
            case LogLevel.InfoLevel:
                log.Info("{0}", line);
                break;
            default:
                log.Debug("{0}", line);
                break;
        }
    }
}
