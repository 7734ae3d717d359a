namespace TunTelemetry.Netlink;

/// <summary><c>struct nlmsghdr</c> (16 bytes, native byte order), from <c>uapi/linux/netlink.h</c>.</summary>
internal readonly record struct NetlinkHeader(uint Length, ushort Type, ushort Flags, uint Sequence, uint PortId)
{
    public const int Size = 16;

    /// <summary>NLMSG_ALIGN: messages and attributes start on 4-byte boundaries.</summary>
    public static int Align(int length) => (length + 3) & ~3;

    public static NetlinkHeader Read(ReadOnlySpan<byte> source)
    {
        if (source.Length < Size)
        {
            throw new MalformedNetlinkReplyException(MalformedReplyReason.TooShort,
                $"netlink message of {source.Length} bytes is shorter than its {Size}-byte header");
        }

        return new NetlinkHeader(
            NativeEndian.ReadUInt32(source),
            NativeEndian.ReadUInt16(source[4..]),
            NativeEndian.ReadUInt16(source[6..]),
            NativeEndian.ReadUInt32(source[8..]),
            NativeEndian.ReadUInt32(source[12..]));
    }

    public void Write(Span<byte> destination)
    {
        NativeEndian.WriteUInt32(destination, Length);
        NativeEndian.WriteUInt16(destination[4..], Type);
        NativeEndian.WriteUInt16(destination[6..], Flags);
        NativeEndian.WriteUInt32(destination[8..], Sequence);
        NativeEndian.WriteUInt32(destination[12..], PortId);
    }
}
