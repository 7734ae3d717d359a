namespace TunTelemetry.Netlink;

/// <summary><c>struct if_stats_msg</c> from <c>uapi/linux/if_link.h</c>: the fixed header of RTM_GETSTATS and RTM_NEWSTATS.</summary>
internal readonly record struct IfStatsMsg(byte Family, int IfIndex, uint FilterMask)
{
    public const int Size = 12;

    /// <summary><c>IFLA_STATS_LINK_64</c>: the attribute carrying <c>struct rtnl_link_stats64</c>.</summary>
    public const ushort StatsLink64Attribute = 1;

    /// <summary><c>IFLA_STATS_FILTER_BIT(IFLA_STATS_LINK_64)</c>: ask for that attribute only.</summary>
    public const uint StatsLink64FilterMask = 1u << (StatsLink64Attribute - 1);

    public static IfStatsMsg Read(ReadOnlySpan<byte> source)
    {
        if (source.Length < Size)
        {
            throw new MalformedNetlinkReplyException(MalformedReplyReason.TooShort,
                $"if_stats_msg needs {Size} bytes, the message body has {source.Length}");
        }

        return new IfStatsMsg(source[0], NativeEndian.ReadInt32(source[4..]), NativeEndian.ReadUInt32(source[8..]));
    }

    public void Write(Span<byte> destination)
    {
        destination[..Size].Clear();
        destination[0] = Family;
        NativeEndian.WriteInt32(destination[4..], IfIndex);
        NativeEndian.WriteUInt32(destination[8..], FilterMask);
    }
}
