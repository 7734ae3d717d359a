using Xunit;

namespace TunTelemetry.IntegrationTests.Support;

/// <summary>
/// Whether this process may create TUN devices: CAP_NET_ADMIN in its effective set (bit 12 of CapEff).
/// </summary>
public static class NetAdmin
{
    public const string SkipReason =
        "needs root/CAP_NET_ADMIN to create TUN devices; run as root, or set TUNTELEMETRY_REQUIRE_NETADMIN=1 to fail instead of skipping";

    public static bool Available { get; } = ReadCapability();

    /// <summary>TUNTELEMETRY_REQUIRE_NETADMIN=1 (set by .ci/run): never skip, so a missing privilege fails loudly.</summary>
    public static bool Required => Environment.GetEnvironmentVariable("TUNTELEMETRY_REQUIRE_NETADMIN") == "1";

    public static string? Skip => Available || Required ? null : SkipReason;

    private static bool ReadCapability()
    {
        const int CapNetAdmin = 12;
        string? line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("CapEff:", StringComparison.Ordinal));
        return line is not null
            && ulong.TryParse(line["CapEff:".Length..].Trim(), System.Globalization.NumberStyles.HexNumber, null, out ulong caps)
            && (caps & (1UL << CapNetAdmin)) != 0;
    }
}

/// <summary>A fact that needs CAP_NET_ADMIN: skipped with the reason without it, unless TUNTELEMETRY_REQUIRE_NETADMIN=1.</summary>
public sealed class NetAdminFactAttribute : FactAttribute
{
    public NetAdminFactAttribute()
    {
        Skip = NetAdmin.Skip;
    }
}

public sealed class NetAdminTheoryAttribute : TheoryAttribute
{
    public NetAdminTheoryAttribute()
    {
        Skip = NetAdmin.Skip;
    }
}
