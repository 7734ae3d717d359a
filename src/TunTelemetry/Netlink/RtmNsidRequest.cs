namespace TunTelemetry.Netlink;

/// <summary>
/// Encodes the namespace-id requests. The body is a <c>struct rtgenmsg</c> (one family byte, padded to 4) followed by
/// <c>NETNSA_*</c> attributes that name the namespace by an open descriptor of it (<c>NETNSA_FD</c>: a
/// <c>/run/netns/NAME</c> or <c>/proc/PID/ns/net</c>) or by a process in it (<c>NETNSA_PID</c>).
/// </summary>
internal static class RtmNsidRequest
{
    private const int RtGenMsgSize = 4;
    private const int Int32AttributeSize = 8;

    /// <summary>Room for the largest request: header, rtgenmsg and two 32-bit attributes.</summary>
    public const int MaxSize = NetlinkHeader.Size + RtGenMsgSize + (2 * Int32AttributeSize);

    /// <summary>
    /// RTM_NEWNSID: give the namespace behind <paramref name="namespaceFd"/> the id <paramref name="nsid"/> in the
    /// socket's namespace, or (with <see cref="NetnsId.NotAssigned"/>) let the kernel pick one. Asks for an
    /// acknowledgement, so success is an answer too. The kernel answers <c>EEXIST</c> when it already has an id.
    /// </summary>
    public static int WriteNew(Span<byte> destination, uint sequence, int namespaceFd, int nsid = NetnsId.NotAssigned)
    {
        int length = Begin(destination, NetnsMessageType.NewNsid, NetlinkMessageFlags.Request | NetlinkMessageFlags.Ack, sequence);
        length = AppendInt32(destination, length, NetnsAttribute.Fd, namespaceFd);
        length = AppendInt32(destination, length, NetnsAttribute.Nsid, nsid);
        return Finish(destination, length);
    }

    /// <summary>RTM_GETNSID for the namespace behind <paramref name="namespaceFd"/>.</summary>
    public static int WriteGetByFd(Span<byte> destination, uint sequence, int namespaceFd) =>
        WriteGet(destination, sequence, NetnsAttribute.Fd, namespaceFd);

    /// <summary>RTM_GETNSID for the network namespace of process <paramref name="pid"/>.</summary>
    public static int WriteGetByPid(Span<byte> destination, uint sequence, int pid) =>
        WriteGet(destination, sequence, NetnsAttribute.Pid, pid);

    private static int WriteGet(Span<byte> destination, uint sequence, ushort attribute, int value)
    {
        int length = Begin(destination, NetnsMessageType.GetNsid, NetlinkMessageFlags.Request, sequence);
        return Finish(destination, AppendInt32(destination, length, attribute, value));
    }

    private static int Begin(Span<byte> destination, ushort type, ushort flags, uint sequence)
    {
        destination[..MaxSize].Clear();
        new NetlinkHeader(0, type, flags, sequence, PortId: 0).Write(destination);
        return NetlinkHeader.Size + RtGenMsgSize; // rtgenmsg family AF_UNSPEC (0) and its padding
    }

    private static int AppendInt32(Span<byte> destination, int offset, ushort type, int value)
    {
        NativeEndian.WriteUInt16(destination[offset..], Int32AttributeSize);
        NativeEndian.WriteUInt16(destination[(offset + 2)..], type);
        NativeEndian.WriteInt32(destination[(offset + 4)..], value);
        return offset + Int32AttributeSize;
    }

    private static int Finish(Span<byte> destination, int length)
    {
        NativeEndian.WriteUInt32(destination, (uint)length);
        return length;
    }
}
