namespace TunTelemetry.Netlink;

/// <summary>
/// Reads the namespace id the kernel attaches to a message received on a socket with <c>NETLINK_LISTEN_ALL_NSID</c>:
/// a control message (<c>struct cmsghdr</c>: 8-byte length, level <c>SOL_NETLINK</c>, type
/// <c>NETLINK_LISTEN_ALL_NSID</c>) holding an <c>int</c>. The kernel attaches it only to messages from another
/// namespace that has an id in ours; a message without one comes from the socket's own namespace.
/// </summary>
internal static class NetlinkNsidControlMessage
{
    internal const int SolNetlink = 270;
    internal const int ListenAllNsid = 8; // NETLINK_LISTEN_ALL_NSID

    // struct cmsghdr on 64-bit Linux: size_t cmsg_len, int cmsg_level, int cmsg_type; data aligned to 8 bytes.
    private const int HeaderSize = 16;

    /// <summary>Room for one namespace-id control message (<c>CMSG_SPACE(sizeof(int))</c>).</summary>
    public const int Space = HeaderSize + 8;

    /// <summary>
    /// Finds the namespace id among the control messages in <paramref name="control"/> (the <c>msg_control</c> bytes
    /// <c>recvmsg</c> filled, <c>msg_controllen</c> long). False when there is none: the message is from our namespace.
    /// </summary>
    public static bool TryReadNsid(ReadOnlySpan<byte> control, out int nsid)
    {
        nsid = NetnsId.NotAssigned;
        while (control.Length >= HeaderSize)
        {
            ulong length = BitConverter.IsLittleEndian
                ? System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(control)
                : System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(control);
            if (length < HeaderSize || length > (ulong)control.Length)
            {
                throw new MalformedNetlinkReplyException(MalformedReplyReason.BadLength,
                    $"control message length {length} does not fit the {control.Length} bytes left");
            }

            int level = NativeEndian.ReadInt32(control[8..]);
            int type = NativeEndian.ReadInt32(control[12..]);
            if (level == SolNetlink && type == ListenAllNsid)
            {
                if (length < HeaderSize + sizeof(int))
                {
                    throw new MalformedNetlinkReplyException(MalformedReplyReason.TooShort,
                        $"NETLINK_LISTEN_ALL_NSID control message of {length} bytes has no room for its id");
                }

                nsid = NativeEndian.ReadInt32(control[HeaderSize..]);
                return true;
            }

            int advance = (int)Math.Min(((length + 7) & ~7UL), (ulong)control.Length);
            control = control[advance..];
        }

        return false;
    }
}
