namespace TunTelemetry.Netlink;

/// <summary>
/// Walks a run of <c>struct nlattr</c> (2-byte length, 2-byte type, payload, padded to 4 bytes). A length that runs past
/// the container is a <see cref="MalformedReplyReason.TruncatedAttribute"/>, never an index out of range.
/// </summary>
internal ref struct NetlinkAttributeReader
{
    private const int HeaderSize = 4;

    // NLA_F_NESTED and NLA_F_NET_BYTEORDER ride in the type's top bits.
    private const ushort TypeMask = 0x3fff;

    private ReadOnlySpan<byte> _remaining;

    public NetlinkAttributeReader(ReadOnlySpan<byte> attributes)
    {
        _remaining = attributes;
        Type = 0;
        Payload = default;
    }

    /// <summary>The current attribute's type, without the nested/byte-order flag bits.</summary>
    public ushort Type { get; private set; }

    /// <summary>The current attribute's payload, without padding.</summary>
    public ReadOnlySpan<byte> Payload { get; private set; }

    /// <summary>Moves to the next attribute; false at the end of the run.</summary>
    public bool Next()
    {
        // Fewer than a header's bytes left can only be trailing alignment padding.
        if (_remaining.Length < HeaderSize)
        {
            if (_remaining.IndexOfAnyExcept((byte)0) >= 0)
            {
                throw new MalformedNetlinkReplyException(MalformedReplyReason.TruncatedAttribute,
                    $"{_remaining.Length} stray bytes after the last attribute");
            }

            _remaining = default;
            return false;
        }

        int length = NativeEndian.ReadUInt16(_remaining);
        if (length < HeaderSize || length > _remaining.Length)
        {
            throw new MalformedNetlinkReplyException(MalformedReplyReason.TruncatedAttribute,
                $"attribute length {length} does not fit the {_remaining.Length} bytes left");
        }

        Type = (ushort)(NativeEndian.ReadUInt16(_remaining[2..]) & TypeMask);
        Payload = _remaining[HeaderSize..length];
        int advance = Math.Min(NetlinkHeader.Align(length), _remaining.Length);
        _remaining = _remaining[advance..];
        return true;
    }

    /// <summary>A payload as a native-endian u32, checking its size.</summary>
    public readonly uint PayloadUInt32()
    {
        if (Payload.Length < 4)
        {
            throw new MalformedNetlinkReplyException(MalformedReplyReason.TooShort,
                $"attribute {Type} has {Payload.Length} bytes, a u32 needs 4");
        }

        return NativeEndian.ReadUInt32(Payload);
    }

    /// <summary>A payload as a u8, checking its size.</summary>
    public readonly byte PayloadByte()
    {
        if (Payload.IsEmpty)
        {
            throw new MalformedNetlinkReplyException(MalformedReplyReason.TooShort, $"attribute {Type} is empty, a u8 needs 1 byte");
        }

        return Payload[0];
    }

    /// <summary>A NUL-terminated string payload, without its terminator.</summary>
    public readonly ReadOnlySpan<byte> PayloadCString()
    {
        int nul = Payload.IndexOf((byte)0);
        return nul >= 0 ? Payload[..nul] : Payload;
    }
}
