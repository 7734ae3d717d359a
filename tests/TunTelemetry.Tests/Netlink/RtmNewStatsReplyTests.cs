using TunTelemetry.Netlink;
using TunTelemetry.Tests.Support;
using Xunit;

namespace TunTelemetry.Tests.Netlink;

/// <summary>
/// Decoding RTM_GETSTATS replies: real captures from this kernel, and variants derived from them byte by byte
/// (older kernels' 192-byte payloads, pad attributes other architectures send, and every way a reply can be wrong).
/// </summary>
public sealed class RtmNewStatsReplyTests
{
    private const int HeaderAndIfStats = NetlinkHeader.Size + IfStatsMsg.Size;

    private static byte[] Loopback => Fixture.Read(Fixture.LoopbackStats);

    private static NetlinkHeader HeaderOf(byte[] reply) => NetlinkHeader.Read(reply);

    private static LinkStats64 Decode(byte[] reply, int ifIndex = 1)
    {
        NetlinkHeader header = HeaderOf(reply);
        Assert.True(RtmNewStatsReply.TryDecode(reply, header.Sequence, header.PortId, ifIndex, out LinkStats64 stats));
        return stats;
    }

    private static MalformedReplyReason Rejects(byte[] reply, int ifIndex = 1)
    {
        NetlinkHeader header = HeaderOf(reply.Length >= NetlinkHeader.Size ? reply : Loopback);
        var e = Assert.Throws<MalformedNetlinkReplyException>(() =>
            RtmNewStatsReply.TryDecode(reply, header.Sequence, header.PortId, ifIndex, out _));
        return e.Kind;
    }

    /// <summary>The capture with its stats attribute payload cut or grown to <paramref name="payload"/> bytes.</summary>
    private static byte[] WithStatsPayload(int payload)
    {
        byte[] original = Loopback;
        byte[] reply = new byte[HeaderAndIfStats + 4 + payload];
        original.AsSpan(0, Math.Min(original.Length, reply.Length)).CopyTo(reply);
        SetUInt16(reply, HeaderAndIfStats, (ushort)(4 + payload));
        SetUInt32(reply, 0, (uint)reply.Length);
        return reply;
    }

    private static void SetUInt16(byte[] b, int at, ushort v) => BitConverter.TryWriteBytes(b.AsSpan(at), v);

    private static void SetUInt32(byte[] b, int at, uint v) => BitConverter.TryWriteBytes(b.AsSpan(at), v);

    [Fact]
    public void Decodes_all_25_fields_of_the_captured_loopback_reply_and_re_emits_the_same_bytes()
    {
        byte[] reply = Loopback;
        LinkStats64 stats = Decode(reply);

        Assert.Equal(25, stats.FieldCount);
        Assert.True(stats.HasRxOtherhostDropped);
        Assert.True(stats.RxPackets > 0);
        Assert.Equal(stats.RxPackets, stats.TxPackets); // loopback: everything sent is received
        Assert.Equal(BitConverter.ToUInt64(reply, HeaderAndIfStats + 4 + 16), stats.RxBytes);

        byte[] emitted = new byte[LinkStats64.FullPayloadSize];
        Assert.Equal(200, stats.Encode(emitted));
        Assert.Equal(reply.AsSpan(HeaderAndIfStats + 4, 200).ToArray(), emitted);
    }

    [Fact]
    public void Decodes_the_captured_tun_reply_with_its_drops()
    {
        byte[] reply = Fixture.Read(Fixture.TunWithDrops);
        int ifIndex = BitConverter.ToInt32(reply, NetlinkHeader.Size + 4);
        LinkStats64 stats = Decode(reply, ifIndex);
        Assert.Equal(2500UL, stats.TxDropped);
        Assert.Equal(0UL, stats.TxPackets); // nobody read the device, so nothing was transmitted
    }

    [Fact]
    public void Accepts_the_192_byte_payload_of_kernels_before_5_19_without_inventing_rx_otherhost_dropped()
    {
        LinkStats64 full = Decode(Loopback);
        LinkStats64 old = Decode(WithStatsPayload(192));

        Assert.Equal(24, old.FieldCount);
        Assert.False(old.HasRxOtherhostDropped);
        Assert.Equal(full.RxBytes, old.RxBytes);
        Assert.Equal(full.RxNohandler, old.RxNohandler);
    }

    [Fact]
    public void Ignores_bytes_a_newer_kernel_appends_to_the_struct()
    {
        byte[] reply = WithStatsPayload(216);
        reply.AsSpan(HeaderAndIfStats + 4 + 200, 16).Fill(0xee);
        Assert.Equal(Decode(Loopback), Decode(reply));
    }

    [Fact]
    public void Skips_type_0_pad_attributes_before_the_stats()
    {
        // Architectures without efficient unaligned access put an IFLA_STATS_UNSPEC pad before 64-bit payloads.
        byte[] original = Loopback;
        byte[] reply = new byte[original.Length + 4];
        original.AsSpan(0, HeaderAndIfStats).CopyTo(reply);
        SetUInt16(reply, HeaderAndIfStats, 4); // nla_len 4, nla_type 0: an empty pad
        SetUInt16(reply, HeaderAndIfStats + 2, 0);
        original.AsSpan(HeaderAndIfStats).CopyTo(reply.AsSpan(HeaderAndIfStats + 4));
        SetUInt32(reply, 0, (uint)reply.Length);

        Assert.Equal(Decode(original), Decode(reply));
    }

    [Fact]
    public void A_reply_with_another_sequence_number_is_stale_not_an_answer()
    {
        byte[] reply = Loopback;
        NetlinkHeader header = HeaderOf(reply);
        Assert.False(RtmNewStatsReply.TryDecode(reply, header.Sequence + 1, header.PortId, 1, out _));
        Assert.False(RtmNewStatsReply.TryDecode(reply, header.Sequence, header.PortId + 1, 1, out _));
    }

    [Fact]
    public void The_captured_ENODEV_reply_is_device_gone()
    {
        byte[] reply = Fixture.Read(Fixture.NoSuchDevice);
        NetlinkHeader header = HeaderOf(reply);
        var e = Assert.Throws<NetlinkDeviceGoneException>(() =>
            RtmNewStatsReply.TryDecode(reply, header.Sequence, header.PortId, int.MaxValue, out _));
        Assert.Equal(int.MaxValue, e.IfIndex);
        Assert.Equal("device_gone", e.Reason);
    }

    [Fact]
    public void Another_kernel_errno_is_reported_with_its_number_and_name()
    {
        byte[] reply = Fixture.Read(Fixture.NoSuchDevice);
        BitConverter.TryWriteBytes(reply.AsSpan(NetlinkHeader.Size), -Errno.EPERM);
        NetlinkHeader header = HeaderOf(reply);
        var e = Assert.Throws<NetlinkErrnoException>(() =>
            RtmNewStatsReply.TryDecode(reply, header.Sequence, header.PortId, int.MaxValue, out _));
        Assert.Equal(Errno.EPERM, e.Errno);
        Assert.Equal("EPERM", e.ErrnoName);
        Assert.Contains("EPERM (1", e.Message, StringComparison.Ordinal);
    }

    // The reason travels as its name: the theory's parameters must be public types and MalformedReplyReason is internal.
    public static TheoryData<string, Func<byte[]>, string> MalformedReplies => new()
    {
        { "shorter than a header", () => Loopback[..10], nameof(MalformedReplyReason.TooShort) },
        { "nlmsg_len past the datagram", () => { byte[] b = Loopback; SetUInt32(b, 0, 4000); return b; }, nameof(MalformedReplyReason.BadLength) },
        { "nlmsg_len shorter than a header", () => { byte[] b = Loopback; SetUInt32(b, 0, 8); return b; }, nameof(MalformedReplyReason.BadLength) },
        { "body shorter than if_stats_msg", () => { byte[] b = Loopback[..24]; SetUInt32(b, 0, 24); return b; }, nameof(MalformedReplyReason.TooShort) },
        { "wrong message type", () => { byte[] b = Loopback; SetUInt16(b, 4, 16); return b; }, nameof(MalformedReplyReason.WrongMessageType) },
        { "two messages in one datagram", () => [.. Loopback, .. Loopback], nameof(MalformedReplyReason.UnexpectedMessageCount) },
        { "an acknowledgement instead of stats", () => { byte[] b = Fixture.Read(Fixture.NoSuchDevice); BitConverter.TryWriteBytes(b.AsSpan(16), 0); return b; }, nameof(MalformedReplyReason.UnexpectedMessageCount) },
        { "attribute length past the message", () => { byte[] b = Loopback; SetUInt16(b, HeaderAndIfStats, 300); return b; }, nameof(MalformedReplyReason.TruncatedAttribute) },
        { "attribute length below its header", () => { byte[] b = Loopback; SetUInt16(b, HeaderAndIfStats, 2); return b; }, nameof(MalformedReplyReason.TruncatedAttribute) },
        { "stats payload of 191 bytes", () => WithStatsPayload(191), nameof(MalformedReplyReason.TooShort) },
        { "no IFLA_STATS_LINK_64 attribute", () => { byte[] b = Loopback; SetUInt16(b, HeaderAndIfStats + 2, 7); return b; }, nameof(MalformedReplyReason.MissingAttribute) },
        { "stats of another device", () => { byte[] b = Loopback; BitConverter.TryWriteBytes(b.AsSpan(20), 5); return b; }, nameof(MalformedReplyReason.WrongDevice) },
    };

    [Theory]
    [MemberData(nameof(MalformedReplies))]
    public void Rejects_a_malformed_reply_with_a_typed_error(string what, Func<byte[]> reply, string expected)
    {
        Assert.False(string.IsNullOrEmpty(what));
        Assert.Equal(Enum.Parse<MalformedReplyReason>(expected), Rejects(reply()));
    }
}
