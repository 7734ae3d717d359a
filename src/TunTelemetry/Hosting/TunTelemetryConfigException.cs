namespace TunTelemetry.Hosting;

/// <summary>A configuration value is missing its mark; the message names the key and what it accepts.</summary>
public sealed class TunTelemetryConfigException : Exception
{
    internal TunTelemetryConfigException(string key, string message, Exception? inner = null)
        : base($"invalid configuration: {key}: {message}", inner)
    {
        Key = key;
    }

    /// <summary>The configuration key whose value was refused (<c>tuntelemetry.poll-interval</c>).</summary>
    public string Key { get; }
}
