using System.Buffers;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace TunTelemetry.Netlink;

/// <summary>
/// A <c>NETLINK_ROUTE</c> socket in the agent's own network namespace that reads other namespaces by their id in ours
/// (<c>IFLA_TARGET_NETNSID</c>), so it needs <c>CAP_NET_ADMIN</c> but never <c>setns</c>, and, unlike a socket opened
/// inside a namespace, does not keep that namespace alive. Why this design: docs/design.md, "Other network namespaces".
/// Not thread-safe: one owner uses it at a time.
/// </summary>
/// <remarks>
/// Strict checking (<c>NETLINK_GET_STRICT_CHK</c>) is always on: without it the kernel ignores a dump's link-kind
/// filter. Replies are matched by sequence number and port id, as on <see cref="NetlinkRouteSocket"/>.
/// </remarks>
internal sealed unsafe class NetnsRouteSocket : IDisposable
{
    private const int MaxDumpAttempts = 3;
    private const int MaxStaleRepliesPerRequest = 256;
    private const int ReplyBufferSize = 1024;

    private readonly SafeNetlinkHandle _handle;
    private uint _sequence;

    private NetnsRouteSocket(SafeNetlinkHandle handle, uint portId)
    {
        _handle = handle;
        PortId = portId;
        _sequence = (uint)Random.Shared.Next(1, int.MaxValue);
    }

    /// <summary>The port id the kernel gave this socket at bind time.</summary>
    public uint PortId { get; }

    /// <summary>
    /// Opens and binds a socket. <paramref name="listenAllNamespaces"/> sets <c>NETLINK_LISTEN_ALL_NSID</c>, so the
    /// groups in <paramref name="options"/> are heard from every namespace with an id in ours (needs
    /// <c>CAP_NET_BROADCAST</c>: without it this throws <see cref="NetlinkSocketException"/> with <c>EPERM</c>);
    /// <paramref name="namespaceIdEvents"/> joins <c>RTNLGRP_NSID</c>, which tells when an id is given or dropped.
    /// </summary>
    public static NetnsRouteSocket Open(NetlinkSocketOptions? options = null, bool listenAllNamespaces = false, bool namespaceIdEvents = false)
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
            int one = 1;
            _ = LibC.SetSockOpt(handle, LibC.SOL_NETLINK, LibC.NETLINK_EXT_ACK, &one, sizeof(int));
            ThrowIfFailed(LibC.SetSockOpt(handle, LibC.SOL_NETLINK, LibC.NETLINK_GET_STRICT_CHK, &one, sizeof(int)),
                "setsockopt(NETLINK_GET_STRICT_CHK)");
            if (listenAllNamespaces)
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

            uint groups = (uint)options.Groups | (namespaceIdEvents ? LibC.RTMGRP_NSID : 0);
            var address = new LibC.SockAddrNetlink { Family = LibC.AF_NETLINK, Groups = groups };
            ThrowIfFailed(LibC.Bind(handle, &address, sizeof(LibC.SockAddrNetlink)), "bind");

            LibC.SockAddrNetlink bound;
            int length = sizeof(LibC.SockAddrNetlink);
            ThrowIfFailed(LibC.GetSockName(handle, &bound, &length), "getsockname");
            return new NetnsRouteSocket(handle, bound.PortId);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Gives the namespace behind <paramref name="namespaceFile"/> (an open <c>/run/netns/NAME</c> or
    /// <c>/proc/PID/ns/net</c>) an id in ours, unless it has one, and returns its id. Needs <c>CAP_NET_ADMIN</c>;
    /// without it the kernel answers <c>EPERM</c> (<see cref="NetlinkErrnoException"/>).
    /// </summary>
    public int AssignId(SafeFileHandle namespaceFile)
    {
        int fd = (int)namespaceFile.DangerousGetHandle();
        int existing = GetId(namespaceFile);
        if (existing != NetnsId.NotAssigned)
        {
            return existing;
        }

        uint sequence = NextSequence();
        Span<byte> request = stackalloc byte[RtmNsidRequest.MaxSize];
        Send(request[..RtmNsidRequest.WriteNew(request, sequence, fd)]);
        int errno = ReceiveAcknowledgement(sequence);
        // EEXIST: another process gave it an id between our two requests; either way it has one now.
        if (errno != 0 && errno != Errno.EEXIST)
        {
            throw new NetlinkErrnoException("RTM_NEWNSID", errno, null);
        }

        int assigned = GetId(namespaceFile);
        GC.KeepAlive(namespaceFile);
        return assigned;
    }

    /// <summary>The id in ours of the namespace behind <paramref name="namespaceFile"/>; <see cref="NetnsId.NotAssigned"/> when none.</summary>
    public int GetId(SafeFileHandle namespaceFile)
    {
        uint sequence = NextSequence();
        Span<byte> request = stackalloc byte[RtmNsidRequest.MaxSize];
        Send(request[..RtmNsidRequest.WriteGetByFd(request, sequence, (int)namespaceFile.DangerousGetHandle())]);
        int id = ReceiveNsid(sequence);
        GC.KeepAlive(namespaceFile);
        return id;
    }

    /// <summary>The id in ours of process <paramref name="pid"/>'s network namespace; <see cref="NetnsId.NotAssigned"/> when none.</summary>
    public int GetIdOfProcess(int pid)
    {
        uint sequence = NextSequence();
        Span<byte> request = stackalloc byte[RtmNsidRequest.MaxSize];
        Send(request[..RtmNsidRequest.WriteGetByPid(request, sequence, pid)]);
        return ReceiveNsid(sequence);
    }

    /// <summary>
    /// Reads the counters of every TUN/TAP device of namespace <paramref name="nsid"/> with one RTM_GETLINK dump
    /// (the kernel filters by link kind), adding one reading per device to <paramref name="readings"/>. Allocates
    /// nothing beyond the list's growth: this is a namespace's poll.
    /// </summary>
    public void ReadTunStats(int nsid, List<LinkStatsReading> readings)
    {
        int before = readings.Count;
        for (int attempt = 1; ; attempt++)
        {
            var sink = new StatsSink(readings);
            if (Dump(nsid, tunOnly: true, ref sink))
            {
                return;
            }

            // NLM_F_DUMP_INTR: the link table changed mid-dump, so the readings may be inconsistent; ask again.
            readings.RemoveRange(before, readings.Count - before);
            if (attempt == MaxDumpAttempts)
            {
                throw new NetlinkErrnoException("RTM_GETLINK dump", Errno.EINTR, $"the link table kept changing during {MaxDumpAttempts} dumps");
            }
        }
    }

    /// <summary>Lists the links of namespace <paramref name="nsid"/>; with <paramref name="tunOnly"/>, its TUN/TAP devices only.</summary>
    public IReadOnlyList<LinkDescription> DumpLinks(int nsid, bool tunOnly)
    {
        for (int attempt = 1; ; attempt++)
        {
            var sink = new DescriptionSink(new List<LinkDescription>());
            if (Dump(nsid, tunOnly, ref sink))
            {
                return sink.Links;
            }

            if (attempt == MaxDumpAttempts)
            {
                throw new NetlinkErrnoException("RTM_GETLINK dump", Errno.EINTR, $"the link table kept changing during {MaxDumpAttempts} dumps");
            }
        }
    }

    /// <summary>
    /// Waits up to the receive timeout for one datagram of notifications and adds its link changes (with the namespace
    /// each came from) and namespace-id changes. False on timeout. An overrun throws <see cref="NetlinkSocketException"/>
    /// with <see cref="NetlinkSocketException.IsOverrun"/>: the caller must re-list.
    /// </summary>
    public bool ReceiveNotifications(ICollection<NamespacedLinkChange> linkChanges, ICollection<NetnsIdChange> idChanges)
    {
        byte[] buffer;
        int received;
        int? nsid;
        try
        {
            (buffer, received, nsid) = ReceiveWithNsid();
        }
        catch (NetlinkSocketException e) when (e.IsTimeout)
        {
            return false;
        }

        try
        {
            DecodeNotifications(buffer.AsSpan(0, received), nsid, linkChanges, idChanges);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return true;
    }

    /// <summary>
    /// Decodes one notification datagram heard on a <c>NETLINK_LISTEN_ALL_NSID</c> socket, whose control message said it
    /// came from namespace <paramref name="nsid"/> (null: from ours): its link changes and namespace-id changes.
    /// </summary>
    internal static void DecodeNotifications(ReadOnlySpan<byte> datagram, int? nsid,
        ICollection<NamespacedLinkChange> linkChanges, ICollection<NetnsIdChange> idChanges)
    {
        var messages = new NetlinkMessageReader(datagram);
        while (messages.Next())
        {
            switch (messages.Header.Type)
            {
                case NetlinkMessageType.NewLink:
                case NetlinkMessageType.DelLink:
                    var kind = messages.Header.Type == NetlinkMessageType.NewLink ? LinkChangeKind.AddedOrChanged : LinkChangeKind.Removed;
                    linkChanges.Add(new NamespacedLinkChange(nsid, new LinkChange(kind, RtmNewLinkMessage.Decode(messages.Body)),
                        LinkNetnsAttributes.Read(messages.Body)));
                    break;
                case NetnsMessageType.NewNsid:
                case NetnsMessageType.DelNsid:
                    idChanges.Add(new NetnsIdChange(messages.Header.Type == NetnsMessageType.NewNsid, RtmNsidMessage.Decode(messages.Body).Nsid));
                    break;
            }
        }
    }

    /// <summary>
    /// Blocks until a notification can be received (true) or <paramref name="wakeup"/> is set (false), without a timeout.
    /// </summary>
    internal bool WaitReadable(WakeupEvent wakeup) => NetlinkReadiness.WaitReadable(_handle, wakeup);

    /// <summary>Sends a request and returns its first reply datagram as it came: how the fixtures were captured.</summary>
    internal byte[] CaptureReply(ReadOnlySpan<byte> request)
    {
        Send(request);
        (byte[] buffer, int received, _) = ReceiveWithNsid();
        try
        {
            return buffer.AsSpan(0, received).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Receives one notification datagram with its control bytes, as they came: how the fixtures were captured.</summary>
    internal (byte[] Datagram, byte[] Control) CaptureNotification()
    {
        byte[] control = new byte[NetlinkNsidControlMessage.Space * 2];
        (byte[] buffer, int received, int controlLength) = ReceiveMessage(control);
        try
        {
            return (buffer.AsSpan(0, received).ToArray(), control.AsSpan(0, controlLength).ToArray());
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    internal uint NextSequence()
    {
        if (++_sequence == 0)
        {
            _sequence = 1;
        }

        return _sequence;
    }

    public void Dispose() => _handle.Dispose();

    /// <summary>What a dump does with each RTM_NEWLINK body; a struct, so a poll allocates no delegate.</summary>
    private interface ILinkSink
    {
        void OnLink(ReadOnlySpan<byte> body);
    }

    private readonly struct StatsSink(List<LinkStatsReading> readings) : ILinkSink
    {
        public void OnLink(ReadOnlySpan<byte> body)
        {
            if (RtmNewLinkStats.TryRead(body, out LinkStatsReading reading))
            {
                readings.Add(reading);
            }
        }
    }

    private readonly struct DescriptionSink(List<LinkDescription> links) : ILinkSink
    {
        public List<LinkDescription> Links => links;

        public void OnLink(ReadOnlySpan<byte> body) => links.Add(RtmNewLinkMessage.Decode(body));
    }

    private bool Dump<TSink>(int nsid, bool tunOnly, ref TSink sink)
        where TSink : struct, ILinkSink
    {
        uint sequence = NextSequence();
        Span<byte> request = stackalloc byte[RtmGetLinkTargetedRequest.MaxSize];
        Send(request[..RtmGetLinkTargetedRequest.WriteDump(request, sequence, nsid, tunOnly)]);

        bool interrupted = false;
        while (true)
        {
            (byte[] buffer, int received, _) = ReceiveWithNsid();
            try
            {
                var messages = new NetlinkMessageReader(buffer.AsSpan(0, received));
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
                            // A dump that fails after it started (a target id no namespace has any more: EINVAL) ends
                            // with NLMSG_DONE carrying the negative errno instead of an NLMSG_ERROR.
                            if (messages.Body.Length >= sizeof(int) && NativeEndian.ReadInt32(messages.Body) < 0)
                            {
                                throw new NetlinkErrnoException("RTM_GETLINK dump (IFLA_TARGET_NETNSID)",
                                    -NativeEndian.ReadInt32(messages.Body), null);
                            }

                            return !interrupted;
                        case NetlinkMessageType.Error:
                            throw NetlinkErrorMessage.ToException(header, messages.Body, "RTM_GETLINK dump (IFLA_TARGET_NETNSID)", ifIndex: 0);
                        case NetlinkMessageType.NewLink:
                            sink.OnLink(messages.Body);
                            break;
                        default:
                            throw new MalformedNetlinkReplyException(MalformedReplyReason.WrongMessageType,
                                $"RTM_GETLINK dump returned message type {header.Type}");
                    }
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private int ReceiveNsid(uint sequence)
    {
        Span<byte> reply = stackalloc byte[ReplyBufferSize];
        for (int stale = 0; stale <= MaxStaleRepliesPerRequest; stale++)
        {
            int received = Receive(reply);
            var messages = new NetlinkMessageReader(reply[..received]);
            while (messages.Next())
            {
                NetlinkHeader header = messages.Header;
                if (header.Sequence != sequence || header.PortId != PortId)
                {
                    continue;
                }

                if (header.Type == NetlinkMessageType.Error)
                {
                    throw NetlinkErrorMessage.ToException(header, messages.Body, "RTM_GETNSID", ifIndex: 0);
                }

                if (header.Type != NetnsMessageType.NewNsid)
                {
                    throw new MalformedNetlinkReplyException(MalformedReplyReason.WrongMessageType,
                        $"expected RTM_NEWNSID ({NetnsMessageType.NewNsid}), got message type {header.Type}");
                }

                return RtmNsidMessage.Decode(messages.Body).Nsid;
            }
        }

        throw new MalformedNetlinkReplyException(MalformedReplyReason.UnexpectedMessageCount,
            $"more than {MaxStaleRepliesPerRequest} replies to other requests arrived before the answer");
    }

    /// <summary>Waits for the acknowledgement of <paramref name="sequence"/>; returns its errno (0: done).</summary>
    private int ReceiveAcknowledgement(uint sequence)
    {
        Span<byte> reply = stackalloc byte[ReplyBufferSize];
        for (int stale = 0; stale <= MaxStaleRepliesPerRequest; stale++)
        {
            int received = Receive(reply);
            var messages = new NetlinkMessageReader(reply[..received]);
            while (messages.Next())
            {
                NetlinkHeader header = messages.Header;
                // On a socket in RTNLGRP_NSID the kernel's notification of the id just given carries our request's
                // sequence number and port id, and comes before the acknowledgement: the caller knows of that id already.
                if (header.Sequence == sequence && header.PortId == PortId && header.Type == NetlinkMessageType.Error)
                {
                    return NetlinkErrorMessage.ReadErrno(messages.Body);
                }
            }
        }

        throw new MalformedNetlinkReplyException(MalformedReplyReason.UnexpectedMessageCount,
            $"more than {MaxStaleRepliesPerRequest} replies to other requests arrived before the answer");
    }

    private (byte[] Buffer, int Received, int? Nsid) ReceiveWithNsid()
    {
        Span<byte> control = stackalloc byte[NetlinkNsidControlMessage.Space * 2];
        (byte[] buffer, int received, int controlLength) = ReceiveMessage(control);
        int? nsid = NetlinkNsidControlMessage.TryReadNsid(control[..controlLength], out int id) ? id : null;
        return (buffer, received, nsid);
    }

    /// <summary>
    /// recvmsg of one datagram into a pooled buffer sized by a peek (the caller returns it), with its control messages
    /// (the namespace id of <c>NETLINK_LISTEN_ALL_NSID</c>) in <paramref name="control"/>.
    /// </summary>
    private (byte[] Buffer, int Received, int ControlLength) ReceiveMessage(Span<byte> control)
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
                        throw new MalformedNetlinkReplyException(MalformedReplyReason.Truncated,
                            $"a {received}-byte datagram did not fit the {buffer.Length}-byte receive buffer");
                    }

                    if (received >= 0)
                    {
                        return (buffer, (int)received, (int)message.ControlLength);
                    }

                    int errno = Marshal.GetLastPInvokeError();
                    if (errno != Errno.EINTR)
                    {
                        throw new NetlinkSocketException("recvmsg", errno);
                    }
                }
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    private int Receive(Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
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

    private static void ThrowIfFailed(int result, string operation)
    {
        if (result < 0)
        {
            throw new NetlinkSocketException(operation, Marshal.GetLastPInvokeError());
        }
    }
}
