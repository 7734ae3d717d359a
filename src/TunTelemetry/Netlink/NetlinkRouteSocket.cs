namespace TunTelemetry.Netlink;

/// <summary>
/// One <c>NETLINK_ROUTE</c> socket and the requests TunTelemetry makes on it. Each poller owns one, so a slow or failed
/// socket affects one device only. Not thread-safe: one owner uses it at a time.
/// </summary>
/// <remarks>
/// The socket itself (opening, sequence numbers, reply matching, receive timeouts, errors) is <see cref="NetlinkSocket"/>'s;
/// this class owns the requests: RTM_GETSTATS for one device, RTM_GETLINK by name, by ifindex or as a dump, and the
/// link notifications.
/// </remarks>
internal sealed class NetlinkRouteSocket : ILinkStatsReader, ILinkLookup
{
    // A stats reply is 232 bytes; the spare room lets an unexpected longer reply (or an error with an extended ack)
    // be read whole. The buffer lives on the stack for the one call: a 1 KiB array per socket was 10 MB of heap at
    // 10,000 devices.
    private const int StatsBufferSize = 1024;

    /// <summary>Room for one link's RTM_NEWLINK (a TUN device's is about 1.5 KiB); a longer one throws as truncated.</summary>
    internal const int LinkReplyBufferSize = 16 * 1024;

    private readonly NetlinkSocket _socket;

    private NetlinkRouteSocket(NetlinkSocket socket) => _socket = socket;

    /// <summary>The port id the kernel gave this socket at bind time.</summary>
    public uint PortId => _socket.PortId;

    /// <summary>Whether the descriptor has been closed.</summary>
    public bool IsClosed => _socket.IsClosed;

    /// <summary>Opens and binds a socket; joins <paramref name="options"/>' multicast groups, if any.</summary>
    public static NetlinkRouteSocket Open(NetlinkSocketOptions? options = null) => new(NetlinkSocket.Open(options));

    /// <summary>
    /// Asks the kernel for the <c>rtnl_link_stats64</c> of one device. Allocates nothing once the socket is open.
    /// </summary>
    public LinkStats64 GetLinkStats(int ifIndex)
    {
        uint sequence = _socket.NextSequence();
        SendStatsRequest(sequence, ifIndex);

        Span<byte> reply = stackalloc byte[StatsBufferSize];
        for (int stale = 0; stale <= NetlinkSocket.MaxStaleRepliesPerRequest; stale++)
        {
            int received = _socket.Receive(reply);
            if (RtmNewStatsReply.TryDecode(reply[..received], sequence, _socket.PortId, ifIndex, out LinkStats64 stats))
            {
                return stats;
            }
        }

        throw NetlinkSocket.TooManyStaleReplies();
    }

    public LinkStats64 Read(int ifIndex) => GetLinkStats(ifIndex);

    /// <summary>Sends an RTM_GETSTATS request and leaves its reply queued: lets tests make a stale reply for real.</summary>
    internal void SendStatsRequestWithoutReading(int ifIndex) => SendStatsRequest(_socket.NextSequence(), ifIndex);

    private void SendStatsRequest(uint sequence, int ifIndex)
    {
        Span<byte> request = stackalloc byte[RtmGetStatsRequest.Size];
        _socket.Send(request[..RtmGetStatsRequest.Write(request, sequence, ifIndex)]);
    }

    /// <summary>The socket underneath, for tools that send requests of their own (the tests' fixture capture).</summary>
    internal NetlinkSocket Socket => _socket;

    /// <summary>Lists every link in this network namespace (RTM_GETLINK dump).</summary>
    public IReadOnlyList<LinkDescription> DumpLinks()
    {
        var sink = new LinkDescriptionSink([]);
        _socket.DumpAllLinks(new OwnLinksDumpRequest(), "RTM_GETLINK dump", ref sink);
        return sink.Links;
    }

    /// <summary>Looks a link up by name; null when no link has it.</summary>
    public LinkDescription? GetLink(string name) => GetLinkCore(ifIndex: 0, InterfaceName.Encode(name));

    /// <summary>Looks a link up by ifindex; null when no link has it.</summary>
    public LinkDescription? GetLink(int ifIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ifIndex);
        return GetLinkCore(ifIndex, name: default);
    }

    /// <summary>
    /// Waits up to the receive timeout for link notifications (needs <see cref="NetlinkRouteGroups.Link"/>) and adds
    /// them to <paramref name="changes"/>. Returns false on timeout. Throws <see cref="NetlinkSocketException"/> with
    /// <see cref="NetlinkSocketException.IsOverrun"/> when the kernel dropped notifications: the caller must re-list.
    /// </summary>
    public bool ReceiveLinkChanges(ICollection<LinkChange> changes)
    {
        RentedDatagram datagram;
        try
        {
            datagram = _socket.ReceiveRented();
        }
        catch (NetlinkSocketException e) when (e.IsTimeout)
        {
            return false;
        }

        using RentedDatagram _ = datagram;
        // The one notification decoder; this socket hears its own namespace only, and joins no namespace-id group.
        var heard = new List<NamespacedLinkChange>();
        NetnsRouteSocket.DecodeNotifications(datagram.Bytes, nsid: null, heard, idChanges: []);
        foreach (NamespacedLinkChange change in heard)
        {
            changes.Add(change.Change);
        }

        return true;
    }

    /// <summary>
    /// Blocks until a datagram can be received (true) or <paramref name="wakeup"/> is set (false), without a timeout:
    /// a thread that waits for notifications this way costs nothing while nothing happens.
    /// </summary>
    internal bool WaitReadable(WakeupEvent wakeup) => _socket.WaitReadable(wakeup);

    public void Dispose() => _socket.Dispose();

    private LinkDescription? GetLinkCore(int ifIndex, ReadOnlySpan<byte> name)
    {
        uint sequence = _socket.NextSequence();
        Span<byte> request = stackalloc byte[RtmGetLinkRequest.MaxSize];
        Span<byte> reply = stackalloc byte[LinkReplyBufferSize];
        try
        {
            ReadOnlySpan<byte> body = _socket.Request(request[..RtmGetLinkRequest.WriteOne(request, sequence, ifIndex, name)], reply, sequence,
                "RTM_GETLINK", ifIndex: 0, out NetlinkHeader header);
            return LinkReply.Decode(header, body);
        }
        catch (NetlinkErrnoException e) when (e.Errno == Errno.ENODEV)
        {
            return null;
        }
    }
}
