namespace TunTelemetry.Hosting;

/// <summary>A configuration value is missing its mark; the message names the key and what it accepts.</summary>
public sealed class TunTelemetryConfigException(string key, string message, Exception? inner = null)
    : Exception($"invalid configuration: {key}: {message}", inner)
{
    public string Key { get; } = key;
}
