using System.Globalization;
using Akka.Configuration;
using Akka.Configuration.Hocon;
using TunTelemetry.Devices;

namespace TunTelemetry.Hosting;

/// <summary>
/// Reads and validates the <c>tuntelemetry</c> HOCON section. Every check names its key and the accepted range, so a
/// mistake costs one read of one line, and unknown keys are rejected because a misspelt key silently ignored is a
/// setting the user believes is active.
/// </summary>
public static class TunTelemetryConfig
{
    public const string Section = "tuntelemetry";

    private static readonly string[] KnownKeys =
    [
        "poll-interval", "poll-spread", "netlink-timeout", "devices.kind", "devices.include", "devices.exclude", "metrics.detailed",
        "metrics.link-state", "metrics.link-state-interval", "metrics.reader-interval", "metrics.reader-full-scan-interval", "metrics.max-devices", "metrics.retain-deleted", "backoff.min", "backoff.max", "backoff.random-factor", "backoff.max-retries",
        "backoff.reset-after", "prometheus.listen", "namespaces",
    ];

    /// <summary>Options from <paramref name="root"/>'s <c>tuntelemetry</c> section; absent keys keep their defaults.</summary>
    public static TunTelemetryOptions Read(Config root)
    {
        ArgumentNullException.ThrowIfNull(root);
        Config config = root.GetConfig(Section) ?? Config.Empty;
        RejectUnknownKeys(config);

        TunTelemetryOptions d = TunTelemetryOptions.Default;
        TimeSpan pollInterval = Duration(config, "poll-interval", d.PollInterval, TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1));
        // Unset, the timeout shrinks with a short poll interval rather than reject it.
        TimeSpan netlinkTimeout = Duration(config, "netlink-timeout",
            TimeSpan.FromTicks(Math.Min(d.NetlinkTimeout.Ticks, pollInterval.Ticks / 2)), TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1));
        if (netlinkTimeout >= pollInterval)
        {
            throw new TunTelemetryConfigException($"{Section}.netlink-timeout",
                $"{Show(netlinkTimeout)} must be less than poll-interval ({Show(pollInterval)})");
        }

        TimeSpan backoffMin = Duration(config, "backoff.min", d.Backoff.Min, TimeSpan.FromMilliseconds(10), TimeSpan.FromHours(1));
        TimeSpan backoffMax = Duration(config, "backoff.max", d.Backoff.Max, TimeSpan.FromMilliseconds(10), TimeSpan.FromHours(1));
        if (backoffMax < backoffMin)
        {
            throw new TunTelemetryConfigException($"{Section}.backoff.max", $"{Show(backoffMax)} must be at least backoff.min ({Show(backoffMin)})");
        }

        double randomFactor = Number(config, "backoff.random-factor", d.Backoff.RandomFactor, 0, 1);
        int maxRetries = (int)Number(config, "backoff.max-retries", d.Backoff.MaxRetries, -1, 1_000_000, integer: true);
        TimeSpan resetAfter = Duration(config, "backoff.reset-after", d.Backoff.ResetAfter, TimeSpan.FromMilliseconds(10), TimeSpan.FromDays(1));
        TimeSpan? readerInterval = DurationOrOff(config, "metrics.reader-interval", d.ReaderInterval, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
        // Unset, it grows with a long reader interval rather than reject it.
        TimeSpan readerFullScan = Duration(config, "metrics.reader-full-scan-interval",
            TimeSpan.FromTicks(Math.Max(d.ReaderFullScanInterval.Ticks, readerInterval?.Ticks ?? 0)), TimeSpan.FromSeconds(1), TimeSpan.FromDays(1));
        if (readerInterval is { } scanEvery && readerFullScan < scanEvery)
        {
            throw new TunTelemetryConfigException($"{Section}.metrics.reader-full-scan-interval",
                $"{Show(readerFullScan)} must be at least reader-interval ({Show(scanEvery)})");
        }

        return d with
        {
            PollInterval = pollInterval,
            NetlinkTimeout = netlinkTimeout,
            PollSpread = Switch(config, "poll-spread", d.PollSpread),
            Devices = Selection(config),
            AllNamespaces = Namespaces(config),
            DetailedMetrics = Switch(config, "metrics.detailed", d.DetailedMetrics),
            LinkStateMetrics = Switch(config, "metrics.link-state", d.LinkStateMetrics),
            LinkStateInterval = Duration(config, "metrics.link-state-interval", d.LinkStateInterval, TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1)),
            ReaderInterval = readerInterval,
            ReaderFullScanInterval = readerFullScan,
            MaxDevices = (int)Number(config, "metrics.max-devices", d.MaxDevices, 1, 1_000_000, integer: true),
            RetainDeleted = Duration(config, "metrics.retain-deleted", d.RetainDeleted, TimeSpan.Zero, TimeSpan.FromDays(1)),
            Backoff = new BackoffSettings(backoffMin, backoffMax, randomFactor, maxRetries, resetAfter),
            PrometheusListen = Listen(config, "prometheus.listen"),
        };
    }

    /// <summary>Parses <c>15s</c>, <c>500ms</c>, <c>1m</c>, <c>2h</c> (as HOCON durations are written).</summary>
    internal static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = default;
        text = text.Trim();
        int split = 0;
        while (split < text.Length && (char.IsAsciiDigit(text[split]) || text[split] == '.'))
        {
            split++;
        }

        if (split == 0 || !double.TryParse(text.AsSpan(0, split), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double number))
        {
            return false;
        }

        double? unitMs = text[split..].Trim() switch
        {
            "ms" or "millisecond" or "milliseconds" => 1,
            "s" or "second" or "seconds" => 1000,
            "m" or "minute" or "minutes" => 60_000,
            "h" or "hour" or "hours" => 3_600_000,
            "d" or "day" or "days" => 86_400_000,
            _ => null,
        };
        if (unitMs is null || double.IsInfinity(number * unitMs.Value) || number * unitMs.Value > TimeSpan.MaxValue.TotalMilliseconds)
        {
            return false;
        }

        value = TimeSpan.FromMilliseconds(number * unitMs.Value);
        return true;
    }

    internal static string Show(TimeSpan t) =>
        t.TotalMilliseconds < 1000 ? $"{t.TotalMilliseconds:0.###}ms" : $"{t.TotalSeconds:0.###}s";

    private static void RejectUnknownKeys(Config config)
    {
        if (config.IsEmpty)
        {
            return;
        }

        foreach (string key in Flatten(config.Root, prefix: string.Empty))
        {
            if (!KnownKeys.Contains(key))
            {
                throw new TunTelemetryConfigException($"{Section}.{key}",
                    $"unknown key (known keys: {string.Join(", ", KnownKeys)})");
            }
        }
    }

    private static IEnumerable<string> Flatten(HoconValue value, string prefix)
    {
        if (!value.IsObject())
        {
            yield return prefix;
            yield break;
        }

        foreach (KeyValuePair<string, HoconValue> item in value.GetObject().Items)
        {
            string key = prefix.Length == 0 ? item.Key : $"{prefix}.{item.Key}";
            foreach (string leaf in Flatten(item.Value, key))
            {
                yield return leaf;
            }
        }
    }

    private static TimeSpan Duration(Config config, string key, TimeSpan fallback, TimeSpan min, TimeSpan max)
    {
        if (!config.HasPath(key))
        {
            return fallback;
        }

        string text = config.GetString(key) ?? string.Empty;
        if (!TryParseDuration(text, out TimeSpan value))
        {
            throw new TunTelemetryConfigException($"{Section}.{key}",
                $"'{text}' is not a duration; write it like 15s, 500ms or 1m (accepted: {Show(min)} to {Show(max)})");
        }

        if (value < min || value > max)
        {
            throw new TunTelemetryConfigException($"{Section}.{key}", $"{Show(value)} is out of range ({Show(min)} to {Show(max)})");
        }

        return value;
    }

    /// <summary>A duration, or <c>off</c> (null).</summary>
    private static TimeSpan? DurationOrOff(Config config, string key, TimeSpan? fallback, TimeSpan min, TimeSpan max)
    {
        if (!config.HasPath(key))
        {
            return fallback;
        }

        string text = config.GetString(key) ?? string.Empty;
        if (text.Trim().Equals("off", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        if (!TryParseDuration(text, out TimeSpan value))
        {
            throw new TunTelemetryConfigException($"{Section}.{key}",
                $"'{text}' is not a duration or off; write it like 1m or 30s (accepted: off, or {Show(min)} to {Show(max)})");
        }

        if (value < min || value > max)
        {
            throw new TunTelemetryConfigException($"{Section}.{key}", $"{Show(value)} is out of range (off, or {Show(min)} to {Show(max)})");
        }

        return value;
    }

    private static double Number(Config config, string key, double fallback, double min, double max, bool integer = false)
    {
        if (!config.HasPath(key))
        {
            return fallback;
        }

        string text = config.GetString(key) ?? string.Empty;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
            || (integer && value != Math.Floor(value)) || value < min || value > max)
        {
            throw new TunTelemetryConfigException($"{Section}.{key}",
                $"'{text}' is not {(integer ? "an integer" : "a number")} from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}");
        }

        return value;
    }

    private static bool Switch(Config config, string key, bool fallback)
    {
        if (!config.HasPath(key))
        {
            return fallback;
        }

        string text = config.GetString(key) ?? string.Empty;
        return text.ToLowerInvariant() switch
        {
            "on" or "true" or "yes" => true,
            "off" or "false" or "no" => false,
            _ => throw new TunTelemetryConfigException($"{Section}.{key}", $"'{text}' is not on or off"),
        };
    }

    // Empty or absent: off, no port opened.
    private static ListenAddress? Listen(Config config, string key)
    {
        string text = config.HasPath(key) ? config.GetString(key) ?? string.Empty : string.Empty;
        if (text.Trim().Length == 0)
        {
            return null;
        }

        return ListenAddress.TryParse(text, out ListenAddress? address, out string error)
            ? address
            : throw new TunTelemetryConfigException($"{Section}.{key}", error);
    }

    private static DeviceSelection Selection(Config config)
    {
        string kindText = config.HasPath("devices.kind") ? config.GetString("devices.kind") ?? string.Empty : "all";
        TunKindSelection kinds = ParseKind(kindText)
            ?? throw new TunTelemetryConfigException($"{Section}.devices.kind", $"'{kindText}' is not tun, tap or all");
        IList<string> include = StringList(config, "devices.include");
        IList<string> exclude = StringList(config, "devices.exclude");
        try
        {
            return new DeviceSelection(kinds, include, exclude);
        }
        catch (ArgumentException e)
        {
            throw new TunTelemetryConfigException($"{Section}.devices.{e.ParamName}", e.Message.Split(" (Parameter")[0], e);
        }
    }

    private static bool Namespaces(Config config)
    {
        string text = config.HasPath("namespaces") ? config.GetString("namespaces") ?? string.Empty : "current";
        return ParseNamespaces(text)
            ?? throw new TunTelemetryConfigException($"{Section}.namespaces", $"'{text}' is not current or all");
    }

    /// <summary><c>current</c> (the agent's own network namespace: false) or <c>all</c> (every one: true).</summary>
    internal static bool? ParseNamespaces(string text) => text.Trim().ToLowerInvariant() switch
    {
        "current" => false,
        "all" => true,
        _ => null,
    };

    /// <summary><c>tun</c>, <c>tap</c> or <c>all</c>.</summary>
    internal static TunKindSelection? ParseKind(string text) => text.Trim().ToLowerInvariant() switch
    {
        "tun" => TunKindSelection.Tun,
        "tap" => TunKindSelection.Tap,
        "all" => TunKindSelection.All,
        _ => null,
    };

    private static IList<string> StringList(Config config, string key)
    {
        if (!config.HasPath(key))
        {
            return [];
        }

        try
        {
            return config.GetStringList(key);
        }
        catch (Exception e) when (e is ConfigurationException or InvalidOperationException or FormatException)
        {
            throw new TunTelemetryConfigException($"{Section}.{key}", "must be a list of regular expressions, like [\"^wg\", \"^tun\"]", e);
        }
    }
}
