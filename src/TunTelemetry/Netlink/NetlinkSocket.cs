using System.Buffers;
using System.Runtime.InteropServices;

namespace TunTelemetry.Netlink;

/// <summary>
/// The plumbing every <c>NETLINK_ROUTE</c> socket of the agent shares: opening with its options and binding, sequence
/// numbers, sending a request, receiving into the caller's buffer (or a pooled one sized by a peek), reading a dump to
/// its end, waiting for readiness, and turning errno into <see cref="NetlinkSocketException"/>. The socket built on it,
/// <see cref="RouteSocket"/>, keeps only what it asks and how it decodes it.
/// Not thread-safe: one owner uses it at a time.
/// </summary>
/// <remarks>
/// Every receive is bounded by <see cref="NetlinkSocketOptions.ReceiveTimeout"/>, so no request can hang; only
/// <see cref="WaitReadable"/> waits without a bound, until data arrives or its <see cref="WakeupEvent"/> is set.
/// </remarks>
internal sealed unsafe class NetlinkSocket : IDisposable
{
    /// <summary>
    /// How many datagrams a request reads past before giving up on its answer. A stale reply per earlier timed-out
    /// request is expected; thousands mean something else is writing to us.
    /// </summary>
    public const int MaxStaleRepliesPerRequest = 256;

    private readonly SafeNetlinkHandle _handle;
    private uint _sequence;

    private NetlinkSocket(SafeNetlinkHandle handle, uint portId)
    {
        _handle = handle;
        PortId = portId;
        // Sequence numbers start somewhere unpredictable so two sockets that reuse a port id never agree by accident.
        _sequence = (uint)Random.Shared.Next(1, int.MaxValue);
    }

    /// <summary>The port id the kernel gave this socket at bind time.</summary>
    public uint PortId { get; }

    /// <summary>Whether the descriptor has been closed.</summary>
    public bool IsClosed => _handle.IsClosed;

    /// <summary>
    /// Opens and binds a socket that joins <paramref name="options"/>' groups, with its strict checking and
    /// listening to all namespaces when asked; either refused throws.
    /// </summary>
    public static NetlinkSocket Open(NetlinkSocketOptions? options)
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
            if (options.KeepFreeDescriptors > 0 && DescriptorReserve.SoftLimit() is { } limit
                && DescriptorReserve.IsWithin(fd, limit, options.KeepFreeDescriptors))
            {
                throw NetlinkSocketException.ReserveReached(fd, limit, options.KeepFreeDescriptors);
            }

            // Extended acks add the kernel's own explanation to error replies; an old kernel without them still works.
            int one = 1;
            _ = LibC.SetSockOpt(handle, LibC.SOL_NETLINK, LibC.NETLINK_EXT_ACK, &one, sizeof(int));
            if (options.StrictChecking)
            {
                ThrowIfFailed(LibC.SetSockOpt(handle, LibC.SOL_NETLINK, LibC.NETLINK_GET_STRICT_CHK, &one, sizeof(int)),
                    "setsockopt(NETLINK_GET_STRICT_CHK)");
            }

            if (options.ListenAllNamespaces)
            {
                ThrowIfFailed(LibC.SetSockOpt(handle, LibC.SOL_NETLINK, NetlinkNsidControlMessage.ListenAllNsid, &one, sizeof(int)),
                    "setsockopt(NETLINK_LISTEN_ALL_NSID)");
            }

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
            return new NetlinkSocket(handle, bound.PortId);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The next request's sequence number. A reply is taken only if it carries its request's number and this socket's
    /// port id (<see cref="IsReplyTo"/>): a reply that arrives after its request timed out would otherwise be read as
    /// the next request's answer.
    /// </summary>
    public uint NextSequence()
    {
        // Zero is what the kernel uses for its own notifications; never use it for a request.
        if (++_sequence == 0)
        {
            _sequence = 1;
        }

        return _sequence;
    }

    /// <summary>Whether <paramref name="header"/> belongs to this socket's request <paramref name="sequence"/>.</summary>
    public bool IsReplyTo(in NetlinkHeader header, uint sequence) => header.Sequence == sequence && header.PortId == PortId;

    /// <summary>What a request throws when <see cref="MaxStaleRepliesPerRequest"/> datagrams came and none answered it.</summary>
    public static MalformedNetlinkReplyException TooManyStaleReplies() =>
        new(MalformedReplyReason.UnexpectedMessageCount,
            $"more than {MaxStaleRepliesPerRequest} replies to other requests arrived before the answer");

    /// <summary>Sends one request whole.</summary>
    public void Send(scoped ReadOnlySpan<byte> message)
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

                ThrowUnlessInterrupted("send", sent < 0 ? Marshal.GetLastPInvokeError() : Errno.EMSGSIZE);
            }
        }
    }

    /// <summary>Receives one datagram into <paramref name="buffer"/>; its length. One that does not fit throws.</summary>
    public int Receive(Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                // MSG_TRUNC makes recv return the datagram's full length, so a too-small buffer is detected, not ignored.
                nint received = LibC.Recv(_handle, p, (nuint)buffer.Length, LibC.MSG_TRUNC);
                if (received > buffer.Length)
                {
                    throw Truncated(received, buffer.Length);
                }

                if (received >= 0)
                {
                    return (int)received;
                }

                ThrowUnlessInterrupted("recv", Marshal.GetLastPInvokeError());
            }
        }
    }

    /// <summary>
    /// The one request/reply routine of every request answered by one message (not a dump): sends
    /// <paramref name="request"/> (numbered <paramref name="sequence"/>) and receives into <paramref name="buffer"/>
    /// until <paramref name="reply"/> finds its answer in a datagram (<see cref="ReceiveAnswer"/>).
    /// </summary>
    public void Request<TReply, TAnswer>(scoped ReadOnlySpan<byte> request, Span<byte> buffer, uint sequence, TReply reply, out TAnswer answer)
        where TReply : struct, IReplyDecoder<TAnswer>
    {
        Send(request);
        ReceiveAnswer(buffer, sequence, reply, out answer);
    }

    /// <summary>
    /// A request answered by one <c>rtnetlink</c> message (<see cref="Request{TReply, TAnswer}"/>), returning that
    /// message's body, a slice of <paramref name="buffer"/>, and its header. An <c>NLMSG_ERROR</c> with an errno throws
    /// the exception it means (<see cref="NetlinkDeviceGoneException"/> for <c>ENODEV</c> about
    /// <paramref name="ifIndex"/>, when not 0); an acknowledgement (errno 0) is returned like any answer, with its
    /// header's type. With <paramref name="onlyType"/> (not 0), other messages answering the request are passed over.
    /// </summary>
    public ReadOnlySpan<byte> Request(scoped ReadOnlySpan<byte> request, Span<byte> buffer, uint sequence, string operation, int ifIndex,
        out NetlinkHeader header, ushort onlyType = 0)
    {
        Send(request);
        ReadOnlySpan<byte> body = ReceiveReply(buffer, sequence, out header, onlyType);
        if (header.Type == NetlinkMessageType.Error && NetlinkErrorMessage.ReadErrno(body) != 0)
        {
            throw NetlinkErrorMessage.ToException(header, body, operation, ifIndex);
        }

        return body;
    }

    /// <summary>
    /// Receives datagrams into <paramref name="buffer"/> until <paramref name="reply"/> finds request
    /// <paramref name="sequence"/>'s answer in one, passing over stale replies (to earlier requests that timed out) and
    /// notifications, at most <see cref="MaxStaleRepliesPerRequest"/> of them. The decoder is a struct, so the loop is
    /// compiled for each one, without a virtual call or an allocation.
    /// </summary>
    public void ReceiveAnswer<TReply, TAnswer>(Span<byte> buffer, uint sequence, TReply reply, out TAnswer answer)
        where TReply : struct, IReplyDecoder<TAnswer>
    {
        for (int stale = 0; stale <= MaxStaleRepliesPerRequest; stale++)
        {
            if (reply.TryDecode(buffer[..Receive(buffer)], sequence, PortId, out answer))
            {
                return;
            }
        }

        throw TooManyStaleReplies();
    }

    /// <summary>
    /// Receives until a message answering request <paramref name="sequence"/> (of type <paramref name="onlyType"/>,
    /// unless 0) arrives (<see cref="ReceiveAnswer"/>); returns that message's body, a slice of <paramref name="buffer"/>,
    /// and its header.
    /// </summary>
    public ReadOnlySpan<byte> ReceiveReply(Span<byte> buffer, uint sequence, out NetlinkHeader header, ushort onlyType = 0)
    {
        ReceiveAnswer(buffer, sequence, new FirstMessage(onlyType), out ReplyMessage message);
        header = message.Header;
        return buffer.Slice(message.BodyOffset, message.BodyLength);
    }

    /// <summary>
    /// Receives a datagram of any size into a pooled buffer (the caller disposes it). Link replies and dumps are
    /// kilobytes and rare, so rather than keep a large buffer per socket (64 KiB × thousands of devices was most of
    /// the agent's memory at 5,000 devices), the datagram's size is peeked first and a buffer rented for it.
    /// </summary>
    public RentedDatagram ReceiveRented()
    {
        byte[] buffer = RentForNextDatagram();
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

    /// <summary>
    /// As <see cref="ReceiveRented()"/>, with <c>recvmsg</c>: the datagram's control messages (the namespace id of
    /// <c>NETLINK_LISTEN_ALL_NSID</c>) land in <paramref name="control"/>, <paramref name="controlLength"/> bytes of it.
    /// </summary>
    public RentedDatagram ReceiveRented(Span<byte> control, out int controlLength)
    {
        byte[] buffer = RentForNextDatagram();
        try
        {
            fixed (byte* data = buffer)
            fixed (byte* controlBytes = control)
            {
                while (true)
                {
                    var iov = new LibC.IoVec { Base = data, Length = (nuint)buffer.Length };
                    var message = new LibC.MsgHdr { Iov = &iov, IovLength = 1, Control = controlBytes, ControlLength = (nuint)control.Length };
                    nint received = LibC.RecvMsg(_handle, &message, LibC.MSG_TRUNC);
                    if (received > buffer.Length)
                    {
                        throw Truncated(received, buffer.Length);
                    }

                    if (received >= 0)
                    {
                        controlLength = (int)message.ControlLength;
                        return new RentedDatagram(buffer, (int)received);
                    }

                    ThrowUnlessInterrupted("recvmsg", Marshal.GetLastPInvokeError());
                }
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    /// <summary>
    /// Blocks until a datagram can be received (true) or <paramref name="wakeup"/> is set (false), without a timeout:
    /// a thread that waits for notifications this way costs nothing while nothing happens.
    /// </summary>
    public bool WaitReadable(WakeupEvent wakeup) =>
        DescriptorReadiness.Wait(_handle, wakeup, DescriptorReadiness.Infinite) == Readiness.Readable;

    public void Dispose() => _handle.Dispose();

    private byte[] RentForNextDatagram()
    {
        while (true)
        {
            nint peeked = LibC.Recv(_handle, null, 0, LibC.MSG_PEEK | LibC.MSG_TRUNC);
            if (peeked >= 0)
            {
                return ArrayPool<byte>.Shared.Rent(Math.Max((int)peeked, NetlinkHeader.Size));
            }

            ThrowUnlessInterrupted("recv", Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>Where in a datagram the message answering a request is.</summary>
    private readonly record struct ReplyMessage(NetlinkHeader Header, int BodyOffset, int BodyLength);

    /// <summary>The first message of the datagram that answers the request (of type <c>onlyType</c>, unless 0).</summary>
    private readonly struct FirstMessage(ushort onlyType) : IReplyDecoder<ReplyMessage>
    {
        public bool TryDecode(ReadOnlySpan<byte> datagram, uint sequence, uint portId, out ReplyMessage answer)
        {
            var messages = new NetlinkMessageReader(datagram);
            while (messages.Next())
            {
                NetlinkHeader header = messages.Header;
                if (header.Sequence == sequence && header.PortId == portId && (onlyType == 0 || header.Type == onlyType))
                {
                    answer = new ReplyMessage(header, messages.BodyOffset, messages.Body.Length);
                    return true;
                }
            }

            answer = default;
            return false;
        }
    }

    private static MalformedNetlinkReplyException Truncated(nint received, int bufferLength) =>
        new(MalformedReplyReason.Truncated, $"a {received}-byte datagram did not fit the {bufferLength}-byte receive buffer");

    // A signal interrupted the call: it is simply made again. Anything else is the socket's failure.
    private static void ThrowUnlessInterrupted(string operation, int errno)
    {
        if (errno != Errno.EINTR)
        {
            throw new NetlinkSocketException(operation, errno);
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
