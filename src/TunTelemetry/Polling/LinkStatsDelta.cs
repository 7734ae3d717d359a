using TunTelemetry.Netlink;

namespace TunTelemetry.Polling;

/// <summary>
/// The growth of each counter between two polls of the same device. A counter that went down (device re-created,
/// driver reset, 32-bit wrap in a driver) counts its new value as growth from zero: never a negative step and never the
/// 2^64 wrap that Tailscale's tundevstats produced with an unsigned subtraction.
/// </summary>
internal static class LinkStatsDelta
{
    /// <summary>
    /// Growth from <paramref name="previous"/> to <paramref name="current"/>; with no previous poll, the current values
    /// in full (the seed's rule: the exported total equals the kernel counter).
    /// </summary>
    public static LinkStats64 Growth(in LinkStats64? previous, in LinkStats64 current)
    {
        if (previous is not { } before)
        {
            return current;
        }

        Span<ulong> growth = stackalloc ulong[LinkStats64.MaxFieldCount];
        int count = current.FieldCount;
        for (int i = 0; i < count; i++)
        {
            var field = (LinkStats64Field)i;
            ulong now = current[field];
            // A field the previous reply lacked (kernel upgrade between polls cannot happen, but be exact) counts in full.
            ulong then = i < before.FieldCount ? before[field] : 0;
            growth[i] = Growth(then, now);
        }

        return LinkStats64.FromCounters(growth[..count]);
    }

    /// <summary>One counter's growth from <paramref name="then"/> to <paramref name="now"/>: after a reset, its new value.</summary>
    public static ulong Growth(ulong then, ulong now) => now >= then ? now - then : now;
}
