using TunTelemetry.Hosting;
using TunTelemetry.Netlink;

namespace TunTelemetry.Discovery;

/// <summary>
/// Hears the link events of every namespace that has an id in ours on one socket in the agent's own namespace
/// (<c>RTNLGRP_LINK</c> with <c>NETLINK_LISTEN_ALL_NSID</c>, each message's namespace id in a control message), and the
/// kernel's word that an id was dropped (<c>RTNLGRP_NSID</c>), through the one <see cref="LinkEventLoop"/>. It reports which namespace ids had a TUN/TAP device created, changed, deleted or moved, so
/// their pollers re-read at once instead of at their next poll.
/// </summary>
/// <remarks>
/// Events of the agent's own namespace come without a control message and are left to <see cref="TunLinkEvents"/>.
/// When events may have been lost (<c>ENOBUFS</c>: the kernel overran the socket's buffer; or the socket failed and was
/// opened again), it says so once, and the caller re-reads every namespace, since only a full read tells what changed.
/// Callbacks run on the loop's thread, in the kernel's order.
/// </remarks>
internal sealed class NamespaceLinkListener : IDisposable, ILinkEventSink
{
    private readonly Func<RouteSocket> _openSocket;
    private readonly Action<int> _onLinksChanged;
    private readonly Action<int> _onIdDropped;
    private readonly Action<string> _onMissed;
    private readonly LinkEventLoop _loop;
    private readonly HashSet<int> _woken = [];

    /// <param name="onLinksChanged">A TUN/TAP device of the namespace with this id in ours came, changed, went or moved.</param>
    /// <param name="onIdDropped">The kernel dropped this namespace id (its namespace died); it may be given to another.</param>
    /// <param name="onMissed">Events may have been lost, for the reason given: every namespace must be re-read.</param>
    /// <param name="openSocket">Opens the listening socket; the default joins the link and namespace-id groups with <c>NETLINK_LISTEN_ALL_NSID</c>.</param>
    /// <param name="backoff">How long to wait before listening again after a failure (<c>tuntelemetry.backoff</c>; <see cref="BackoffSettings.Default"/> if null).</param>
    public NamespaceLinkListener(Action<int> onLinksChanged, Action<int> onIdDropped, Action<string> onMissed, Func<RouteSocket>? openSocket = null,
        BackoffSettings? backoff = null)
    {
        _onLinksChanged = onLinksChanged;
        _onIdDropped = onIdDropped;
        _onMissed = onMissed;
        _openSocket = openSocket ?? OpenDefault;
        _loop = new LinkEventLoop("tuntelemetry-netns-links", _openSocket, backoff ?? BackoffSettings.Default, this);
    }

    /// <summary>
    /// Opens the socket on the caller's thread, so that a refusal reaches the caller (<see cref="NetlinkSocketException"/>
    /// with <c>EPERM</c> without <c>CAP_NET_BROADCAST</c>), then starts listening.
    /// </summary>
    public void Start() => _loop.Start(_openSocket());

    public void Dispose() => _loop.Dispose();

    /// <summary>
    /// The namespace id whose poller a link event concerns: a TUN/TAP device's event from another namespace with an id in
    /// ours; null for our own namespace's events (no control message) and for other kinds of link.
    /// </summary>
    internal static int? NsidToWake(NamespacedLinkChange change) =>
        change.Nsid is >= 0 and int nsid && change.Change.Link.IsTunOrTap ? nsid : null;

    /// <summary>
    /// A socket that hears only that namespace ids are given and dropped (<c>RTNLGRP_NSID</c>, which any user may join):
    /// the fallback without <c>CAP_NET_BROADCAST</c>, so that a poller still stops reading an id its dead namespace left.
    /// </summary>
    internal static RouteSocket OpenIdEventsOnly() => RouteSocket.Open(
        new NetlinkSocketOptions { Groups = NetlinkRouteGroups.NamespaceIds, ReceiveBufferBytes = 1 << 20 });

    private static RouteSocket OpenDefault() => RouteSocket.Open(new NetlinkSocketOptions
    {
        Groups = NetlinkRouteGroups.Link | NetlinkRouteGroups.NamespaceIds,
        ReceiveBufferBytes = 1 << 20,
        ListenAllNamespaces = true,
    });

    void ILinkEventSink.Opened(RouteSocket socket, bool again)
    {
        if (again)
        {
            _onMissed("the socket was opened again");
        }
    }

    void ILinkEventSink.Overrun(RouteSocket socket) => _onMissed("the kernel overran the socket's buffer (ENOBUFS)");

    void ILinkEventSink.Heard(RouteSocket socket, List<NamespacedLinkChange> links, List<NetnsIdChange> ids)
    {
        foreach (NetnsIdChange id in ids)
        {
            if (!id.Added)
            {
                _onIdDropped(id.Nsid);
            }
        }

        _woken.Clear();
        foreach (NamespacedLinkChange change in links)
        {
            if (NsidToWake(change) is { } nsid && _woken.Add(nsid))
            {
                _onLinksChanged(nsid);
            }
        }
    }

    // Never end the agent over events: the pollers still poll. The loop listens again after a backoff, and the reopened
    // socket has everything re-read, since events were missed meanwhile.
    void ILinkEventSink.Failed(Exception error, TimeSpan retryIn) =>
        _onMissed($"listening failed ({error.Message}); listening again in {retryIn.TotalSeconds:0.#} s");
}
