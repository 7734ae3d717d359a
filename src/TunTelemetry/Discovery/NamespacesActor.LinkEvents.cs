using Akka.Actor;
using Akka.Event;
using TunTelemetry.Netlink;

namespace TunTelemetry.Discovery;

/// <summary>A namespace discovery lists the namespace with this id in ours (given or confirmed by the kernel); the sender is the discovery.</summary>
internal sealed record NamespaceIdClaimed(int Nsid);

/// <summary>
/// A namespace discovery's namespace died: the kernel dropped its id and its file no longer leads to it (or to the same id).
/// The sender is the discovery, which stops.
/// </summary>
internal sealed class NamespaceDied
{
    public static readonly NamespaceDied Instance = new();

    private NamespaceDied()
    {
    }
}

/// <summary>From the listener: a TUN/TAP device of the namespace with this id in ours came, changed, went or moved.</summary>
internal sealed record NamespaceLinksChanged(int Nsid);

/// <summary>From the listener: the kernel dropped this namespace id (<c>RTM_DELNSID</c>: its namespace died).</summary>
internal sealed record NamespaceIdDropped(int Nsid);

/// <summary>From the listener: link events may have been lost, for this reason; every namespace is read again.</summary>
internal sealed record NamespaceEventsMissed(string Reason);

/// <summary>
/// What the namespaces actor does with the link events of other namespaces: it runs one
/// <see cref="NamespaceLinkListener"/> and routes each event, by the namespace id it carries, to the discovery that owns
/// that id now (<see cref="NamespaceIdRoutes{TOwner}"/>), which re-reads its namespace at once.
/// </summary>
/// <remarks>
/// Namespace ids are reused, so a route lives only as long as its claim: a discovery claims its id when the kernel gives it
/// (and again after confirming it); the route goes when the discovery stops, when the kernel drops the id
/// (<c>RTM_DELNSID</c>, heard on the same socket and so in order with the events), or when another discovery claims the id.
/// An event whose id nobody owns is dropped. Between a namespace's death and its id's reuse no event can carry that id
/// (the kernel tags events only of namespaces that have an id in ours); after the reuse, the new owner's first poll,
/// which follows its claim, covers whatever its events said before the claim reached this actor.
/// </remarks>
internal sealed partial class NamespacesActor
{
    private readonly NamespaceIdRoutes<IActorRef> _routes = new();
    private NamespaceLinkListener? _listener;
    private bool _hearsLinkEvents;

    private void ReceiveLinkEvents()
    {
        Receive<NamespaceIdClaimed>(OnIdClaimed);
        Receive<NamespaceLinksChanged>(m => OnLinksChanged(m.Nsid));
        Receive<NamespaceIdDropped>(m => OnIdDropped(m.Nsid));
        Receive<NamespaceEventsMissed>(m => OnEventsMissed(m.Reason));
        Receive<NamespaceDied>(_ => OnNamespaceDied(Sender));
        Receive<Terminated>(t => OnDiscoveryTerminated(t.ActorRef));
    }

    /// <summary>
    /// Starts hearing link events of every namespace. Without <c>CAP_NET_BROADCAST</c> says so in one line, goes on with
    /// polls alone for devices, and still hears dropped namespace ids, which need no capability.
    /// </summary>
    private void StartListening()
    {
        try
        {
            _listener = StartListener(null);
            _hearsLinkEvents = true;
        }
        catch (NetlinkException e)
        {
            _log.Warning("Cannot hear link events of other network namespaces: NETLINK_LISTEN_ALL_NSID needs CAP_NET_BROADCAST ({0}); " +
                "devices created, deleted or moved there are seen at each namespace's next listing (every {1} s)", e.Message, _options.PollInterval.TotalSeconds);
            try
            {
                _listener = StartListener(NamespaceLinkListener.OpenIdEventsOnly);
            }
            catch (NetlinkException idEvents)
            {
                _log.Warning("Cannot hear dropped namespace ids either ({0}): a namespace that dies is noticed at the next rescan", idEvents.Message);
            }
        }
    }

    private NamespaceLinkListener StartListener(Func<RouteSocket>? openSocket)
    {
        IActorRef self = Self;
        var listener = new NamespaceLinkListener(
            nsid => self.Tell(new NamespaceLinksChanged(nsid)),
            nsid => self.Tell(new NamespaceIdDropped(nsid)),
            reason => self.Tell(new NamespaceEventsMissed(reason)),
            openSocket,
            _options.Backoff);
        try
        {
            listener.Start();
            return listener;
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    private void StopListening()
    {
        _listener?.Dispose();
        _listener = null;
    }

    private void OnIdClaimed(NamespaceIdClaimed claimed)
    {
        DiscoveryStarted(Sender);
        // A discovery that still holds the id was given it before its namespace died: it must confirm, and it will stop.
        _routes.Claim(claimed.Nsid, Sender)?.Tell(ConfirmNamespaceId.Instance);
    }

    private void OnLinksChanged(int nsid)
    {
        if (_routes.TryRoute(nsid, out IActorRef discovery))
        {
            discovery.Tell(RereadNamespace.Instance);
        }
    }

    private void OnIdDropped(int nsid) => _routes.Drop(nsid)?.Tell(ConfirmNamespaceId.Instance);

    private void OnEventsMissed(string reason)
    {
        _log.Warning("Link events of other network namespaces may have been lost ({0}): re-reading all {1} of them", reason, _routes.Count);
        foreach (IActorRef discovery in _routes.Owners)
        {
            discovery.Tell(RereadNamespace.Instance);
        }
    }
}
