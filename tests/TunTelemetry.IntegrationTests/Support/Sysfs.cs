using System.Globalization;

namespace TunTelemetry.IntegrationTests.Support;

/// <summary>The kernel's other view of a device's counters: one file per field in /sys/class/net/DEV/statistics.</summary>
public static class Sysfs
{
    public static ulong Statistic(string device, string field) =>
        ulong.Parse(File.ReadAllText($"/sys/class/net/{device}/statistics/{field}").Trim(), CultureInfo.InvariantCulture);

    public static IReadOnlyDictionary<string, ulong> Statistics(string device) =>
        Directory.GetFiles($"/sys/class/net/{device}/statistics")
            .ToDictionary(f => Path.GetFileName(f)!, f => ulong.Parse(File.ReadAllText(f).Trim(), CultureInfo.InvariantCulture));

    public static bool Exists(string device) => Directory.Exists($"/sys/class/net/{device}");
}
