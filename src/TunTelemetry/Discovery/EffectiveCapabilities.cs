using System.Globalization;

namespace TunTelemetry.Discovery;

/// <summary>
/// The process's effective capabilities, from the <c>CapEff</c> line of /proc/self/status (a hex bit mask, bit n for
/// capability n of <c>uapi/linux/capability.h</c>): how the agent knows before its first request that it may not read
/// other namespaces, so it can say so once instead of once per namespace.
/// </summary>
internal static class EffectiveCapabilities
{
    public const int NetAdmin = 12;

    /// <summary>Whether capability <paramref name="capability"/> is effective; true when the mask cannot be read (the kernel will tell).</summary>
    public static bool Has(int capability, string statusPath = "/proc/self/status")
    {
        try
        {
            foreach (string line in File.ReadLines(statusPath))
            {
                if (line.StartsWith("CapEff:", StringComparison.Ordinal)
                    && ulong.TryParse(line.AsSpan(7).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong mask))
                {
                    return (mask & (1UL << capability)) != 0;
                }
            }
        }
        catch (IOException)
        {
        }

        return true;
    }
}
