namespace TunTelemetry.Netlink;

/// <summary>
/// Encodes RTM_GETLINK requests: a dump of every link, or one link by ifindex or by name (<c>IFLA_IFNAME</c>).
/// The body is a zeroed <c>struct ifinfomsg</c> (16 bytes) whose index selects the link.
/// </summary>
internal static class RtmGetLinkRequest
{
    private const int IfInfoMsgSize = 16;
    private const ushort IflaIfName = 3;

    /// <summary>Room for the largest request: header, ifinfomsg, and a 15-byte name attribute with its NUL.</summary>
    public const int MaxSize = NetlinkHeader.Size + IfInfoMsgSize + 20;

    public static int WriteDump(Span<byte> destination, uint sequence)
    {
        const int length = NetlinkHeader.Size + IfInfoMsgSize;
        destination[..length].Clear();
        new NetlinkHeader(length, NetlinkMessageType.GetLink, NetlinkMessageFlags.Request | NetlinkMessageFlags.Dump, sequence, 0)
            .Write(destination);
        return length;
    }

    /// <summary>One link: by <paramref name="ifIndex"/>, or (with ifindex 0) by <paramref name="name"/>.</summary>
    public static int WriteOne(Span<byte> destination, uint sequence, int ifIndex, ReadOnlySpan<byte> name)
    {
        int nameAttribute = name.IsEmpty ? 0 : NetlinkHeader.Align(4 + name.Length + 1);
        int length = NetlinkHeader.Size + IfInfoMsgSize + nameAttribute;
        destination[..length].Clear();
        new NetlinkHeader((uint)length, NetlinkMessageType.GetLink, NetlinkMessageFlags.Request, sequence, 0).Write(destination);
        NativeEndian.WriteInt32(destination[(NetlinkHeader.Size + 4)..], ifIndex);
        if (!name.IsEmpty)
        {
            Span<byte> attribute = destination[(NetlinkHeader.Size + IfInfoMsgSize)..];
            NativeEndian.WriteUInt16(attribute, (ushort)(4 + name.Length + 1));
            NativeEndian.WriteUInt16(attribute[2..], IflaIfName);
            name.CopyTo(attribute[4..]);
        }

        return length;
    }
}
