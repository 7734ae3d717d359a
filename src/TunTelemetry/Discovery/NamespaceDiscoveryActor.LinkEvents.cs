using Akka.Event;
using Microsoft.Win32.SafeHandles;
using TunTelemetry.Netlink;

namespace TunTelemetry.Discovery;

/// <summary>
/// A link event said a TUN/TAP device of this namespace came, changed, went or moved (or a poller found one of its
/// devices gone): list the namespace's devices now rather than at the next listing. Coalesced (<see cref="RereadWindow"/>): at most one listing per <see cref="NamespaceDiscoveryActor.RereadWindowLength"/>.
/// </summary>
internal sealed class RereadNamespace
{
    public static readonly RereadNamespace Instance = new();

    private RereadNamespace()
    {
    }
}

/// <summary>
/// The namespace id may no longer be this actor's: the kernel dropped that id (<c>RTM_DELNSID</c>), or another
/// namespace's actor was given it. The actor asks the kernel for its namespace's id again, and claims it again or stops.
/// </summary>
internal sealed class ConfirmNamespaceId
{
    public static readonly ConfirmNamespaceId Instance = new();

    private ConfirmNamespaceId()
    {
    }
}

/// <summary>
/// What the namespace discovery actor does with link events (<see cref="NamespaceLinkListener"/>, routed to it by
/// <see cref="NamespacesActor"/>): it tells its parent which namespace id it owns, lists again when told a device
/// changed, and, when its id's ownership is in doubt, confirms it with the kernel or stops, its devices told gone at once.
/// </summary>
internal sealed partial class NamespaceDiscoveryActor
{
    /// <summary>The shortest time between two event-driven listings of one namespace: a burst of events costs one dump, then one more at most.</summary>
    public static readonly TimeSpan RereadWindowLength = TimeSpan.FromSeconds(1);

    private readonly RereadWindow _rereads = new(RereadWindowLength);

    private void ReceiveLinkEvents()
    {
        Receive<RereadNamespace>(_ => OnRereadAsked());
        Receive<RereadDue>(_ => Reread());
        Receive<ConfirmNamespaceId>(_ => Confirm());
    }

    /// <summary>Tells the namespaces actor which namespace id this actor lists, so the events carrying it come here.</summary>
    private void ClaimId() => Context.Parent.Tell(new NamespaceIdClaimed(_nsid), Self);

    private void OnRereadAsked()
    {
        switch (_rereads.Request(Context.System.Scheduler.MonotonicClock, out TimeSpan delay))
        {
            case RereadDecision.ReadNow:
                Reread();
                break;
            case RereadDecision.ReadLater:
                Timers.StartSingleTimer(RereadDue.Instance, RereadDue.Instance, delay);
                break;
        }
    }

    private void Reread()
    {
        _rereads.Reading(Context.System.Scheduler.MonotonicClock);
        List();
    }

    /// <summary>
    /// Opens the namespace's file again and asks the kernel its id: still ours, the actor claims it again and lists again
    /// (events with that id were dropped while its ownership was in doubt); otherwise the namespace it watched is gone,
    /// since the kernel drops an id only when its namespace dies, and the actor stops rather than list a namespace that
    /// a reused id now names.
    /// </summary>
    private void Confirm()
    {
        int current;
        try
        {
            if (!NetworkNamespaceId.TryOf(_discovered.OpenPath, out NetworkNamespaceId id, out int errno))
            {
                throw new IOException($"{_discovered.OpenPath}: errno {errno}");
            }

            if (id != _discovered.Id)
            {
                throw new IOException($"{_discovered.OpenPath} now leads to another namespace ({id})");
            }

            using SafeFileHandle file = File.OpenHandle(_discovered.OpenPath);
            current = _socket!.GetId(file);
        }
        catch (Exception e) when (e is NetlinkException or IOException or UnauthorizedAccessException)
        {
            _log.Info("Network namespace {0} (netns:[{1}]) is gone: its id {2} in ours was dropped ({3})", _namespace.Name, _namespace.Inode, _nsid, e.Message);
            Died();
            return;
        }

        if (current != _nsid)
        {
            _log.Info("Network namespace {0} (netns:[{1}]) is gone: its id {2} in ours was dropped", _namespace.Name, _namespace.Inode, _nsid);
            Died();
            return;
        }

        ClaimId();
        OnRereadAsked();
    }

    /// <summary>
    /// Tells the namespaces actor, which must forget the namespace rather than start its discovery again: its inode may be another
    /// namespace's already. Then stops.
    /// </summary>
    private void Died()
    {
        Context.Parent.Tell(NamespaceDied.Instance, Self);
        Context.Stop(Self);
    }

    private sealed class RereadDue
    {
        public static readonly RereadDue Instance = new();

        private RereadDue()
        {
        }
    }
}
