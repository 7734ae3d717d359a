namespace TunTelemetry.Netlink;

/// <summary>
/// Decodes the kernel's answer to <see cref="RtmGetStatsRequest"/>: one datagram holding exactly one message, either
/// RTM_NEWSTATS with an <c>IFLA_STATS_LINK_64</c> attribute, or NLMSG_ERROR. Pure: bytes in, value or typed error out.
/// </summary>
internal static class RtmNewStatsReply
{
    /// <summary>
    /// Decodes <paramref name="datagram"/>. Returns false when it answers another request (other sequence number or
    /// port id): a late reply to an earlier, timed-out poll, which the caller skips. Throws
    /// <see cref="NetlinkDeviceGoneException"/>, <see cref="NetlinkErrnoException"/> or
    /// <see cref="MalformedNetlinkReplyException"/>.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> datagram, uint sequence, uint portId, int ifIndex, out LinkStats64 stats)
    {
        stats = default;
        NetlinkHeader header = NetlinkHeader.Read(datagram);
        if (header.Length < NetlinkHeader.Size || header.Length > datagram.Length)
        {
            throw new MalformedNetlinkReplyException(MalformedReplyReason.BadLength,
                $"nlmsg_len {header.Length} but the datagram has {datagram.Length} bytes");
        }

        if (header.Sequence != sequence || header.PortId != portId)
        {
            return false;
        }

        if (NetlinkHeader.Align((int)header.Length) < datagram.Length)
        {
            throw new MalformedNetlinkReplyException(MalformedReplyReason.UnexpectedMessageCount,
                $"expected one message, but {datagram.Length - header.Length} bytes follow the first");
        }

        ReadOnlySpan<byte> body = datagram[NetlinkHeader.Size..(int)header.Length];
        if (header.Type == NetlinkMessageType.Error)
        {
            if (NetlinkErrorMessage.ReadErrno(body) == 0)
            {
                throw new MalformedNetlinkReplyException(MalformedReplyReason.UnexpectedMessageCount,
                    "got an acknowledgement but no RTM_NEWSTATS message");
            }

            throw NetlinkErrorMessage.ToException(header, body, "RTM_GETSTATS", ifIndex);
        }

        if (header.Type != NetlinkMessageType.NewStats)
        {
            throw new MalformedNetlinkReplyException(MalformedReplyReason.WrongMessageType,
                $"expected RTM_NEWSTATS ({NetlinkMessageType.NewStats}), got message type {header.Type}");
        }

        IfStatsMsg ifStats = IfStatsMsg.Read(body);
        if (ifStats.IfIndex != ifIndex)
        {
            throw new MalformedNetlinkReplyException(MalformedReplyReason.WrongDevice,
                $"asked for ifindex {ifIndex}, the reply is for {ifStats.IfIndex}");
        }

        var attributes = new NetlinkAttributeReader(body[IfStatsMsg.Size..]);
        while (attributes.Next())
        {
            // Type 0 is IFLA_STATS_UNSPEC, which the kernel uses as padding to align 64-bit payloads.
            if (attributes.Type == IfStatsMsg.StatsLink64Attribute)
            {
                stats = LinkStats64.Decode(attributes.Payload);
                return true;
            }
        }

        throw new MalformedNetlinkReplyException(MalformedReplyReason.MissingAttribute,
            "RTM_NEWSTATS carries no IFLA_STATS_LINK_64 attribute");
    }
}
