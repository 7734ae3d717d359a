using Akka.Configuration;
using TunTelemetry.Hosting;

namespace TunTelemetry.Agent.Configuration;

/// <summary>
/// Builds the effective configuration: command-line values over <c>hocon.conf</c> over built-in defaults, then
/// validates it. Any problem is a <see cref="TunTelemetryConfigException"/> naming the key or option.
/// </summary>
public static class AgentConfigLoader
{
    public const string ConfigFileName = "hocon.conf";

    public static (Config Hocon, TunTelemetryOptions Options) Load(AgentSettings settings)
    {
        Config file = ReadFile(settings.ConfigPath);
        Config overrides = Overrides(settings);
        Config effective = overrides.WithFallback(file);
        return (effective, TunTelemetryConfig.Read(effective));
    }

    private static Config ReadFile(string? path)
    {
        string resolved = path ?? Path.Combine(AppContext.BaseDirectory, ConfigFileName);
        if (!File.Exists(resolved))
        {
            if (path is null)
            {
                return Config.Empty; // no file next to the binary: built-in defaults
            }

            throw new TunTelemetryConfigException("--config", $"no such file: {path}");
        }

        try
        {
            return ConfigurationFactory.ParseString(File.ReadAllText(resolved));
        }
        catch (Exception e) when (e is ConfigurationException or FormatException or InvalidOperationException)
        {
            throw new TunTelemetryConfigException("--config", $"{resolved} is not valid HOCON: {e.Message.Split('\n')[0]}", e);
        }
    }

    private static Config Overrides(AgentSettings settings)
    {
        var lines = new List<string>();
        if (settings.PollInterval is { } interval)
        {
            if (!TunTelemetryConfig.TryParseDuration(interval, out _))
            {
                throw new TunTelemetryConfigException("--poll-interval", $"'{interval}' is not a duration; write it like 15s, 500ms or 1m");
            }

            lines.Add($"tuntelemetry.poll-interval = {Quote(interval)}");
        }

        if (settings.Kind is { } kind)
        {
            if (TunTelemetryConfig.ParseKind(kind) is null)
            {
                throw new TunTelemetryConfigException("--kind", $"'{kind}' is not tun, tap or all");
            }

            lines.Add($"tuntelemetry.devices.kind = {Quote(kind)}");
        }

        if (settings.PrometheusListen is { } listen)
        {
            if (!ListenAddress.TryParse(listen, out _, out string error))
            {
                throw new TunTelemetryConfigException("--prometheus-listen", error);
            }

            lines.Add($"tuntelemetry.prometheus.listen = {Quote(listen)}");
        }

        if (settings.Include.Count > 0)
        {
            lines.Add($"tuntelemetry.devices.include = [{string.Join(", ", settings.Include.Select(Quote))}]");
        }

        if (settings.Exclude.Count > 0)
        {
            lines.Add($"tuntelemetry.devices.exclude = [{string.Join(", ", settings.Exclude.Select(Quote))}]");
        }

        return lines.Count == 0 ? Config.Empty : ConfigurationFactory.ParseString(string.Join('\n', lines));
    }

    // HOCON quoted strings follow JSON escaping, so a regex like \d+ survives intact.
    private static string Quote(string value) => System.Text.Json.JsonSerializer.Serialize(value);
}
