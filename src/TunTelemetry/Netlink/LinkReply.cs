namespace TunTelemetry.Netlink;

/// <summary>
/// The answer to an RTM_GETLINK request for one link (by ifindex or name, in our namespace or a targeted one): an
/// RTM_NEWLINK message, whose body is decoded here, or its counters alone without allocating.
/// </summary>
internal static class LinkReply
{
    /// <summary>The link the answer describes; throws when the answer is not an RTM_NEWLINK.</summary>
    public static LinkDescription Decode(in NetlinkHeader header, ReadOnlySpan<byte> body)
    {
        ThrowUnlessNewLink(header);
        return RtmNewLinkMessage.Decode(body);
    }

    /// <summary>
    /// The counters of the link the answer describes, checked to be device <paramref name="ifIndex"/> still named
    /// <paramref name="name"/>. A name that differs means the ifindex no longer leads to the device watched (renamed
    /// in place, or, read through a namespace id, an id the kernel gave to another namespace since): the device, as
    /// the poller knew it, is gone.
    /// </summary>
    public static LinkStats64 Stats(in NetlinkHeader header, ReadOnlySpan<byte> body, int ifIndex, string name)
    {
        ThrowUnlessNewLink(header);
        if (!RtmNewLinkStats.TryRead(body, out LinkStatsReading reading, out ReadOnlySpan<byte> replyName))
        {
            throw new MalformedNetlinkReplyException(MalformedReplyReason.MissingAttribute, $"RTM_NEWLINK of ifindex {ifIndex} has no IFLA_STATS64");
        }

        if (reading.IfIndex != ifIndex)
        {
            throw new MalformedNetlinkReplyException(MalformedReplyReason.WrongDevice, $"asked for ifindex {ifIndex}, the reply is for {reading.IfIndex}");
        }

        if (!InterfaceName.Matches(replyName, name))
        {
            throw new NetlinkDeviceGoneException(ifIndex);
        }

        return reading.Stats;
    }

    private static void ThrowUnlessNewLink(in NetlinkHeader header)
    {
        if (header.Type != NetlinkMessageType.NewLink)
        {
            throw new MalformedNetlinkReplyException(MalformedReplyReason.WrongMessageType,
                $"expected RTM_NEWLINK ({NetlinkMessageType.NewLink}), got message type {header.Type}");
        }
    }
}
