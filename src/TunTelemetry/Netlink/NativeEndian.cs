using System.Buffers.Binary;

namespace TunTelemetry.Netlink;

/// <summary>
/// Netlink speaks the host's byte order (unlike the network protocols it configures). These helpers read and write
/// native-endian integers; the branch on <see cref="BitConverter.IsLittleEndian"/> is a JIT-time constant.
/// </summary>
internal static class NativeEndian
{
    internal static ushort ReadUInt16(ReadOnlySpan<byte> s) =>
        BitConverter.IsLittleEndian ? BinaryPrimitives.ReadUInt16LittleEndian(s) : BinaryPrimitives.ReadUInt16BigEndian(s);

    internal static uint ReadUInt32(ReadOnlySpan<byte> s) =>
        BitConverter.IsLittleEndian ? BinaryPrimitives.ReadUInt32LittleEndian(s) : BinaryPrimitives.ReadUInt32BigEndian(s);

    internal static int ReadInt32(ReadOnlySpan<byte> s) =>
        BitConverter.IsLittleEndian ? BinaryPrimitives.ReadInt32LittleEndian(s) : BinaryPrimitives.ReadInt32BigEndian(s);

    internal static ulong ReadUInt64(ReadOnlySpan<byte> s) =>
        BitConverter.IsLittleEndian ? BinaryPrimitives.ReadUInt64LittleEndian(s) : BinaryPrimitives.ReadUInt64BigEndian(s);

    internal static void WriteUInt16(Span<byte> d, ushort v)
    {
        if (BitConverter.IsLittleEndian) { BinaryPrimitives.WriteUInt16LittleEndian(d, v); }
        else { BinaryPrimitives.WriteUInt16BigEndian(d, v); }
    }

    internal static void WriteUInt32(Span<byte> d, uint v)
    {
        if (BitConverter.IsLittleEndian) { BinaryPrimitives.WriteUInt32LittleEndian(d, v); }
        else { BinaryPrimitives.WriteUInt32BigEndian(d, v); }
    }

    internal static void WriteInt32(Span<byte> d, int v)
    {
        if (BitConverter.IsLittleEndian) { BinaryPrimitives.WriteInt32LittleEndian(d, v); }
        else { BinaryPrimitives.WriteInt32BigEndian(d, v); }
    }

    internal static void WriteUInt64(Span<byte> d, ulong v)
    {
        if (BitConverter.IsLittleEndian) { BinaryPrimitives.WriteUInt64LittleEndian(d, v); }
        else { BinaryPrimitives.WriteUInt64BigEndian(d, v); }
    }
}
