using System.Buffers;

namespace TunTelemetry.Netlink;

/// <summary>One received datagram in a buffer rented from the shared pool; disposing it gives the buffer back.</summary>
internal readonly struct RentedDatagram(byte[] buffer, int length) : IDisposable
{
    public ReadOnlySpan<byte> Bytes => buffer.AsSpan(0, length);

    public void Dispose() => ArrayPool<byte>.Shared.Return(buffer);
}
