namespace TunTelemetry.Netlink;

/// <summary>A device's counters from one RTM_NEWLINK message: what a namespace dump gives per TUN device.</summary>
internal readonly record struct LinkStatsReading(int IfIndex, LinkStats64 Stats);

/// <summary>
/// Reads <c>IFLA_STATS64</c> (the same <c>struct rtnl_link_stats64</c> as RTM_GETSTATS' <c>IFLA_STATS_LINK_64</c>)
/// from an RTM_NEWLINK body without allocating: the poll path of a namespace read with a targeted dump.
/// </summary>
internal static class RtmNewLinkStats
{
    private const int IfInfoMsgSize = 16;
    private const ushort IflaStats64 = 23;
    private const ushort IflaIfName = 3;

    /// <summary>
    /// False when the message carries no <c>IFLA_STATS64</c>: the kernel leaves it out only for a device without
    /// statistics, so the caller treats that device as unreadable rather than as zeros.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> body, out LinkStatsReading reading) => TryRead(body, out reading, out _);

    /// <summary>As <see cref="TryRead(ReadOnlySpan{byte}, out LinkStatsReading)"/>, with the link's name (<c>IFLA_IFNAME</c>, without its NUL; empty if absent).</summary>
    public static bool TryRead(ReadOnlySpan<byte> body, out LinkStatsReading reading, out ReadOnlySpan<byte> name)
    {
        reading = default;
        name = default;
        if (body.Length < IfInfoMsgSize)
        {
            throw new MalformedNetlinkReplyException(MalformedReplyReason.TooShort,
                $"ifinfomsg needs {IfInfoMsgSize} bytes, the message body has {body.Length}");
        }

        int ifIndex = NativeEndian.ReadInt32(body[4..]);
        bool found = false;
        var attributes = new NetlinkAttributeReader(body[IfInfoMsgSize..]);
        while (attributes.Next())
        {
            if (attributes.Type == IflaStats64)
            {
                reading = new LinkStatsReading(ifIndex, LinkStats64.Decode(attributes.Payload));
                found = true;
                if (!name.IsEmpty)
                {
                    break; // the kernel puts the name first: nothing after the counters is needed
                }
            }
            else if (attributes.Type == IflaIfName)
            {
                name = attributes.PayloadCString();
            }
        }

        return found;
    }
}
