namespace TunTelemetry.Netlink.Capture;

/// <summary>
/// How the decoders' fixtures (<c>tests/TunTelemetry.Tests/Fixtures/*.bin</c>) are captured from the running kernel: a
/// request sent on a socket of the library, and the reply datagram kept as it came. Test support, not the library's:
/// compiled into each test project that captures (linked from <c>tests/TestSupport</c>).
/// </summary>
internal static class KernelCapture
{
    private const int ReplyBufferSize = 4096;

    /// <summary>An <c>RTM_GETSTATS</c> request for <paramref name="ifIndex"/> and its raw reply.</summary>
    internal static byte[] CaptureStatsReply(this RouteSocket socket, int ifIndex)
    {
        Span<byte> request = stackalloc byte[RtmGetStatsRequest.Size];
        socket.Socket.Send(request[..RtmGetStatsRequest.Write(request, socket.Socket.NextSequence(), ifIndex)]);
        Span<byte> reply = stackalloc byte[ReplyBufferSize];
        return reply[..socket.Socket.Receive(reply)].ToArray();
    }

    /// <summary>An <c>RTM_GETLINK</c> request for one ifindex and its raw reply.</summary>
    internal static byte[] CaptureLinkReply(this RouteSocket socket, int ifIndex)
    {
        Span<byte> request = stackalloc byte[RtmGetLinkRequest.MaxSize];
        socket.Socket.Send(request[..RtmGetLinkRequest.WriteOne(request, socket.Socket.NextSequence(), LinkTarget.Own, ifIndex, name: default)]);
        using RentedDatagram datagram = socket.Socket.ReceiveRented();
        return datagram.Bytes.ToArray();
    }

    /// <summary><paramref name="request"/> sent, and its first reply datagram as it came.</summary>
    internal static byte[] CaptureReply(this RouteSocket socket, ReadOnlySpan<byte> request)
    {
        socket.Socket.Send(request);
        using RentedDatagram datagram = socket.Socket.ReceiveRented();
        return datagram.Bytes.ToArray();
    }

    /// <summary>One notification datagram with its control bytes (the namespace id it came from), as they came.</summary>
    internal static (byte[] Datagram, byte[] Control) CaptureNotification(this RouteSocket socket)
    {
        byte[] control = new byte[NetlinkNsidControlMessage.Space * 2];
        using RentedDatagram datagram = socket.Socket.ReceiveRented(control, out int controlLength);
        return (datagram.Bytes.ToArray(), control.AsSpan(0, controlLength).ToArray());
    }
}
