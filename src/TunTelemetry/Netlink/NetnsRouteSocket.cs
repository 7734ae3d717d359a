using System.Runtime.CompilerServices;
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
/// filter. The socket itself (opening, sequence numbers, reply matching, receive timeouts, errors) is
/// <see cref="NetlinkSocket"/>'s; this class owns the namespace-id requests, the targeted link dumps and the
/// notifications of every namespace.
/// </remarks>
internal sealed class NetnsRouteSocket : IDisposable
{
    private const int ReplyBufferSize = 1024;
    private const string TargetedDump = "RTM_GETLINK dump (IFLA_TARGET_NETNSID)";
    private const string TargetedGet = "RTM_GETLINK (IFLA_TARGET_NETNSID)";

    private readonly NetlinkSocket _socket;

    private NetnsRouteSocket(NetlinkSocket socket) => _socket = socket;

    /// <summary>The port id the kernel gave this socket at bind time.</summary>
    public uint PortId => _socket.PortId;

    /// <summary>
    /// Opens and binds a socket. <paramref name="listenAllNamespaces"/> sets <c>NETLINK_LISTEN_ALL_NSID</c>, so the
    /// groups in <paramref name="options"/> are heard from every namespace with an id in ours (needs
    /// <c>CAP_NET_BROADCAST</c>: without it this throws <see cref="NetlinkSocketException"/> with <c>EPERM</c>);
    /// <paramref name="namespaceIdEvents"/> joins <c>RTNLGRP_NSID</c>, which tells when an id is given or dropped.
    /// </summary>
    public static NetnsRouteSocket Open(NetlinkSocketOptions? options = null, bool listenAllNamespaces = false, bool namespaceIdEvents = false) =>
        new(NetlinkSocket.Open(options, strictChecking: true, listenAllNamespaces, namespaceIdEvents ? LibC.RTMGRP_NSID : 0));

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
    /// Reads the counters of every TUN/TAP device of namespace <paramref name="nsid"/> with one RTM_GETLINK dump
    /// (the kernel filters by link kind), adding one reading per device to <paramref name="readings"/>. Allocates
    /// nothing beyond the list's growth: this is a namespace's poll.
    /// </summary>
    public void ReadTunStats(int nsid, List<LinkStatsReading> readings)
    {
        var sink = new StatsSink(readings, readings.Count);
        _socket.DumpAllLinks(new TargetedLinksDumpRequest(nsid, TunOnly: true), TargetedDump, ref sink);
    }

    /// <summary>Lists the links of namespace <paramref name="nsid"/>; with <paramref name="tunOnly"/>, its TUN/TAP devices only.</summary>
    public IReadOnlyList<LinkDescription> DumpLinks(int nsid, bool tunOnly)
    {
        var sink = new LinkDescriptionSink([]);
        _socket.DumpAllLinks(new TargetedLinksDumpRequest(nsid, tunOnly), TargetedDump, ref sink);
        return sink.Links;
    }

    /// <summary>
    /// The counters of device <paramref name="ifIndex"/> of namespace <paramref name="nsid"/>, named
    /// <paramref name="name"/>, with one targeted RTM_GETLINK: a poll of a device of another namespace.
    /// Allocates nothing. The device is gone (<see cref="NetlinkDeviceGoneException"/>) when the kernel answers
    /// <c>ENODEV</c>, when the ifindex has another name now, or when no namespace has the id now (<c>EINVAL</c>: the
    /// kernel drops an id only when its namespace dies, and its devices with it).
    /// </summary>
    // Not zeroed: this runs at every poll of such a device, and only the bytes the kernel wrote are ever read.
    [SkipLocalsInit]
    public LinkStats64 ReadStats(int nsid, int ifIndex, string name)
    {
        Span<byte> reply = stackalloc byte[NetlinkRouteSocket.LinkReplyBufferSize];
        ReadOnlySpan<byte> body = RequestLink(nsid, ifIndex, reply, out NetlinkHeader header);
        return LinkReply.Stats(header, body, ifIndex, name);
    }

    /// <summary>Device <paramref name="ifIndex"/> of namespace <paramref name="nsid"/>; null when it (or the namespace) is gone.</summary>
    public LinkDescription? GetLink(int nsid, int ifIndex)
    {
        Span<byte> reply = stackalloc byte[NetlinkRouteSocket.LinkReplyBufferSize];
        try
        {
            ReadOnlySpan<byte> body = RequestLink(nsid, ifIndex, reply, out NetlinkHeader header);
            return LinkReply.Decode(header, body);
        }
        catch (NetlinkDeviceGoneException)
        {
            return null;
        }
    }

    private ReadOnlySpan<byte> RequestLink(int nsid, int ifIndex, Span<byte> reply, out NetlinkHeader header)
    {
        uint sequence = _socket.NextSequence();
        Span<byte> request = stackalloc byte[RtmGetLinkTargetedRequest.MaxSize];
        try
        {
            return _socket.Request(request[..RtmGetLinkTargetedRequest.WriteOne(request, sequence, nsid, ifIndex)], reply, sequence,
                TargetedGet, ifIndex, out header);
        }
        catch (NetlinkErrnoException e) when (e.Errno == Errno.EINVAL)
        {
            throw new NetlinkDeviceGoneException(ifIndex);
        }
    }

    /// <summary>
    /// Waits up to the receive timeout for one datagram of notifications and adds its link changes (with the namespace
    /// each came from) and namespace-id changes. False on timeout. An overrun throws <see cref="NetlinkSocketException"/>
    /// with <see cref="NetlinkSocketException.IsOverrun"/>: the caller must re-list.
    /// </summary>
    public bool ReceiveNotifications(ICollection<NamespacedLinkChange> linkChanges, ICollection<NetnsIdChange> idChanges)
    {
        RentedDatagram datagram;
        int? nsid;
        try
        {
            datagram = ReceiveWithNsid(out nsid);
        }
        catch (NetlinkSocketException e) when (e.IsTimeout)
        {
            return false;
        }

        using RentedDatagram _ = datagram;
        DecodeNotifications(datagram.Bytes, nsid, linkChanges, idChanges);
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
    internal bool WaitReadable(WakeupEvent wakeup) => _socket.WaitReadable(wakeup);

    /// <summary>The socket underneath, for tools that send requests of their own (the tests' fixture capture).</summary>
    internal NetlinkSocket Socket => _socket;

    internal uint NextSequence() => _socket.NextSequence();

    public void Dispose() => _socket.Dispose();

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

    private RentedDatagram ReceiveWithNsid(out int? nsid)
    {
        Span<byte> control = stackalloc byte[NetlinkNsidControlMessage.Space * 2];
        RentedDatagram datagram = _socket.ReceiveRented(control, out int controlLength);
        nsid = NetlinkNsidControlMessage.TryReadNsid(control[..controlLength], out int id) ? id : null;
        return datagram;
    }
}
