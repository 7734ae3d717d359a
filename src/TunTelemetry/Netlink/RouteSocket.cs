using System.Runtime.CompilerServices;
using Microsoft.Win32.SafeHandles;

namespace TunTelemetry.Netlink;

/// <summary>
/// One <c>NETLINK_ROUTE</c> socket in the agent's own network namespace and the requests TunTelemetry makes on it. Its
/// link requests take their <see cref="LinkTarget"/>: our namespace, or another by its id in ours
/// (<c>IFLA_TARGET_NETNSID</c>), which needs <c>CAP_NET_ADMIN</c> but never <c>setns</c>, and, unlike a socket opened
/// inside a namespace, does not keep that namespace alive (docs/design.md, "Other network namespaces"). Not
/// thread-safe: one owner uses it at a time; each poller owns one, so a slow or failed socket affects one device only.
/// </summary>
/// <remarks>
/// The socket itself (opening, sequence numbers, reply matching, receive timeouts, errors, dumps) is
/// <see cref="NetlinkSocket"/>'s; this class owns the requests (RTM_GETSTATS, RTM_GETLINK by ifindex, by name or as a
/// dump, the namespace-id requests) and the notifications.
/// </remarks>
internal sealed class RouteSocket : IDisposable
{
    // A stats reply is 232 bytes; the spare room lets an unexpected longer reply (or an error with an extended ack)
    // be read whole. The buffer lives on the stack for the one call: a 1 KiB array per socket was 10 MB of heap at
    // 10,000 devices.
    private const int ReplyBufferSize = 1024;

    /// <summary>Room for one link's RTM_NEWLINK (a TUN device's is about 1.5 KiB); a longer one throws as truncated.</summary>
    private const int LinkReplyBufferSize = 16 * 1024;

    private readonly NetlinkSocket _socket;
    private readonly bool _strictChecking;

    private RouteSocket(NetlinkSocket socket, bool strictChecking)
    {
        _socket = socket;
        _strictChecking = strictChecking;
    }

    /// <summary>The port id the kernel gave this socket at bind time.</summary>
    public uint PortId => _socket.PortId;

    /// <summary>Whether the descriptor has been closed.</summary>
    public bool IsClosed => _socket.IsClosed;

    /// <summary>The socket underneath, for tools that send requests of their own (the tests' fixture capture).</summary>
    internal NetlinkSocket Socket => _socket;

    /// <summary>
    /// Opens and binds a socket as <paramref name="options"/> say: the multicast groups it joins, whether it hears them
    /// from every namespace (<see cref="NetlinkSocketOptions.ListenAllNamespaces"/>) and whether the kernel checks its
    /// requests strictly (<see cref="NetlinkSocketOptions.StrictChecking"/>, which a dump of TUN/TAP devices needs).
    /// </summary>
    public static RouteSocket Open(NetlinkSocketOptions? options = null) =>
        new(NetlinkSocket.Open(options), options?.StrictChecking ?? false);

    /// <summary>
    /// The counters of device <paramref name="ifIndex"/> of <paramref name="target"/>, named <paramref name="name"/>: a
    /// poll, which allocates nothing. In our namespace it asks RTM_GETSTATS, the cheaper request, whose reply carries the
    /// counters alone; in another, RTM_GETLINK, since RTM_GETSTATS cannot be targeted (about 1.5–1.9× an RTM_GETSTATS
    /// poll, docs/performance.md), and the reply's name is checked: a namespace id is reused once its namespace dies,
    /// and a poll through a reused id must find the device gone, not read a stranger's counters (so only a read of our
    /// namespace may pass a null <paramref name="name"/>). The device is gone (<see cref="NetlinkDeviceGoneException"/>)
    /// when the kernel answers <c>ENODEV</c>, when another namespace's ifindex has another name now, or when no
    /// namespace has the id now (<c>EINVAL</c>).
    /// </summary>
    // Not zeroed: this runs at every poll, and only the bytes the kernel wrote are ever read.
    [SkipLocalsInit]
    public LinkStats64 ReadStats(LinkTarget target, int ifIndex, string? name)
    {
        if (target.Nsid is null)
        {
            return GetStats(ifIndex);
        }

        ArgumentNullException.ThrowIfNull(name);
        Span<byte> reply = stackalloc byte[LinkReplyBufferSize];
        ReadOnlySpan<byte> body = RequestLink(target, ifIndex, name: default, reply, out NetlinkHeader header);
        return LinkReply.Stats(header, body, ifIndex, name);
    }

    /// <summary>Device <paramref name="ifIndex"/> of <paramref name="target"/>; null when it (or its namespace) is gone.</summary>
    public LinkDescription? GetLink(LinkTarget target, int ifIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ifIndex);
        return GetLinkOrNull(target, ifIndex, name: default);
    }

    /// <summary>The link of <paramref name="target"/> named <paramref name="name"/>; null when none has it.</summary>
    public LinkDescription? GetLink(LinkTarget target, string name) => GetLinkOrNull(target, ifIndex: 0, InterfaceName.Encode(name));

    /// <summary>
    /// Lists the links of <paramref name="target"/>; with <paramref name="tunOnly"/>, its TUN/TAP devices only, left out
    /// by the kernel, which needs a socket opened with <see cref="NetlinkSocketOptions.StrictChecking"/>.
    /// </summary>
    public IReadOnlyList<LinkDescription> DumpLinks(LinkTarget target, bool tunOnly = false)
    {
        ThrowUnlessFilterable(tunOnly);
        var sink = new LinkDescriptionSink([]);
        _socket.DumpAllLinks(target, tunOnly, DumpName(target), ref sink);
        return sink.Links;
    }

    /// <summary>
    /// Reads the counters of every TUN/TAP device of <paramref name="target"/> with one RTM_GETLINK dump filtered by
    /// the kernel (a socket opened with <see cref="NetlinkSocketOptions.StrictChecking"/>), adding one reading per
    /// device to <paramref name="readings"/>. Allocates nothing beyond the list's growth: this is a namespace's poll.
    /// </summary>
    public void ReadTunStats(LinkTarget target, List<LinkStatsReading> readings)
    {
        ThrowUnlessFilterable(tunOnly: true);
        var sink = new StatsSink(readings, readings.Count);
        _socket.DumpAllLinks(target, tunOnly: true, DumpName(target), ref sink);
    }

    /// <summary>
    /// Gives the namespace behind <paramref name="namespaceFile"/> (an open <c>/run/netns/NAME</c> or
    /// <c>/proc/PID/ns/net</c>) an id in ours, unless it has one, and returns its id. Needs <c>CAP_NET_ADMIN</c>;
    /// without it the kernel answers <c>EPERM</c> (<see cref="NetlinkErrnoException"/>).
    /// </summary>
    public int AssignId(SafeFileHandle namespaceFile)
    {
        int existing = GetId(namespaceFile);
        if (existing != NetnsId.NotAssigned)
        {
            return existing;
        }

        RequestNewId(namespaceFile);
        return GetId(namespaceFile); // which keeps namespaceFile alive past the use of its descriptor in the request
    }

    /// <summary>
    /// Sends <c>RTM_NEWNSID</c> for the namespace behind <paramref name="namespaceFile"/> whether or not it has an id:
    /// succeeds when the kernel gives one or it has one (<c>EEXIST</c>: another process gave it one meanwhile).
    /// The kernel checks <c>CAP_NET_ADMIN</c> before anything else, so without it this is <c>EPERM</c> either way.
    /// </summary>
    internal void RequestNewId(SafeFileHandle namespaceFile)
    {
        uint sequence = _socket.NextSequence();
        Span<byte> request = stackalloc byte[RtmNsidRequest.MaxSize];
        Span<byte> reply = stackalloc byte[ReplyBufferSize];
        try
        {
            // On a socket in RTNLGRP_NSID the kernel's notification of the id just given carries our request's sequence
            // number and port id, and comes before the acknowledgement: the caller knows of that id already.
            _ = _socket.Request(request[..RtmNsidRequest.WriteNew(request, sequence, (int)namespaceFile.DangerousGetHandle())], reply, sequence,
                "RTM_NEWNSID", ifIndex: 0, out _, onlyType: NetlinkMessageType.Error);
        }
        catch (NetlinkErrnoException e) when (e.Errno == Errno.EEXIST)
        {
            // another process gave it an id meanwhile
        }
        finally
        {
            GC.KeepAlive(namespaceFile);
        }
    }

    /// <summary>The id in ours of the namespace behind <paramref name="namespaceFile"/>; <see cref="NetnsId.NotAssigned"/> when none.</summary>
    public int GetId(SafeFileHandle namespaceFile)
    {
        int id = RequestId(byPid: false, (int)namespaceFile.DangerousGetHandle());
        GC.KeepAlive(namespaceFile);
        return id;
    }

    /// <summary>The id in ours of process <paramref name="pid"/>'s network namespace; <see cref="NetnsId.NotAssigned"/> when none.</summary>
    public int GetIdOfProcess(int pid) => RequestId(byPid: true, pid);

    /// <summary>
    /// Waits up to the receive timeout for one datagram of notifications (of the groups the socket joined) and adds its
    /// link changes, each with the namespace it came from (null: ours, which sends no control message), and its
    /// namespace-id changes. False on timeout. An overrun throws <see cref="NetlinkSocketException"/> with
    /// <see cref="NetlinkSocketException.IsOverrun"/>: the kernel dropped notifications, and the caller must re-list.
    /// </summary>
    public bool ReceiveNotifications(ICollection<NamespacedLinkChange> linkChanges, ICollection<NetnsIdChange> idChanges)
    {
        Span<byte> control = stackalloc byte[NetlinkNsidControlMessage.Space * 2];
        RentedDatagram datagram;
        int controlLength;
        try
        {
            datagram = _socket.ReceiveRented(control, out controlLength);
        }
        catch (NetlinkSocketException e) when (e.IsTimeout)
        {
            return false;
        }

        using RentedDatagram _ = datagram;
        int? nsid = NetlinkNsidControlMessage.TryReadNsid(control[..controlLength], out int id) ? id : null;
        DecodeNotifications(datagram.Bytes, nsid, linkChanges, idChanges);
        return true;
    }

    /// <summary>
    /// The one notification decoder: one datagram, whose control message said it came from namespace
    /// <paramref name="nsid"/> (null: from ours), into its link changes and namespace-id changes.
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
    /// Blocks until a datagram can be received (true) or <paramref name="wakeup"/> is set (false), without a timeout:
    /// a thread that waits for notifications this way costs nothing while nothing happens.
    /// </summary>
    internal bool WaitReadable(WakeupEvent wakeup) => _socket.WaitReadable(wakeup);

    /// <summary>Sends an RTM_GETSTATS request and leaves its reply queued: lets tests make a stale reply for real.</summary>
    internal void SendStatsRequestWithoutReading(int ifIndex)
    {
        Span<byte> request = stackalloc byte[RtmGetStatsRequest.Size];
        _socket.Send(request[..RtmGetStatsRequest.Write(request, _socket.NextSequence(), ifIndex)]);
    }

    public void Dispose() => _socket.Dispose();

    // RTM_GETSTATS goes through the one request/reply routine with a decoder of its own: RtmNewStatsReply checks the
    // whole datagram (one message, exact lengths), stricter than the message walk of the other requests. Not zeroed,
    // like ReadStats: the request is written whole, and only the bytes the kernel wrote are read.
    [SkipLocalsInit]
    private LinkStats64 GetStats(int ifIndex)
    {
        uint sequence = _socket.NextSequence();
        Span<byte> request = stackalloc byte[RtmGetStatsRequest.Size];
        Span<byte> reply = stackalloc byte[ReplyBufferSize];
        _socket.Request(request[..RtmGetStatsRequest.Write(request, sequence, ifIndex)], reply, sequence, new StatsReply(ifIndex),
            out LinkStats64 stats);
        return stats;
    }

    private LinkDescription? GetLinkOrNull(LinkTarget target, int ifIndex, ReadOnlySpan<byte> name)
    {
        Span<byte> reply = stackalloc byte[LinkReplyBufferSize];
        try
        {
            ReadOnlySpan<byte> body = RequestLink(target, ifIndex, name, reply, out NetlinkHeader header);
            return LinkReply.Decode(header, body);
        }
        catch (NetlinkDeviceGoneException)
        {
            return null;
        }
        catch (NetlinkErrnoException e) when (e.Errno == Errno.ENODEV)
        {
            return null; // asked by name: no link has it
        }
    }

    // An RTM_GETLINK for one link. About another namespace, EINVAL means no namespace has the id now: the kernel drops
    // an id only when its namespace dies, and its devices with it.
    private ReadOnlySpan<byte> RequestLink(LinkTarget target, int ifIndex, ReadOnlySpan<byte> name, Span<byte> reply, out NetlinkHeader header)
    {
        uint sequence = _socket.NextSequence();
        Span<byte> request = stackalloc byte[RtmGetLinkRequest.MaxSize];
        try
        {
            return _socket.Request(request[..RtmGetLinkRequest.WriteOne(request, sequence, target, ifIndex, name)], reply, sequence,
                target.Nsid is null ? "RTM_GETLINK" : "RTM_GETLINK (IFLA_TARGET_NETNSID)", ifIndex, out header);
        }
        catch (NetlinkErrnoException e) when (e.Errno == Errno.EINVAL && target.Nsid is not null && ifIndex != 0)
        {
            throw new NetlinkDeviceGoneException(ifIndex);
        }
    }

    private int RequestId(bool byPid, int value)
    {
        uint sequence = _socket.NextSequence();
        Span<byte> request = stackalloc byte[RtmNsidRequest.MaxSize];
        Span<byte> reply = stackalloc byte[ReplyBufferSize];
        ReadOnlySpan<byte> body = _socket.Request(request[..(byPid
            ? RtmNsidRequest.WriteGetByPid(request, sequence, value)
            : RtmNsidRequest.WriteGetByFd(request, sequence, value))], reply, sequence, "RTM_GETNSID", ifIndex: 0, out NetlinkHeader header);
        if (header.Type != NetnsMessageType.NewNsid)
        {
            throw new MalformedNetlinkReplyException(MalformedReplyReason.WrongMessageType,
                $"expected RTM_NEWNSID ({NetnsMessageType.NewNsid}), got message type {header.Type}");
        }

        return RtmNsidMessage.Decode(body).Nsid;
    }

    private static string DumpName(LinkTarget target) =>
        target.Nsid is null ? "RTM_GETLINK dump" : "RTM_GETLINK dump (IFLA_TARGET_NETNSID)";

    // Without strict checking the kernel ignores the kind filter and dumps every link: refuse rather than return them.
    private void ThrowUnlessFilterable(bool tunOnly)
    {
        if (tunOnly && !_strictChecking)
        {
            throw new InvalidOperationException("a dump of TUN/TAP devices only needs a socket opened with StrictChecking");
        }
    }

    /// <summary>The answer to RTM_GETSTATS, decoded by <see cref="RtmNewStatsReply.TryDecode"/>.</summary>
    private readonly struct StatsReply(int ifIndex) : IReplyDecoder<LinkStats64>
    {
        public bool TryDecode(ReadOnlySpan<byte> datagram, uint sequence, uint portId, out LinkStats64 answer) =>
            RtmNewStatsReply.TryDecode(datagram, sequence, portId, ifIndex, out answer);
    }

    /// <summary>Each TUN/TAP device's reading, added after the <paramref name="before"/> readings the list had.</summary>
    private readonly struct StatsSink(List<LinkStatsReading> readings, int before) : ILinkDumpSink
    {
        public void OnLink(ReadOnlySpan<byte> body)
        {
            if (RtmNewLinkStats.TryRead(body, out LinkStatsReading reading))
            {
                readings.Add(reading);
            }
        }

        public void Restart() => readings.RemoveRange(before, readings.Count - before);
    }
}
