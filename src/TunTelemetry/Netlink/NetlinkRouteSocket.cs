using System.Buffers;
using System.Runtime.InteropServices;

namespace TunTelemetry.Netlink;

/// <summary>
/// One <c>NETLINK_ROUTE</c> socket and the requests TunTelemetry makes on it. Each poller owns one, so a slow or failed
/// socket affects one device only. Not thread-safe: one owner uses it at a time.
/// </summary>
/// <remarks>
/// Every request carries a fresh sequence number, and a reply is taken only if it carries that number and this socket's
/// port id: a reply that arrives after its request timed out would otherwise be read as the next poll's answer. Every
/// receive is bounded by <see cref="NetlinkSocketOptions.ReceiveTimeout"/>, so no request can hang; only
/// <see cref="WaitReadable"/> waits without a bound, until data arrives or its <see cref="WakeupEvent"/> is set.
/// </remarks>
public sealed unsafe class NetlinkRouteSocket : ILinkStatsReader
{
    // A stats reply is 232 bytes; the spare room lets an unexpected longer reply (or an error with an extended ack)
    // be read whole. The buffer lives on the stack for the one call: a 1 KiB array per socket was 10 MB of heap at
    // 10,000 devices.
    private const int StatsBufferSize = 1024;

    // A stale reply per earlier timed-out request is expected; thousands mean something else is writing to us.
    private const int MaxStaleRepliesPerRequest = 256;

    private const int MaxDumpAttempts = 3;

    private readonly SafeNetlinkHandle _handle;
    private uint _sequence;

    private NetlinkRouteSocket(SafeNetlinkHandle handle, uint portId, uint firstSequence)
    {
        _handle = handle;
        PortId = portId;
        _sequence = firstSequence;
    }

    /// <summary>The port id the kernel gave this socket at bind time.</summary>
    public uint PortId { get; }

    /// <summary>Opens and binds a socket; joins <paramref name="options"/>' multicast groups, if any.</summary>
    public static NetlinkRouteSocket Open(NetlinkSocketOptions? options = null)
    {
        options ??= NetlinkSocketOptions.Default;
        options.Validate();

        int fd = LibC.Socket(LibC.AF_NETLINK, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC, LibC.NETLINK_ROUTE);
        if (fd < 0)
        {
            throw new NetlinkSocketException("socket", Marshal.GetLastPInvokeError());
        }

        var handle = new SafeNetlinkHandle(fd);
        try
        {
            // Extended acks add the kernel's own explanation to error replies; an old kernel without them still works.
            int one = 1;
            _ = LibC.SetSockOpt(handle, LibC.SOL_NETLINK, LibC.NETLINK_EXT_ACK, &one, sizeof(int));

            var timeout = new LibC.TimeVal
            {
                Seconds = (long)options.ReceiveTimeout.TotalSeconds,
                Microseconds = options.ReceiveTimeout.Microseconds + (options.ReceiveTimeout.Milliseconds * 1000L),
            };
            ThrowIfFailed(LibC.SetSockOpt(handle, LibC.SOL_SOCKET, LibC.SO_RCVTIMEO, &timeout, sizeof(LibC.TimeVal)), "setsockopt(SO_RCVTIMEO)");
            ThrowIfFailed(LibC.SetSockOpt(handle, LibC.SOL_SOCKET, LibC.SO_SNDTIMEO, &timeout, sizeof(LibC.TimeVal)), "setsockopt(SO_SNDTIMEO)");

            if (options.ReceiveBufferBytes > 0)
            {
                int size = options.ReceiveBufferBytes;
                _ = LibC.SetSockOpt(handle, LibC.SOL_SOCKET, LibC.SO_RCVBUF, &size, sizeof(int));
            }

            var address = new LibC.SockAddrNetlink { Family = LibC.AF_NETLINK, Groups = (uint)options.Groups };
            ThrowIfFailed(LibC.Bind(handle, &address, sizeof(LibC.SockAddrNetlink)), "bind");

            LibC.SockAddrNetlink bound;
            int length = sizeof(LibC.SockAddrNetlink);
            ThrowIfFailed(LibC.GetSockName(handle, &bound, &length), "getsockname");

            // Sequence numbers start somewhere unpredictable so two sockets that reuse a port id never agree by accident.
            return new NetlinkRouteSocket(handle, bound.PortId, (uint)Random.Shared.Next(1, int.MaxValue));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Asks the kernel for the <c>rtnl_link_stats64</c> of one device. Allocates nothing once the socket is open.
    /// </summary>
    public LinkStats64 GetLinkStats(int ifIndex)
    {
        uint sequence = NextSequence();
        SendStatsRequest(sequence, ifIndex);

        Span<byte> reply = stackalloc byte[StatsBufferSize];
        for (int stale = 0; stale <= MaxStaleRepliesPerRequest; stale++)
        {
            int received = Receive(reply);
            if (RtmNewStatsReply.TryDecode(reply[..received], sequence, PortId, ifIndex, out LinkStats64 stats))
            {
                return stats;
            }
        }

        throw new MalformedNetlinkReplyException(MalformedReplyReason.UnexpectedMessageCount,
            $"more than {MaxStaleRepliesPerRequest} replies to other requests arrived before the answer");
    }

    public LinkStats64 Read(int ifIndex) => GetLinkStats(ifIndex);

    /// <summary>Sends an RTM_GETSTATS request and leaves its reply queued: lets tests make a stale reply for real.</summary>
    internal void SendStatsRequestWithoutReading(int ifIndex) => SendStatsRequest(NextSequence(), ifIndex);

    private void SendStatsRequest(uint sequence, int ifIndex)
    {
        Span<byte> request = stackalloc byte[RtmGetStatsRequest.Size];
        Send(request[..RtmGetStatsRequest.Write(request, sequence, ifIndex)]);
    }

    /// <summary>
    /// Sends an RTM_GETSTATS request and copies the raw reply datagram: how the decode fixtures were captured from
    /// the running kernel.
    /// </summary>
    internal byte[] CaptureStatsReply(int ifIndex)
    {
        SendStatsRequestWithoutReading(ifIndex);
        Span<byte> reply = stackalloc byte[StatsBufferSize];
        return reply[..Receive(reply)].ToArray();
    }

    /// <summary>Sends an RTM_GETLINK request for one ifindex and copies the raw reply datagram (fixture capture).</summary>
    internal byte[] CaptureLinkReply(int ifIndex)
    {
        Span<byte> request = stackalloc byte[RtmGetLinkRequest.MaxSize];
        Send(request[..RtmGetLinkRequest.WriteOne(request, NextSequence(), ifIndex, name: default)]);
        using RentedDatagram datagram = ReceiveRented();
        return datagram.Bytes.ToArray();
    }

    /// <summary>Lists every link in this network namespace (RTM_GETLINK dump).</summary>
    public IReadOnlyList<LinkDescription> DumpLinks()
    {
        for (int attempt = 1; ; attempt++)
        {
            var links = new List<LinkDescription>();
            if (TryDumpLinks(links))
            {
                return links;
            }

            // NLM_F_DUMP_INTR: the link table changed mid-dump, so the list may be inconsistent; ask again.
            if (attempt == MaxDumpAttempts)
            {
                throw new NetlinkErrnoException("RTM_GETLINK dump", Errno.EINTR,
                    $"the link table kept changing during {MaxDumpAttempts} dumps");
            }
        }
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
            datagram = ReceiveRented();
        }
        catch (NetlinkSocketException e) when (e.IsTimeout)
        {
            return false;
        }

        using RentedDatagram _ = datagram;
        var messages = new NetlinkMessageReader(datagram.Bytes);
        while (messages.Next())
        {
            switch (messages.Header.Type)
            {
                case NetlinkMessageType.NewLink:
                    changes.Add(new LinkChange(LinkChangeKind.AddedOrChanged, RtmNewLinkMessage.Decode(messages.Body)));
                    break;
                case NetlinkMessageType.DelLink:
                    changes.Add(new LinkChange(LinkChangeKind.Removed, RtmNewLinkMessage.Decode(messages.Body)));
                    break;
            }
        }

        return true;
    }

    /// <summary>
    /// Blocks until a datagram can be received (true) or <paramref name="wakeup"/> is set (false), without a timeout:
    /// a thread that waits for notifications this way costs nothing while nothing happens.
    /// </summary>
    internal bool WaitReadable(WakeupEvent wakeup) => NetlinkReadiness.WaitReadable(_handle, wakeup);

    public void Dispose() => _handle.Dispose();

    /// <summary>Whether the descriptor has been closed.</summary>
    public bool IsClosed => _handle.IsClosed;

    /// <summary>
    /// Receives a datagram of any size into a pooled buffer (the caller disposes it). Link replies and dumps are
    /// kilobytes and rare, so rather than keep a large buffer per socket (64 KiB × thousands of devices was most of
    /// the agent's memory at 5,000 devices), the datagram's size is peeked first and a buffer rented for it.
    /// </summary>
    private RentedDatagram ReceiveRented()
    {
        int size;
        while (true)
        {
            nint peeked = LibC.Recv(_handle, null, 0, LibC.MSG_PEEK | LibC.MSG_TRUNC);
            if (peeked >= 0)
            {
                size = (int)peeked;
                break;
            }

            int errno = Marshal.GetLastPInvokeError();
            if (errno != Errno.EINTR)
            {
                throw new NetlinkSocketException("recv", errno);
            }
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(size, NetlinkHeader.Size));
        try
        {
            return new RentedDatagram(buffer, Receive(buffer));
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    private readonly struct RentedDatagram(byte[] buffer, int length) : IDisposable
    {
        public ReadOnlySpan<byte> Bytes => buffer.AsSpan(0, length);

        public void Dispose() => ArrayPool<byte>.Shared.Return(buffer);
    }

    private uint NextSequence()
    {
        // Zero is what the kernel uses for its own notifications; never use it for a request.
        if (++_sequence == 0)
        {
            _sequence = 1;
        }

        return _sequence;
    }

    private bool TryDumpLinks(List<LinkDescription> links)
    {
        uint sequence = NextSequence();
        Span<byte> request = stackalloc byte[RtmGetLinkRequest.MaxSize];
        Send(request[..RtmGetLinkRequest.WriteDump(request, sequence)]);

        bool interrupted = false;
        while (true)
        {
            using RentedDatagram datagram = ReceiveRented();
            var messages = new NetlinkMessageReader(datagram.Bytes);
            while (messages.Next())
            {
                NetlinkHeader header = messages.Header;
                if (header.Sequence != sequence || header.PortId != PortId)
                {
                    continue;
                }

                interrupted |= (header.Flags & NetlinkMessageFlags.DumpInterrupted) != 0;
                switch (header.Type)
                {
                    case NetlinkMessageType.Done:
                        return !interrupted;
                    case NetlinkMessageType.Error:
                        throw NetlinkErrorMessage.ToException(header, messages.Body, "RTM_GETLINK dump", ifIndex: 0);
                    case NetlinkMessageType.NewLink:
                        links.Add(RtmNewLinkMessage.Decode(messages.Body));
                        break;
                    default:
                        throw new MalformedNetlinkReplyException(MalformedReplyReason.WrongMessageType,
                            $"RTM_GETLINK dump returned message type {header.Type}");
                }
            }
        }
    }

    private LinkDescription? GetLinkCore(int ifIndex, ReadOnlySpan<byte> name)
    {
        uint sequence = NextSequence();
        Span<byte> request = stackalloc byte[RtmGetLinkRequest.MaxSize];
        Send(request[..RtmGetLinkRequest.WriteOne(request, sequence, ifIndex, name)]);
        for (int stale = 0; stale <= MaxStaleRepliesPerRequest; stale++)
        {
            using RentedDatagram datagram = ReceiveRented();
            var messages = new NetlinkMessageReader(datagram.Bytes);
            while (messages.Next())
            {
                NetlinkHeader header = messages.Header;
                if (header.Sequence != sequence || header.PortId != PortId)
                {
                    continue;
                }

                if (header.Type == NetlinkMessageType.Error)
                {
                    int errno = NetlinkErrorMessage.ReadErrno(messages.Body);
                    if (errno == Errno.ENODEV)
                    {
                        return null;
                    }

                    throw NetlinkErrorMessage.ToException(header, messages.Body, "RTM_GETLINK", ifIndex: 0);
                }

                if (header.Type != NetlinkMessageType.NewLink)
                {
                    throw new MalformedNetlinkReplyException(MalformedReplyReason.WrongMessageType,
                        $"expected RTM_NEWLINK ({NetlinkMessageType.NewLink}), got message type {header.Type}");
                }

                return RtmNewLinkMessage.Decode(messages.Body);
            }
        }

        throw new MalformedNetlinkReplyException(MalformedReplyReason.UnexpectedMessageCount,
            $"more than {MaxStaleRepliesPerRequest} replies to other requests arrived before the answer");
    }

    private void Send(ReadOnlySpan<byte> message)
    {
        fixed (byte* p = message)
        {
            while (true)
            {
                nint sent = LibC.Send(_handle, p, (nuint)message.Length, 0);
                if (sent == message.Length)
                {
                    return;
                }

                int errno = sent < 0 ? Marshal.GetLastPInvokeError() : Errno.EMSGSIZE;
                if (errno != Errno.EINTR)
                {
                    throw new NetlinkSocketException("send", errno);
                }
            }
        }
    }

    private int Receive(Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                // MSG_TRUNC makes recv return the datagram's full length, so a too-small buffer is detected, not ignored.
                nint received = LibC.Recv(_handle, p, (nuint)buffer.Length, LibC.MSG_TRUNC);
                if (received > buffer.Length)
                {
                    throw new MalformedNetlinkReplyException(MalformedReplyReason.Truncated,
                        $"a {received}-byte datagram did not fit the {buffer.Length}-byte receive buffer");
                }

                if (received >= 0)
                {
                    return (int)received;
                }

                int errno = Marshal.GetLastPInvokeError();
                if (errno != Errno.EINTR)
                {
                    throw new NetlinkSocketException("recv", errno);
                }
            }
        }
    }

    private static void ThrowIfFailed(int result, string operation)
    {
        if (result < 0)
        {
            throw new NetlinkSocketException(operation, Marshal.GetLastPInvokeError());
        }
    }
}
