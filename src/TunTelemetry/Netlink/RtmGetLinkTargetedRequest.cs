namespace TunTelemetry.Netlink;

/// <summary>
/// Encodes RTM_GETLINK requests sent from a socket in our own namespace about another one, named by its id in ours
/// (<c>IFLA_TARGET_NETNSID</c>, since Linux 4.20). The kernel checks <c>CAP_NET_ADMIN</c> over the target namespace.
/// </summary>
internal static class RtmGetLinkTargetedRequest
{
    private const int IfInfoMsgSize = 16;
    private const ushort IflaTargetNetnsid = 46; // IFLA_TARGET_NETNSID (alias of IFLA_IF_NETNSID)
    private const ushort IflaLinkInfo = 18;
    private const ushort IflaInfoKind = 1;
    private const ushort NestedFlag = 0x8000; // NLA_F_NESTED

    // IFLA_LINKINFO { IFLA_INFO_KIND "tun\0" }: 4 + (4 + 4) bytes.
    private const int TunKindFilterSize = 12;

    /// <summary>Room for the largest request: header, ifinfomsg, the target id and the kind filter.</summary>
    public const int MaxSize = NetlinkHeader.Size + IfInfoMsgSize + 8 + TunKindFilterSize;

    /// <summary>
    /// A dump of the links of namespace <paramref name="nsid"/>. With <paramref name="tunOnly"/>, the kernel leaves out
    /// every link whose kind is not <c>tun</c> (TUN and TAP devices) before filling it: measured, a namespace's lo and
    /// veth then cost nothing. The kind filter is honoured only on a socket with <c>NETLINK_GET_STRICT_CHK</c> on
    /// (Linux 4.20+); without it the kernel ignores the attribute and dumps everything.
    /// </summary>
    public static int WriteDump(Span<byte> destination, uint sequence, int nsid, bool tunOnly)
    {
        int length = NetlinkHeader.Size + IfInfoMsgSize;
        destination[..MaxSize].Clear();
        length = AppendInt32(destination, length, IflaTargetNetnsid, nsid);
        if (tunOnly)
        {
            Span<byte> nest = destination[length..];
            NativeEndian.WriteUInt16(nest, TunKindFilterSize);
            NativeEndian.WriteUInt16(nest[2..], IflaLinkInfo | NestedFlag);
            NativeEndian.WriteUInt16(nest[4..], 8);
            NativeEndian.WriteUInt16(nest[6..], IflaInfoKind);
            "tun"u8.CopyTo(nest[8..]);
            length += TunKindFilterSize;
        }

        new NetlinkHeader((uint)length, NetlinkMessageType.GetLink, NetlinkMessageFlags.Request | NetlinkMessageFlags.Dump, sequence, 0)
            .Write(destination);
        return length;
    }

    /// <summary>One link of namespace <paramref name="nsid"/> by ifindex.</summary>
    public static int WriteOne(Span<byte> destination, uint sequence, int nsid, int ifIndex)
    {
        int length = NetlinkHeader.Size + IfInfoMsgSize;
        destination[..MaxSize].Clear();
        NativeEndian.WriteInt32(destination[(NetlinkHeader.Size + 4)..], ifIndex);
        length = AppendInt32(destination, length, IflaTargetNetnsid, nsid);
        new NetlinkHeader((uint)length, NetlinkMessageType.GetLink, NetlinkMessageFlags.Request, sequence, 0).Write(destination);
        return length;
    }

    private static int AppendInt32(Span<byte> destination, int offset, ushort type, int value)
    {
        NativeEndian.WriteUInt16(destination[offset..], 8);
        NativeEndian.WriteUInt16(destination[(offset + 2)..], type);
        NativeEndian.WriteInt32(destination[(offset + 4)..], value);
        return offset + 8;
    }
}
