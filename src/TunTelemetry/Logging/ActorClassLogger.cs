using Akka.Actor;
using Akka.Configuration;
using Akka.Dispatch;
using Akka.Event;
using Akka.Hosting.Logging;
using Microsoft.Extensions.Logging;
using TunTelemetry.Devices;
using AkkaLogLevel = Akka.Event.LogLevel;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace TunTelemetry.Logging;

/// <summary>
/// An Akka logger (an entry of <c>akka.loggers</c>) that writes each Akka log event to
/// <see cref="Microsoft.Extensions.Logging"/> as one plain entry: the category is the class that logged
/// (<see cref="LogEvent.LogClass"/>, e.g. <c>TunTelemetry.Supervision.DeviceSupervisorActor</c>), the text is the message
/// alone and an error's cause is the entry's exception. Akka.Hosting's <see cref="LoggerFactoryLogger"/> logs every
/// event under <c>Akka.Actor.ActorSystem</c> with Akka's own header (level, culture-formatted date, thread, path) in the
/// text, so a console line carried two headers and categories could not be filtered. The timestamp and level are the
/// console formatter's job; the log source (the actor's path for an actor) goes into a scope, where a structured sink
/// keeps it.
/// </summary>
/// <remarks>
/// The <see cref="ILoggerFactory"/> comes from the actor system's <see cref="LoggerFactorySetup"/>, which Akka.Hosting
/// adds from the host's services, as for its own logger. Add it with
/// <see cref="LoggerConfigBuilderExtensions.AddActorClassLogger"/>.
/// </remarks>
internal sealed class ActorClassLogger : ActorBase, IRequiresMessageQueue<ILoggerMessageQueueSemantics>
{
    private readonly ILoggerFactory _loggerFactory;

    // One logger per category, made on first use. Only this actor touches them, one message at a time: no locks.
    private readonly Dictionary<Type, ILogger> _byClass = [];
    private readonly Dictionary<string, ILogger> _bySource = new(StringComparer.Ordinal);

    public ActorClassLogger()
    {
        _loggerFactory = Context.System.Settings.Setup.Get<LoggerFactorySetup>() is { HasValue: true } setup
            ? setup.Value.LoggerFactory
            : throw new ConfigurationException(
                $"{nameof(ActorClassLogger)} needs a {nameof(LoggerFactorySetup)} in the actor system's setup "
                + "(Akka.Hosting adds one from the host's ILoggerFactory)");
    }

    protected override bool Receive(object message)
    {
        switch (message)
        {
            case InitializeLogger:
                Sender.Tell(new LoggerInitialized());
                return true;
            case LogEvent logEvent:
                Write(logEvent);
                return true;
            default:
                return false;
        }
    }

    private void Write(LogEvent logEvent)
    {
        ILogger logger = LoggerFor(logEvent);
        LogLevel level = ToLogLevel(logEvent.LogLevel());
        if (!logger.IsEnabled(level))
        {
            return; // the message is formatted only for entries that are written
        }

        using IDisposable? scope = logger.BeginScope(new LogSourceScope(logEvent.LogSource));
        // Escaped here too, for hosts that embed the library with a logger of their own: messages carry device,
        // process and namespace names, which are anyone's to choose (HumanText).
        logger.Log(level, default, HumanText.Escape(Text(logEvent.Message)), logEvent.Cause, static (text, _) => text);
    }

    private ILogger LoggerFor(LogEvent logEvent)
    {
        // CreateLogger(Type) names a category as ILogger<T> does (nested types with '.', generic arguments left out).
        if (logEvent.LogClass is { } type)
        {
            if (!_byClass.TryGetValue(type, out ILogger? logger))
            {
                logger = _loggerFactory.CreateLogger(type);
                _byClass.Add(type, logger);
            }

            return logger;
        }

        string source = logEvent.LogSource ?? nameof(ActorClassLogger);
        if (!_bySource.TryGetValue(source, out ILogger? bySource))
        {
            bySource = _loggerFactory.CreateLogger(source);
            _bySource.Add(source, bySource);
        }

        return bySource;
    }

    /// <summary>
    /// Akka's message formatted (a <see cref="LogMessage"/> formats its arguments in <c>ToString</c>). A message whose
    /// formatting throws still leaves a line saying so: an exception here would restart the logger and lose the event.
    /// </summary>
    private static string Text(object? message)
    {
        try
        {
            return message?.ToString() ?? string.Empty;
        }
        catch (Exception e)
        {
            string format = message is LogMessage m ? m.Format : message!.GetType().FullName ?? "?";
            return $"(could not format log message \"{format}\": {e.GetType().Name}: {e.Message})";
        }
    }

    private static LogLevel ToLogLevel(AkkaLogLevel level) => level switch
    {
        AkkaLogLevel.DebugLevel => LogLevel.Debug,
        AkkaLogLevel.InfoLevel => LogLevel.Information,
        AkkaLogLevel.WarningLevel => LogLevel.Warning,
        _ => LogLevel.Error,
    };
}
