using System.Text;

namespace TunTelemetry.Netlink;

/// <summary>
/// Decodes <c>NLMSG_ERROR</c> (<c>struct nlmsgerr</c>: a negative errno, the request's header, maybe the request's
/// payload, then extended-ack attributes) into the matching typed exception.
/// </summary>
internal static class NetlinkErrorMessage
{
    private const int ErrorFieldSize = 4;
    private const ushort ExtAckMessageAttribute = 1; // NLMSGERR_ATTR_MSG

    /// <summary>
    /// The positive errno of an NLMSG_ERROR body; 0 means it is an acknowledgement, not an error.
    /// </summary>
    internal static int ReadErrno(ReadOnlySpan<byte> body)
    {
        if (body.Length < ErrorFieldSize)
        {
            throw new MalformedNetlinkReplyException(MalformedReplyReason.TooShort,
                $"NLMSG_ERROR body has {body.Length} bytes, its error field needs {ErrorFieldSize}");
        }

        return -NativeEndian.ReadInt32(body);
    }

    /// <summary>Throws the exception that an NLMSG_ERROR answer to <paramref name="operation"/> means.</summary>
    internal static Exception ToException(in NetlinkHeader header, ReadOnlySpan<byte> body, string operation, int ifIndex)
    {
        int errno = ReadErrno(body);
        if (errno == Errno.ENODEV && ifIndex != 0)
        {
            return new NetlinkDeviceGoneException(ifIndex);
        }

        return new NetlinkErrnoException(operation, errno, ReadExtAckMessage(header, body));
    }

    // Best effort: a missing or odd extended ack loses only the kernel's explanation, never the errno.
    private static string? ReadExtAckMessage(in NetlinkHeader header, ReadOnlySpan<byte> body)
    {
        if ((header.Flags & NetlinkMessageFlags.AckTlvs) == 0 || body.Length < ErrorFieldSize + NetlinkHeader.Size)
        {
            return null;
        }

        int offset = ErrorFieldSize + NetlinkHeader.Size;
        if ((header.Flags & NetlinkMessageFlags.Capped) == 0)
        {
            uint originalLength = NativeEndian.ReadUInt32(body[ErrorFieldSize..]);
            offset = ErrorFieldSize + NetlinkHeader.Align((int)Math.Min(originalLength, (uint)body.Length));
        }

        if (offset >= body.Length)
        {
            return null;
        }

        try
        {
            var attributes = new NetlinkAttributeReader(body[offset..]);
            while (attributes.Next())
            {
                if (attributes.Type == ExtAckMessageAttribute)
                {
                    return Encoding.UTF8.GetString(attributes.PayloadCString());
                }
            }
        }
        catch (MalformedNetlinkReplyException)
        {
            // The errno is what matters; an unreadable explanation is dropped.
        }

        return null;
    }
}
