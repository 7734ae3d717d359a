using TunTelemetry.Netlink;
using TunTelemetry.Tests.Support;
using Xunit;

namespace TunTelemetry.Tests.Netlink;

/// <summary>
/// Decoding the TUN settings (<c>IFLA_INFO_DATA</c> of kind <c>tun</c>) from RTM_NEWLINK replies captured from this
/// kernel (see <c>TunLinkInfoTests</c> in the integration tests, which made them), and from hand-built attribute runs
/// for what a capture cannot show.
/// </summary>
public sealed class TunLinkInfoTests
{
    private static LinkDescription DecodeLink(string fixture) =>
        RtmNewLinkMessage.Decode(Fixture.Read(fixture).AsSpan(NetlinkHeader.Size));

    [Fact]
    public void A_persistent_devices_owner_group_and_persist_are_decoded()
    {
        LinkDescription link = DecodeLink(Fixture.TunPersistOwnerLink);

        Assert.Equal("ttcapowner", link.Name);
        Assert.Equal(LinkKinds.Tun, link.Kind);
        Assert.Equal(new TunLinkInfo(65534, 65534, LinkKinds.Tun, PacketInfo: false, VnetHeader: false, Persist: true,
            MultiQueue: false, Queues: null, DisabledQueues: null), link.Tun);
        Assert.False(link.IsUp);
        Assert.False(link.IsUpWithCarrier);
    }

    [Fact]
    public void A_multi_queue_devices_queues_and_flags_are_decoded()
    {
        LinkDescription link = DecodeLink(Fixture.TunMultiQueueLink);

        Assert.Equal("ttcapmq", link.Name);
        Assert.Equal(new TunLinkInfo(null, null, LinkKinds.Tun, PacketInfo: true, VnetHeader: true, Persist: false,
            MultiQueue: true, Queues: 2, DisabledQueues: 1), link.Tun);
        Assert.Equal(LinkOperState.Unknown, link.OperState);
        Assert.True(link.IsUpWithCarrier);
    }

    [Fact]
    public void Non_tun_links_have_no_tun_settings()
    {
        using RouteSocket socket = RouteSocket.Open();
        LinkDescription loopback = socket.GetLink(LinkTarget.Own, 1)!;

        Assert.Null(loopback.Tun);
        Assert.True(loopback.IsUpWithCarrier);
    }

    [Fact]
    public void Attributes_of_newer_kernels_are_skipped_and_absent_ones_keep_their_defaults()
    {
        byte[] data = [.. Attribute(3, [2]), .. Attribute(42, [1, 2, 3, 4, 5]), .. Attribute(6, [1])];

        TunLinkInfo info = TunLinkInfo.Decode(data, LinkKinds.Tun);

        Assert.Equal(new TunLinkInfo(null, null, LinkKinds.Tap, false, false, true, false, null, null), info);
    }

    [Fact]
    public void A_type_without_tun_or_tap_bits_falls_back_to_the_link_layer_guess()
    {
        Assert.Equal(LinkKinds.Tap, TunLinkInfo.Decode(Attribute(3, [0]), LinkKinds.Tap).Type);
    }

    [Theory]
    [InlineData(1)] // owner: a u32 in 2 bytes
    [InlineData(8)] // num_queues: a u32 in 2 bytes
    public void A_short_u32_is_a_malformed_reply(ushort type)
    {
        var e = Assert.Throws<MalformedNetlinkReplyException>(() => TunLinkInfo.Decode(Attribute(type, [1, 0]), LinkKinds.Tun));
        Assert.Equal(MalformedReplyReason.TooShort, e.Kind);
    }

    [Fact]
    public void An_attribute_running_past_the_data_is_a_malformed_reply()
    {
        byte[] data = Attribute(8, [2, 0, 0, 0]);
        data[0] = 12; // claims 12 bytes, has 8

        var e = Assert.Throws<MalformedNetlinkReplyException>(() => TunLinkInfo.Decode(data, LinkKinds.Tun));
        Assert.Equal(MalformedReplyReason.TruncatedAttribute, e.Kind);
    }

    [Fact]
    public void Every_truncation_of_a_captured_link_reply_decodes_or_is_rejected_as_malformed()
    {
        byte[] body = Fixture.Read(Fixture.TunMultiQueueLink)[NetlinkHeader.Size..];
        for (int length = 0; length < body.Length; length++)
        {
            try
            {
                _ = RtmNewLinkMessage.Decode(body.AsSpan(0, length));
            }
            catch (MalformedNetlinkReplyException)
            {
                // the one allowed failure
            }
        }
    }

    private static byte[] Attribute(ushort type, byte[] payload)
    {
        byte[] attribute = new byte[NetlinkHeader.Align(4 + payload.Length)];
        BitConverter.TryWriteBytes(attribute.AsSpan(0, 2), (ushort)(4 + payload.Length));
        BitConverter.TryWriteBytes(attribute.AsSpan(2, 2), type);
        payload.CopyTo(attribute, 4);
        return attribute;
    }
}
