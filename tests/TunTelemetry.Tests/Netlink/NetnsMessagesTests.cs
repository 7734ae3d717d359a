using TunTelemetry.Netlink;
using TunTelemetry.Tests.Support;
using Xunit;

namespace TunTelemetry.Tests.Netlink;

/// <summary>
/// The namespace-facing netlink pieces against replies captured from this kernel (see <see cref="Fixture"/>) and the
/// requests' bytes field by field as <c>uapi/linux/rtnetlink.h</c>, <c>net_namespace.h</c> and <c>if_link.h</c> lay
/// them out.
/// </summary>
public sealed class NetnsMessagesTests
{
    private const ushort NlmFMulti = 0x2;
    private const ushort NlmFDumpFiltered = 0x20;

    private static ReadOnlySpan<byte> BodyOf(byte[] message, int offset = 0)
    {
        NetlinkHeader header = NetlinkHeader.Read(message.AsSpan(offset));
        return message.AsSpan(offset + NetlinkHeader.Size, (int)header.Length - NetlinkHeader.Size);
    }

    [Fact]
    public void Decodes_the_captured_namespace_id_answer()
    {
        byte[] reply = Fixture.Read(Fixture.NsidReply);
        Assert.Equal(88, NetlinkHeader.Read(reply).Type); // RTM_NEWNSID
        NetnsIdMessage message = RtmNsidMessage.Decode(BodyOf(reply));
        Assert.Equal(BitConverter.ToInt32(reply, NetlinkHeader.Size + 4 + 4), message.Nsid);
        Assert.True(message.Nsid >= 0);
        Assert.Null(message.Pid);
        Assert.Null(message.Fd);
    }

    [Fact]
    public void A_namespace_id_message_without_NETNSA_NSID_or_too_short_is_rejected()
    {
        byte[] reply = Fixture.Read(Fixture.NsidReply);
        byte[] renamed = (byte[])reply.Clone();
        renamed[NetlinkHeader.Size + 4 + 2] = 2; // the NETNSA_NSID attribute becomes NETNSA_PID
        var missing = Assert.Throws<MalformedNetlinkReplyException>(() => RtmNsidMessage.Decode(BodyOf(renamed)));
        Assert.Equal(MalformedReplyReason.MissingAttribute, missing.Kind);

        var shortBody = Assert.Throws<MalformedNetlinkReplyException>(() => RtmNsidMessage.Decode(reply.AsSpan(NetlinkHeader.Size, 3)));
        Assert.Equal(MalformedReplyReason.TooShort, shortBody.Kind);
    }

    [Fact]
    public void Decodes_pid_and_fd_when_a_message_carries_them()
    {
        Span<byte> request = stackalloc byte[RtmNsidRequest.MaxSize];
        int length = RtmNsidRequest.WriteNew(request, sequence: 5, namespaceFd: 9, nsid: 4);
        NetnsIdMessage message = RtmNsidMessage.Decode(request[NetlinkHeader.Size..length]);
        Assert.Equal(new NetnsIdMessage(4, null, 9), message);

        length = RtmNsidRequest.WriteGetByPid(request, sequence: 6, pid: 1234);
        byte[] withNsid = [.. request[..length], 8, 0, 1, 0, 3, 0, 0, 0];
        Assert.Equal(new NetnsIdMessage(3, 1234, null), RtmNsidMessage.Decode(withNsid.AsSpan(NetlinkHeader.Size)));
    }

    [Fact]
    public void Namespace_id_requests_have_the_kernel_layout()
    {
        Span<byte> request = stackalloc byte[RtmNsidRequest.MaxSize];
        int length = RtmNsidRequest.WriteNew(request, sequence: 42, namespaceFd: 7);
        Assert.Equal(NetlinkHeader.Size + 4 + 8 + 8, length);
        Assert.Equal(new NetlinkHeader((uint)length, 88, 0x1 | 0x4, 42, 0), NetlinkHeader.Read(request)); // RTM_NEWNSID, NLM_F_REQUEST | NLM_F_ACK
        Assert.Equal([0, 0, 0, 0], request[16..20].ToArray()); // rtgenmsg: AF_UNSPEC and padding
        Assert.Equal([8, 0, 3, 0, 7, 0, 0, 0], request[20..28].ToArray()); // NETNSA_FD = 7
        Assert.Equal([8, 0, 1, 0, 0xff, 0xff, 0xff, 0xff], request[28..36].ToArray()); // NETNSA_NSID = -1: the kernel picks

        length = RtmNsidRequest.WriteGetByFd(request, sequence: 43, namespaceFd: 7);
        Assert.Equal(new NetlinkHeader(28, 90, 0x1, 43, 0), NetlinkHeader.Read(request)); // RTM_GETNSID
        Assert.Equal([8, 0, 3, 0, 7, 0, 0, 0], request[20..length].ToArray());

        length = RtmNsidRequest.WriteGetByPid(request, sequence: 44, pid: 0x1234);
        Assert.Equal([8, 0, 2, 0, 0x34, 0x12, 0, 0], request[20..length].ToArray()); // NETNSA_PID
    }

    [Fact]
    public void A_link_request_names_its_target_namespace_and_the_tun_kind()
    {
        Span<byte> request = stackalloc byte[RtmGetLinkRequest.MaxSize];
        int length = RtmGetLinkRequest.WriteDump(request, sequence: 9, LinkTarget.Namespace(3), tunOnly: true);
        Assert.Equal(new NetlinkHeader((uint)length, 18, 0x301, 9, 0), NetlinkHeader.Read(request)); // RTM_GETLINK, request | dump
        Assert.Equal(new byte[16], request[16..32].ToArray()); // zeroed ifinfomsg, as strict checking demands of a dump
        Assert.Equal([8, 0, 46, 0, 3, 0, 0, 0], request[32..40].ToArray()); // IFLA_TARGET_NETNSID = 3
        Assert.Equal([12, 0, 18, 0x80, 8, 0, 1, 0, (byte)'t', (byte)'u', (byte)'n', 0], request[40..52].ToArray()); // IFLA_LINKINFO { IFLA_INFO_KIND "tun" }
        Assert.Equal(52, length);

        Assert.Equal(40, RtmGetLinkRequest.WriteDump(request, sequence: 9, LinkTarget.Namespace(3), tunOnly: false));

        length = RtmGetLinkRequest.WriteOne(request, sequence: 10, LinkTarget.Namespace(3), ifIndex: 77, name: default);
        Assert.Equal(new NetlinkHeader(40, 18, 0x1, 10, 0), NetlinkHeader.Read(request));
        Assert.Equal(77, BitConverter.ToInt32(request[20..24]));
        Assert.Equal([8, 0, 46, 0, 3, 0, 0, 0], request[32..length].ToArray());

        // Our own namespace: no target attribute, as the requests of a socket inside a namespace are.
        Assert.Equal(32, RtmGetLinkRequest.WriteDump(request, sequence: 11, LinkTarget.Own, tunOnly: false));
        Assert.Equal(44, RtmGetLinkRequest.WriteDump(request, sequence: 11, LinkTarget.Own, tunOnly: true));
        length = RtmGetLinkRequest.WriteOne(request, sequence: 12, LinkTarget.Namespace(3), ifIndex: 0, "tun0"u8);
        Assert.Equal([9, 0, 3, 0, (byte)'t', (byte)'u', (byte)'n', (byte)'0', 0, 0, 0, 0], request[32..44].ToArray()); // IFLA_IFNAME "tun0", NUL, padding
        Assert.Equal([8, 0, 46, 0, 3, 0, 0, 0], request[44..length].ToArray());
    }

    [Fact]
    public void Decodes_the_counters_of_both_tun_devices_in_the_captured_targeted_dump()
    {
        byte[] dump = Fixture.Read(Fixture.TargetedTunDump);
        var readings = new List<(string Name, LinkStatsReading Reading)>();
        var messages = new NetlinkMessageReader(dump);
        while (messages.Next())
        {
            Assert.Equal(16, messages.Header.Type);
            Assert.Equal(NlmFMulti | NlmFDumpFiltered, messages.Header.Flags); // the kernel applied the kind filter
            Assert.True(RtmNewLinkStats.TryRead(messages.Body, out LinkStatsReading reading));
            LinkDescription link = RtmNewLinkMessage.Decode(messages.Body);
            Assert.Equal(link.IfIndex, reading.IfIndex);
            Assert.Equal(LinkKinds.Tun, link.Kind);
            readings.Add((link.Name, reading));
        }

        Assert.Equal(["tn0", "tn1"], readings.Select(r => r.Name));
        Assert.Equal([7UL, 11UL], readings.Select(r => r.Reading.Stats.TxDropped));
        Assert.All(readings, r => Assert.Equal(LinkStats64.MaxFieldCount, r.Reading.Stats.FieldCount));
        Assert.All(readings, r => Assert.Equal(0UL, r.Reading.Stats.TxPackets)); // nobody reads the devices
    }

    [Fact]
    public void IFLA_STATS64_decodes_to_the_same_bytes_it_came_in()
    {
        byte[] dump = Fixture.Read(Fixture.TargetedTunDump);
        ReadOnlySpan<byte> body = BodyOf(dump);
        Assert.True(RtmNewLinkStats.TryRead(body, out LinkStatsReading reading));
        var attributes = new NetlinkAttributeReader(body[16..]);
        byte[]? raw = null;
        while (attributes.Next())
        {
            if (attributes.Type == 23)
            {
                raw = attributes.Payload.ToArray();
            }
        }

        Assert.NotNull(raw);
        byte[] emitted = new byte[LinkStats64.FullPayloadSize];
        Assert.Equal(raw.Length, reading.Stats.Encode(emitted));
        Assert.Equal(raw, emitted);
    }

    [Fact]
    public void A_link_message_without_IFLA_STATS64_reads_as_no_reading()
    {
        byte[] dump = Fixture.Read(Fixture.TargetedTunDump);
        byte[] message = BodyOf(dump).ToArray();
        var attributes = new NetlinkAttributeReader(message.AsSpan(16));
        int offset = 16;
        while (attributes.Next())
        {
            if (attributes.Type == 23)
            {
                message[offset + 2] = 0xff; // rename IFLA_STATS64 to an attribute nobody knows
            }

            offset += NetlinkHeader.Align(attributes.Payload.Length + 4);
        }

        Assert.False(RtmNewLinkStats.TryRead(message, out _));
        Assert.Equal(MalformedReplyReason.TooShort,
            Assert.Throws<MalformedNetlinkReplyException>(() => RtmNewLinkStats.TryRead(message.AsSpan(0, 15), out _)).Kind);
    }

    [Fact]
    public void The_captured_move_out_of_a_namespace_carries_the_new_namespace_and_its_control_message_the_old()
    {
        byte[] delete = Fixture.Read(Fixture.MovedLinkDelete);
        Assert.Equal(17, NetlinkHeader.Read(delete).Type); // RTM_DELLINK
        LinkNetnsAttributes netns = LinkNetnsAttributes.Read(BodyOf(delete));
        Assert.True(netns.IsMove);
        Assert.Equal(0, netns.NewNetnsId);
        Assert.Equal(2, netns.NewIfIndex);
        Assert.Null(netns.LinkNetnsId);
        Assert.Equal("tmv0", RtmNewLinkMessage.Decode(BodyOf(delete)).Name);

        byte[] control = Fixture.Read(Fixture.MovedLinkDeleteControl);
        Assert.True(NetlinkNsidControlMessage.TryReadNsid(control, out int nsid));
        Assert.Equal(BitConverter.ToInt32(control, 16), nsid);
    }

    [Fact]
    public void A_tun_link_that_stays_carries_no_namespace_attributes()
    {
        LinkNetnsAttributes netns = LinkNetnsAttributes.Read(BodyOf(Fixture.Read(Fixture.TargetedTunDump)));
        Assert.Equal(new LinkNetnsAttributes(null, null, null), netns);
        Assert.False(netns.IsMove);
    }

    [Fact]
    public void Control_messages_without_a_namespace_id_or_with_a_lying_length_are_told_apart()
    {
        Assert.False(NetlinkNsidControlMessage.TryReadNsid([], out int none));
        Assert.Equal(NetnsId.NotAssigned, none);

        byte[] other = Fixture.Read(Fixture.MovedLinkDeleteControl);
        other[12] = 1; // another cmsg type at SOL_NETLINK (NETLINK_PKTINFO)
        Assert.False(NetlinkNsidControlMessage.TryReadNsid(other, out _));

        // A first control message of another kind, then the namespace id: the reader steps over the first.
        byte[] two = [.. other, .. Fixture.Read(Fixture.MovedLinkDeleteControl)];
        Assert.True(NetlinkNsidControlMessage.TryReadNsid(two, out int second));
        Assert.Equal(BitConverter.ToInt32(two, 24 + 16), second);

        byte[] lying = Fixture.Read(Fixture.MovedLinkDeleteControl);
        lying[0] = 200;
        Assert.Equal(MalformedReplyReason.BadLength,
            Assert.Throws<MalformedNetlinkReplyException>(() => NetlinkNsidControlMessage.TryReadNsid(lying, out _)).Kind);
    }
}
