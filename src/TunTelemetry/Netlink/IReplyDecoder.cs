namespace TunTelemetry.Netlink;

/// <summary>
/// Finds a request's answer in one received datagram, for <see cref="NetlinkSocket.ReceiveAnswer"/>. A struct
/// implements it, so the loop is compiled for each decoder and a poll allocates nothing.
/// </summary>
internal interface IReplyDecoder<TAnswer>
{
    /// <summary>
    /// The answer to request <paramref name="sequence"/> of port <paramref name="portId"/>; false when
    /// <paramref name="datagram"/> holds none (a stale reply or a notification). Throws what an error answer means.
    /// </summary>
    bool TryDecode(ReadOnlySpan<byte> datagram, uint sequence, uint portId, out TAnswer answer);
}
