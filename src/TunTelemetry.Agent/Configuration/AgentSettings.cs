using Microsoft.Extensions.Logging;

namespace TunTelemetry.Agent.Configuration;

/// <summary>What the command line says about a <c>run</c>; null means "not given: use hocon.conf".</summary>
public sealed record AgentSettings
{
    /// <summary>hocon.conf to read; null for the one next to the binary.</summary>
    public string? ConfigPath { get; init; }

    public string? PollInterval { get; init; }

    public IReadOnlyList<string> Include { get; init; } = [];

    public IReadOnlyList<string> Exclude { get; init; } = [];

    public string? Kind { get; init; }

    /// <summary><c>--all-namespaces</c>: sets <c>tuntelemetry.namespaces = all</c>; false leaves it to hocon.conf.</summary>
    public bool AllNamespaces { get; init; }

    /// <summary>HOST:PORT for the Prometheus scrape endpoint (overrides <c>tuntelemetry.prometheus.listen</c>).</summary>
    public string? PrometheusListen { get; init; }

    /// <summary>Show the periodic console view; null decides by whether a collector is configured or stdout is a terminal.</summary>
    public bool? Console { get; init; }

    /// <summary>Lowest level logged; null leaves it to <c>Logging__LogLevel__Default</c> (default Information).</summary>
    public LogLevel? LogLevel { get; init; }
}
