using TunTelemetry.Netlink;
using Xunit;

namespace TunTelemetry.Tests.Netlink;

/// <summary>The socket core and the readiness wait against the real kernel, on <c>lo</c>: no privilege needed.</summary>
public sealed class NetlinkSocketTests
{
    private const int LoopbackIfIndex = 1;

    [Fact]
    public void A_reply_is_found_past_the_stale_replies_queued_before_it()
    {
        using NetlinkSocket socket = NetlinkSocket.Open(options: null);
        uint stale = SendStatsRequest(socket);
        uint wanted = SendStatsRequest(socket);

        Span<byte> buffer = stackalloc byte[1024];
        ReadOnlySpan<byte> body = socket.ReceiveReply(buffer, wanted, out NetlinkHeader header);

        Assert.NotEqual(stale, wanted);
        Assert.Equal(wanted, header.Sequence);
        Assert.Equal(socket.PortId, header.PortId);
        Assert.Equal(NetlinkMessageType.NewStats, header.Type);
        Assert.Equal((int)header.Length - NetlinkHeader.Size, body.Length);
    }

    [Fact]
    public void A_reply_of_one_type_passes_over_the_request_s_other_messages_until_the_receive_times_out()
    {
        // RTM_GETSTATS without NLM_F_ACK is answered by RTM_NEWSTATS alone: waiting for its NLMSG_ERROR must pass the
        // answer over and end in the receive timeout, not return the answer.
        using NetlinkSocket socket = NetlinkSocket.Open(new NetlinkSocketOptions { ReceiveTimeout = TimeSpan.FromMilliseconds(200) });
        uint sequence = SendStatsRequest(socket);

        var error = Assert.Throws<NetlinkSocketException>(() =>
        {
            Span<byte> buffer = stackalloc byte[1024];
            _ = socket.ReceiveReply(buffer, sequence, out _, onlyType: NetlinkMessageType.Error);
        });
        Assert.True(error.IsTimeout, error.Message);
    }

    [Fact]
    public void A_link_dump_hands_every_link_to_the_sink_and_ends_clean()
    {
        using NetlinkSocket socket = NetlinkSocket.Open(options: null);
        uint sequence = socket.NextSequence();
        Span<byte> request = stackalloc byte[RtmGetLinkRequest.MaxSize];
        var sink = new LinkDescriptionSink([]);

        LinkDumpEnd end = socket.DumpLinks(request[..RtmGetLinkRequest.WriteDump(request, sequence, LinkTarget.Own, tunOnly: false)], sequence, "RTM_GETLINK dump", ref sink);

        Assert.Equal(0, end.Errno);
        Assert.Contains(sink.Links, link => link.IfIndex == LoopbackIfIndex && link.Name == "lo");
    }

    [Fact]
    public void A_receive_into_a_buffer_too_small_for_the_datagram_is_reported_as_truncated()
    {
        using NetlinkSocket socket = NetlinkSocket.Open(options: null);
        SendStatsRequest(socket);

        var error = Assert.Throws<MalformedNetlinkReplyException>(() =>
        {
            Span<byte> tooSmall = stackalloc byte[NetlinkHeader.Size];
            _ = socket.Receive(tooSmall);
        });
        Assert.Equal(MalformedReplyReason.Truncated, error.Kind);
    }

    [Fact]
    public void A_socket_wait_returns_once_a_reply_is_queued_and_false_once_woken()
    {
        using NetlinkSocket socket = NetlinkSocket.Open(options: null);
        using var wakeup = new WakeupEvent();
        SendStatsRequest(socket);
        Assert.True(socket.WaitReadable(wakeup));

        wakeup.Set();
        Assert.False(socket.WaitReadable(wakeup), "stopping wins over a queued reply");
    }

    // The readiness wait on any descriptor: an eventfd stands in for the watched one, readable once set.
    [Fact]
    public void A_descriptor_wait_tells_readable_woken_and_timed_out_apart()
    {
        using var watched = new WakeupEvent();
        using var wakeup = new WakeupEvent();
        Assert.Equal(Readiness.TimedOut, DescriptorReadiness.Wait(watched.Handle, wakeup, timeoutMilliseconds: 50));

        watched.Set();
        Assert.Equal(Readiness.Readable, DescriptorReadiness.Wait(watched.Handle, wakeup, DescriptorReadiness.Infinite));
        Assert.Equal(Readiness.Readable, DescriptorReadiness.Wait(watched.Handle, wakeup, timeoutMilliseconds: 50));

        wakeup.Set();
        Assert.Equal(Readiness.Woken, DescriptorReadiness.Wait(watched.Handle, wakeup, DescriptorReadiness.Infinite));
    }

    private static uint SendStatsRequest(NetlinkSocket socket)
    {
        uint sequence = socket.NextSequence();
        Span<byte> request = stackalloc byte[RtmGetStatsRequest.Size];
        socket.Send(request[..RtmGetStatsRequest.Write(request, sequence, LoopbackIfIndex)]);
        return sequence;
    }
}
