using Akka.Hosting;

namespace TunTelemetry.Logging;

/// <summary>Opting a host's Akka logging in to <see cref="ActorClassLogger"/>.</summary>
public static class LoggerConfigBuilderExtensions
{
    /// <summary>
    /// Adds <see cref="ActorClassLogger"/> to the actor system's loggers: Akka's events reach the host's
    /// <c>ILoggerFactory</c> under the logging class's name with the message alone. Call <c>ClearLoggers()</c> first to
    /// make it the only one, as for Akka.Hosting's <c>AddLoggerFactory()</c>, which it replaces. A host that does not
    /// call it keeps its Akka logging as it was.
    /// </summary>
    public static LoggerConfigBuilder AddActorClassLogger(this LoggerConfigBuilder loggers)
    {
        ArgumentNullException.ThrowIfNull(loggers);
        return loggers.AddLogger<ActorClassLogger>();
    }
}
