using System.Runtime.CompilerServices;

namespace TunTelemetry.Netlink;

/// <summary>
/// A decoded <c>struct rtnl_link_stats64</c>: all 25 counters of one device at one instant. Immutable and held inline
/// (200 bytes, no heap object), so a poll can produce one without allocating.
/// </summary>
internal readonly struct LinkStats64 : IEquatable<LinkStats64>
{
    /// <summary>Fields in the newest layout this agent knows (Linux 5.19+: 25).</summary>
    public const int MaxFieldCount = 25;

    /// <summary>Payload size of the 24-field layout (Linux 4.7 to 5.18). Anything shorter is malformed.</summary>
    public const int MinPayloadSize = 24 * sizeof(ulong);

    /// <summary>Payload size of the 25-field layout.</summary>
    public const int FullPayloadSize = MaxFieldCount * sizeof(ulong);

    private readonly Values _values;

    private LinkStats64(in Values values, int fieldCount)
    {
        _values = values;
        FieldCount = fieldCount;
    }

    /// <summary>How many fields the kernel sent: 24, or 25 when it knows <c>rx_otherhost_dropped</c>.</summary>
    public int FieldCount { get; }

    public bool HasRxOtherhostDropped => FieldCount > (int)LinkStats64Field.RxOtherhostDropped;

    public ulong this[LinkStats64Field field] => _values[(int)field];

    public ulong RxPackets => _values[(int)LinkStats64Field.RxPackets];
    public ulong TxPackets => _values[(int)LinkStats64Field.TxPackets];
    public ulong RxBytes => _values[(int)LinkStats64Field.RxBytes];
    public ulong TxBytes => _values[(int)LinkStats64Field.TxBytes];
    public ulong RxErrors => _values[(int)LinkStats64Field.RxErrors];
    public ulong TxErrors => _values[(int)LinkStats64Field.TxErrors];
    public ulong RxDropped => _values[(int)LinkStats64Field.RxDropped];
    public ulong TxDropped => _values[(int)LinkStats64Field.TxDropped];
    public ulong Multicast => _values[(int)LinkStats64Field.Multicast];
    public ulong Collisions => _values[(int)LinkStats64Field.Collisions];
    public ulong RxLengthErrors => _values[(int)LinkStats64Field.RxLengthErrors];
    public ulong RxOverErrors => _values[(int)LinkStats64Field.RxOverErrors];
    public ulong RxCrcErrors => _values[(int)LinkStats64Field.RxCrcErrors];
    public ulong RxFrameErrors => _values[(int)LinkStats64Field.RxFrameErrors];
    public ulong RxFifoErrors => _values[(int)LinkStats64Field.RxFifoErrors];
    public ulong RxMissedErrors => _values[(int)LinkStats64Field.RxMissedErrors];
    public ulong TxAbortedErrors => _values[(int)LinkStats64Field.TxAbortedErrors];
    public ulong TxCarrierErrors => _values[(int)LinkStats64Field.TxCarrierErrors];
    public ulong TxFifoErrors => _values[(int)LinkStats64Field.TxFifoErrors];
    public ulong TxHeartbeatErrors => _values[(int)LinkStats64Field.TxHeartbeatErrors];
    public ulong TxWindowErrors => _values[(int)LinkStats64Field.TxWindowErrors];
    public ulong RxCompressed => _values[(int)LinkStats64Field.RxCompressed];
    public ulong TxCompressed => _values[(int)LinkStats64Field.TxCompressed];
    public ulong RxNohandler => _values[(int)LinkStats64Field.RxNohandler];

    /// <summary>Zero when the kernel does not send it; check <see cref="HasRxOtherhostDropped"/>.</summary>
    public ulong RxOtherhostDropped => _values[(int)LinkStats64Field.RxOtherhostDropped];

    /// <summary>
    /// Decodes an <c>IFLA_STATS_LINK_64</c> payload: at least 192 bytes; bytes past the fields we know (a newer kernel's
    /// additions) are ignored.
    /// </summary>
    public static LinkStats64 Decode(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < MinPayloadSize)
        {
            throw new MalformedNetlinkReplyException(MalformedReplyReason.TooShort,
                $"rtnl_link_stats64 payload has {payload.Length} bytes, at least {MinPayloadSize} are needed");
        }

        int fieldCount = Math.Min(payload.Length / sizeof(ulong), MaxFieldCount);
        Values values = default;
        for (int i = 0; i < fieldCount; i++)
        {
            values[i] = NativeEndian.ReadUInt64(payload[(i * sizeof(ulong))..]);
        }

        return new LinkStats64(values, fieldCount);
    }

    /// <summary>Builds a value from counters in kernel order (24 or 25 of them); for tests and fakes.</summary>
    public static LinkStats64 FromCounters(ReadOnlySpan<ulong> counters)
    {
        if (counters.Length is < MaxFieldCount - 1 or > MaxFieldCount)
        {
            throw new ArgumentOutOfRangeException(nameof(counters), counters.Length, "rtnl_link_stats64 has 24 or 25 fields");
        }

        Values values = default;
        counters.CopyTo(values);
        return new LinkStats64(values, counters.Length);
    }

    /// <summary>Writes the kernel's byte layout (<see cref="FieldCount"/> × 8 bytes); re-emitting proves the decode.</summary>
    public int Encode(Span<byte> destination)
    {
        for (int i = 0; i < FieldCount; i++)
        {
            NativeEndian.WriteUInt64(destination[(i * sizeof(ulong))..], _values[i]);
        }

        return FieldCount * sizeof(ulong);
    }

    public bool Equals(LinkStats64 other)
    {
        if (FieldCount != other.FieldCount)
        {
            return false;
        }

        ReadOnlySpan<ulong> mine = _values;
        ReadOnlySpan<ulong> theirs = other._values;
        return mine.SequenceEqual(theirs);
    }

    public override bool Equals(object? obj) => obj is LinkStats64 other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(RxPackets, TxPackets, TxDropped, RxDropped, FieldCount);

    public static bool operator ==(LinkStats64 left, LinkStats64 right) => left.Equals(right);

    public static bool operator !=(LinkStats64 left, LinkStats64 right) => !left.Equals(right);

    public override string ToString() =>
        $"rx_packets={RxPackets} tx_packets={TxPackets} rx_bytes={RxBytes} tx_bytes={TxBytes} rx_dropped={RxDropped} tx_dropped={TxDropped} ({FieldCount} fields)";

    [InlineArray(MaxFieldCount)]
    private struct Values
    {
        private ulong _element0;
    }
}
