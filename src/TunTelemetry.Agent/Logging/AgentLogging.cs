using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using AkkaLogLevel = Akka.Event.LogLevel;

namespace TunTelemetry.Agent.Logging;

/// <summary>
/// The agent's log: one line per entry on stdout with one timestamp and one level, levels set the way .NET hosts set
/// them (<c>Logging__LogLevel__Default</c>, <c>Logging__LogLevel__&lt;Category&gt;</c>), and Akka told to publish
/// what those levels let through.
/// </summary>
internal static class AgentLogging
{
    /// <summary>The configuration key <c>--log-level</c> sets, over the environment's <c>Logging__LogLevel__Default</c>.</summary>
    public const string DefaultLevelKey = "Logging:LogLevel:Default";

    public const string FormatterNameKey = "Logging:Console:FormatterName";

    // Sortable and the same in every culture and time zone; the trailing space separates it from the level.
    private const string TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z' ";

    public static void Configure(ILoggingBuilder logging, IConfiguration configuration)
    {
        // Defaults first, so the "Logging" section's rules (same categories, added later) win over them.
        logging.ClearProviders()
            .SetMinimumLevel(LogLevel.Information)
            .AddFilter("Microsoft", LogLevel.Warning)
            .AddConfiguration(configuration.GetSection("Logging"));

        // Registered before AddConsole binds Logging:Console:FormatterOptions, so those keys still override these.
        logging.Services.Configure<SimpleConsoleFormatterOptions>(o =>
        {
            o.SingleLine = true;
            o.UseUtcTimestamp = true;
            o.TimestampFormat = TimestampFormat;
        });

        // Set after AddSystemd(), which picks the systemd formatter for any process systemd started, even one whose
        // output goes to a file or a terminal.
        string formatter = configuration[FormatterNameKey] is { Length: > 0 } name ? name
            : WritesToJournal() ? ConsoleFormatterNames.Systemd
            : ConsoleFormatterNames.Simple;
        logging.AddConsole(o => o.FormatterName = formatter);

        // Every line through HumanText.Escape: the console provider AddConsole registered, wrapped.
        ServiceDescriptor console = logging.Services.Single(d =>
            d.ServiceType == typeof(ILoggerProvider) && d.ImplementationType == typeof(ConsoleLoggerProvider));
        logging.Services.Remove(console);
        logging.Services.AddSingleton<ILoggerProvider>(services =>
            new EscapingLoggerProvider(ActivatorUtilities.CreateInstance<ConsoleLoggerProvider>(services)));
    }

    /// <summary>
    /// Whether stdout goes to the systemd journal, which stamps each line itself and reads the level from a
    /// <c>&lt;N&gt;</c> prefix. systemd sets <c>JOURNAL_STREAM</c> only for a service whose stdout or stderr is
    /// connected to the journal; a terminal is never the journal, even in a shell that inherited the variable.
    /// </summary>
    internal static bool WritesToJournal() =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("JOURNAL_STREAM")) && Console.IsOutputRedirected;

    /// <summary>
    /// The <c>akka.loglevel</c> the host's filters need: Akka publishes only events at or above it, so a Debug level for
    /// any category must lower it; null keeps <c>hocon.conf</c>'s. Lower levels than needed are filtered by ILogger.
    /// </summary>
    public static AkkaLogLevel? AkkaLevel(IServiceProvider services)
    {
        LoggerFilterOptions filters = services.GetRequiredService<IOptions<LoggerFilterOptions>>().Value;
        LogLevel lowest = filters.MinLevel;
        foreach (LoggerFilterRule rule in filters.Rules)
        {
            if (rule.LogLevel is { } level && level < lowest)
            {
                lowest = level;
            }
        }

        return lowest <= LogLevel.Debug ? AkkaLogLevel.DebugLevel : null;
    }
}
