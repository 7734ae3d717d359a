namespace TunTelemetry.Netlink;

/// <summary>
/// Encodes RTM_GETLINK requests: a dump of a namespace's links, or one link by ifindex or by name
/// (<c>IFLA_IFNAME</c>). The body is a zeroed <c>struct ifinfomsg</c> (16 bytes) whose index selects the link, then,
/// for a namespace other than the socket's, its id in ours (<c>IFLA_TARGET_NETNSID</c>, since Linux 4.20; the kernel
/// checks <c>CAP_NET_ADMIN</c> over that namespace).
/// </summary>
internal static class RtmGetLinkRequest
{
    private const int IfInfoMsgSize = 16;
    private const ushort IflaIfName = 3;
    private const ushort IflaTargetNetnsid = 46; // IFLA_TARGET_NETNSID (alias of IFLA_IF_NETNSID)
    private const ushort IflaLinkInfo = 18;
    private const ushort IflaInfoKind = 1;
    private const ushort NestedFlag = 0x8000; // NLA_F_NESTED
    private const int TargetSize = 8;
    private const int MaxNameSize = 20; // a 15-byte name with its NUL, aligned

    // IFLA_LINKINFO { IFLA_INFO_KIND "tun\0" }: 4 + (4 + 4) bytes.
    private const int TunKindFilterSize = 12;

    /// <summary>Room for the largest request: header, ifinfomsg, a name or the kind filter, and the target id.</summary>
    public const int MaxSize = NetlinkHeader.Size + IfInfoMsgSize + MaxNameSize + TargetSize;

    /// <summary>
    /// A dump of the links of <paramref name="target"/>. With <paramref name="tunOnly"/>, the kernel leaves out every
    /// link whose kind is not <c>tun</c> (TUN and TAP devices) before filling it: measured, a namespace's lo and veth
    /// then cost nothing. The kind filter is honoured only on a socket with <c>NETLINK_GET_STRICT_CHK</c> on (Linux
    /// 4.20+); without it the kernel ignores the attribute and dumps everything.
    /// </summary>
    public static int WriteDump(Span<byte> destination, uint sequence, LinkTarget target, bool tunOnly)
    {
        destination[..MaxSize].Clear();
        int length = AppendTarget(destination, NetlinkHeader.Size + IfInfoMsgSize, target);
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

    /// <summary>One link of <paramref name="target"/>: by <paramref name="ifIndex"/>, or (with ifindex 0) by <paramref name="name"/>.</summary>
    public static int WriteOne(Span<byte> destination, uint sequence, LinkTarget target, int ifIndex, ReadOnlySpan<byte> name)
    {
        destination[..MaxSize].Clear();
        NativeEndian.WriteInt32(destination[(NetlinkHeader.Size + 4)..], ifIndex);
        int length = NetlinkHeader.Size + IfInfoMsgSize;
        if (!name.IsEmpty)
        {
            Span<byte> attribute = destination[length..];
            NativeEndian.WriteUInt16(attribute, (ushort)(4 + name.Length + 1));
            NativeEndian.WriteUInt16(attribute[2..], IflaIfName);
            name.CopyTo(attribute[4..]);
            length += NetlinkHeader.Align(4 + name.Length + 1);
        }

        length = AppendTarget(destination, length, target);
        new NetlinkHeader((uint)length, NetlinkMessageType.GetLink, NetlinkMessageFlags.Request, sequence, 0).Write(destination);
        return length;
    }

    private static int AppendTarget(Span<byte> destination, int offset, LinkTarget target)
    {
        if (target.Nsid is not { } nsid)
        {
            return offset;
        }

        NativeEndian.WriteUInt16(destination[offset..], TargetSize);
        NativeEndian.WriteUInt16(destination[(offset + 2)..], IflaTargetNetnsid);
        NativeEndian.WriteInt32(destination[(offset + 4)..], nsid);
        return offset + TargetSize;
    }
}
