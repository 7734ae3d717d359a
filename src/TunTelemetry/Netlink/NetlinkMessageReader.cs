namespace TunTelemetry.Netlink;

/// <summary>
/// Walks the messages of one netlink datagram, rejecting lengths that are short, past the end, or that would loop.
/// </summary>
internal ref struct NetlinkMessageReader
{
    private readonly int _length;
    private ReadOnlySpan<byte> _remaining;

    public NetlinkMessageReader(ReadOnlySpan<byte> datagram)
    {
        _length = datagram.Length;
        _remaining = datagram;
        Header = default;
        Body = default;
    }

    public NetlinkHeader Header { get; private set; }

    /// <summary>The current message without its header.</summary>
    public ReadOnlySpan<byte> Body { get; private set; }

    /// <summary>Where <see cref="Body"/> starts in the datagram.</summary>
    public int BodyOffset { get; private set; }

    public bool Next()
    {
        if (_remaining.IsEmpty)
        {
            return false;
        }

        NetlinkHeader header = NetlinkHeader.Read(_remaining);
        if (header.Length < NetlinkHeader.Size || header.Length > _remaining.Length)
        {
            throw new MalformedNetlinkReplyException(MalformedReplyReason.BadLength,
                $"nlmsg_len {header.Length} does not fit the {_remaining.Length} bytes left");
        }

        Header = header;
        BodyOffset = _length - _remaining.Length + NetlinkHeader.Size;
        Body = _remaining[NetlinkHeader.Size..(int)header.Length];
        _remaining = _remaining[Math.Min(NetlinkHeader.Align((int)header.Length), _remaining.Length)..];
        return true;
    }
}
