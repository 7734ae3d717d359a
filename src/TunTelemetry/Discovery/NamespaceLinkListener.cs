using TunTelemetry.Hosting;
using TunTelemetry.Netlink;

namespace TunTelemetry.Discovery;

/// <summary>
/// Hears the link events of every namespace that has an id in ours on one socket in the agent's own namespace
/// (<c>RTNLGRP_LINK</c> with <c>NETLINK_LISTEN_ALL_NSID</c>, each message's namespace id in a control message), and the
/// kernel's word that an id was dropped (<c>RTNLGRP_NSID</c>), from a thread of its own that sleeps in <c>poll(2)</c>
/// until the kernel speaks. It reports which namespace ids had a TUN/TAP device created, changed, deleted or moved, so
/// their pollers re-read at once instead of at their next poll.
/// </summary>
/// <remarks>
/// Events of the agent's own namespace come without a control message and are left to <see cref="Devices.TunLinkEvents"/>.
/// When events may have been lost (<c>ENOBUFS</c>: the kernel overran the socket's buffer; or the socket failed and was
/// opened again), it says so once, and the caller re-reads every namespace, since only a full read tells what changed.
/// Callbacks run on the listener's thread, in the kernel's order.
/// </remarks>
internal sealed class NamespaceLinkListener : IDisposable
{
    private readonly Func<RouteSocket> _openSocket;
    private readonly BackoffSettings _backoff;
    private readonly Action<int> _onLinksChanged;
    private readonly Action<int> _onIdDropped;
    private readonly Action<string> _onMissed;
    private readonly WakeupEvent _stop = new();
    private readonly ManualResetEventSlim _stopped = new();
    private RouteSocket? _socket;
    private Thread? _thread;

    /// <param name="onLinksChanged">A TUN/TAP device of the namespace with this id in ours came, changed, went or moved.</param>
    /// <param name="onIdDropped">The kernel dropped this namespace id (its namespace died); it may be given to another.</param>
    /// <param name="onMissed">Events may have been lost, for the reason given: every namespace must be re-read.</param>
    /// <param name="openSocket">Opens the listening socket; the default joins the link and namespace-id groups with <c>NETLINK_LISTEN_ALL_NSID</c>.</param>
    /// <param name="backoff">How long to wait before listening again after a failure (<c>tuntelemetry.backoff</c>; <see cref="BackoffSettings.Default"/> if null).</param>
    public NamespaceLinkListener(Action<int> onLinksChanged, Action<int> onIdDropped, Action<string> onMissed, Func<RouteSocket>? openSocket = null,
        BackoffSettings? backoff = null)
    {
        _backoff = backoff ?? BackoffSettings.Default;
        _onLinksChanged = onLinksChanged;
        _onIdDropped = onIdDropped;
        _onMissed = onMissed;
        _openSocket = openSocket ?? OpenDefault;
    }

    /// <summary>
    /// Opens the socket on the caller's thread, so that a refusal reaches the caller (<see cref="NetlinkSocketException"/>
    /// with <c>EPERM</c> without <c>CAP_NET_BROADCAST</c>), then starts listening.
    /// </summary>
    public void Start()
    {
        _socket = _openSocket();
        _thread = new Thread(Run) { IsBackground = true, Name = "tuntelemetry-netns-links" };
        _thread.Start();
    }

    public void Dispose()
    {
        _stopped.Set();
        _stop.Set();
        _thread?.Join();
        _socket?.Dispose();
        _stop.Dispose();
        _stopped.Dispose();
    }

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

    private void Run()
    {
        int failures = 0; // in a row: a notification received resets it
        var links = new List<NamespacedLinkChange>();
        var ids = new List<NetnsIdChange>();
        var woken = new HashSet<int>();
        while (true)
        {
            try
            {
                if (_socket is null)
                {
                    _socket = _openSocket();
                    _onMissed("the socket was opened again");
                }

                while (_socket.WaitReadable(_stop))
                {
                    links.Clear();
                    ids.Clear();
                    try
                    {
                        _socket.ReceiveNotifications(links, ids);
                    }
                    catch (NetlinkSocketException e) when (e.IsOverrun)
                    {
                        _onMissed("the kernel overran the socket's buffer (ENOBUFS)");
                        continue;
                    }

                    failures = 0;
                    foreach (NetnsIdChange id in ids)
                    {
                        if (!id.Added)
                        {
                            _onIdDropped(id.Nsid);
                        }
                    }

                    woken.Clear();
                    foreach (NamespacedLinkChange change in links)
                    {
                        if (NsidToWake(change) is { } nsid && woken.Add(nsid))
                        {
                            _onLinksChanged(nsid);
                        }
                    }
                }

                return;
            }
            catch (Exception e)
            {
                // Never end the agent over events: the pollers still poll. Listen again after a backoff, then have
                // everything re-read, since events were missed meanwhile.
                _socket?.Dispose();
                _socket = null;
                TimeSpan retryDelay = _backoff.DelayBefore(failures++, Random.Shared.NextDouble());
                _onMissed($"listening failed ({e.Message}); listening again in {retryDelay.TotalSeconds:0.#} s");
                if (_stopped.Wait(retryDelay))
                {
                    return;
                }
            }
        }
    }
}
