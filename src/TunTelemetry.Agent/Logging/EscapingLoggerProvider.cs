using Microsoft.Extensions.Logging;
using TunTelemetry.Devices;

namespace TunTelemetry.Agent.Logging;

/// <summary>
/// The console log's provider with every entry's text and its exception's messages passed through
/// <see cref="HumanText.Escape"/> before a formatter (simple, systemd's journal, JSON) sees them. Log lines carry names
/// that devices, processes and namespaces gave themselves; escaping here, at the one place every line passes, keeps a
/// hostile name from reaching a terminal or the journal raw, whichever code logged it and however. The structured
/// state (the JSON formatter's <c>State</c>) keeps the exact values for machines.
/// </summary>
[ProviderAlias("Console")] // the console provider's alias: Logging:Console:LogLevel rules still apply to it
internal sealed class EscapingLoggerProvider(ILoggerProvider inner) : ILoggerProvider, ISupportExternalScope
{
    public ILogger CreateLogger(string categoryName) => new EscapingLogger(inner.CreateLogger(categoryName));

    public void SetScopeProvider(IExternalScopeProvider scopeProvider)
    {
        if (inner is ISupportExternalScope scoped)
        {
            scoped.SetScopeProvider(scopeProvider);
        }
    }

    public void Dispose() => inner.Dispose();

    private sealed class EscapingLogger(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            inner.Log(logLevel, eventId, state, exception is null ? null : new EscapedException(exception),
                (s, _) => HumanText.Escape(formatter(s, exception)));
    }

    /// <summary>
    /// An exception as formatters print it (<see cref="Exception.ToString"/>: types, messages, stack traces), with the
    /// messages, where names appear, escaped. The stack trace's line breaks stay: they are the runtime's, not a name's.
    /// </summary>
    private sealed class EscapedException(Exception original) : Exception(HumanText.Escape(original.Message))
    {
        public override string ToString()
        {
            string text = original.ToString();
            for (Exception? e = original; e is not null; e = e.InnerException)
            {
                if (e.Message.Length > 0 && HumanText.NeedsEscape(e.Message))
                {
                    text = text.Replace(e.Message, HumanText.Escape(e.Message), StringComparison.Ordinal);
                }
            }

            return text;
        }
    }
}
