using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using TunTelemetry.Agent.Telemetry;
using Xunit;

namespace TunTelemetry.Tests.Agent;

/// <summary>OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE, which the agent reads itself since it builds its own reader.</summary>
public sealed class TemporalityPreferenceTests
{
    [Theory]
    [InlineData(null, MetricReaderTemporalityPreference.Cumulative)]
    [InlineData("", MetricReaderTemporalityPreference.Cumulative)]
    [InlineData("cumulative", MetricReaderTemporalityPreference.Cumulative)]
    [InlineData("Delta", MetricReaderTemporalityPreference.Delta)]
    [InlineData(" lowmemory ", MetricReaderTemporalityPreference.LowMemory)]
    public void A_known_value_or_none_is_taken_without_a_warning(string? value, MetricReaderTemporalityPreference expected)
    {
        var log = new WarningCounter();
        Assert.Equal(expected, OpenTelemetrySetup.Temporality(Services(value, log)));
        Assert.Equal(0, log.Warnings);
    }

    [Theory]
    [InlineData("deltas")]
    [InlineData("2")]
    public void An_unknown_value_is_reported_and_cumulative_is_used(string value)
    {
        var log = new WarningCounter();
        Assert.Equal(MetricReaderTemporalityPreference.Cumulative, OpenTelemetrySetup.Temporality(Services(value, log)));
        Assert.Equal(1, log.Warnings);
    }

    private static ServiceProvider Services(string? value, WarningCounter log) => new ServiceCollection()
        .AddSingleton<IConfiguration>(new ConfigurationBuilder()
            .AddInMemoryCollection([new KeyValuePair<string, string?>(OpenTelemetrySetup.TemporalityVariable, value)]).Build())
        .AddLogging(b => b.AddProvider(log))
        .BuildServiceProvider();

    private sealed class WarningCounter : ILoggerProvider, ILogger
    {
        public int Warnings { get; private set; }

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.Warning)
            {
                Warnings++;
            }
        }

        public void Dispose()
        {
        }
    }
}
