using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace TunTelemetry.Tests.Support;

/// <summary>An <see cref="ILoggerProvider"/> that keeps every entry written to it, with the scopes it was written in.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    private readonly BlockingCollection<CapturedLogEntry> _entries = [];
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public ILogger CreateLogger(string categoryName) => new CapturingLogger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    /// <summary>
    /// The next entry that matches, waiting for it up to <paramref name="timeout"/>: the logger actor writes on its own
    /// thread, some time after the event was published.
    /// </summary>
    public CapturedLogEntry Next(Func<CapturedLogEntry, bool> match, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            foreach (CapturedLogEntry entry in _entries.GetConsumingEnumerable(cancel.Token))
            {
                if (match(entry))
                {
                    return entry;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        throw new TimeoutException($"no matching log entry within {timeout}");
    }

    /// <summary>Every entry not yet taken by <see cref="Next"/>.</summary>
    public IReadOnlyList<CapturedLogEntry> Remaining() => [.. _entries];

    public void Dispose() => _entries.Dispose();

    private sealed class CapturingLogger(CapturingLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => provider._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var scopes = new List<KeyValuePair<string, object?>>();
            provider._scopes.ForEachScope(
                (scope, list) =>
                {
                    if (scope is IEnumerable<KeyValuePair<string, object?>> pairs)
                    {
                        list.AddRange(pairs);
                    }
                },
                scopes);
            provider._entries.Add(new CapturedLogEntry(category, logLevel, formatter(state, exception), exception, scopes));
        }
    }
}

public sealed record CapturedLogEntry(
    string Category, LogLevel Level, string Text, Exception? Exception, IReadOnlyList<KeyValuePair<string, object?>> Scopes);
