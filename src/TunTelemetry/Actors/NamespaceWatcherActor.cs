using Akka.Actor;
using Akka.Event;
using TunTelemetry.Devices;
using TunTelemetry.Hosting;
using TunTelemetry.Namespaces;

namespace TunTelemetry.Actors;

/// <summary>
/// With <c>--all-namespaces</c>: follows the host's network namespaces (<see cref="NamespaceWatcher"/>, on a thread of
/// its own) and keeps one <see cref="NamespacePollerActor"/> per namespace other than the agent's own, which reads its
/// devices and tells the device supervisor which they are (it runs the per-device extensions for them); the agent's
/// own devices the supervisor's per-device pollers watch as always. A namespace that goes has its poller stopped, which
/// retires its devices: their series leave after <c>metrics.retain-deleted</c>.
/// </summary>
/// <remarks>
/// Without <c>CAP_NET_ADMIN</c> no other namespace can be read (the kernel refuses <c>RTM_NEWNSID</c>): the actor says
/// so in one warning naming the capability and stops looking, and the agent goes on with its own namespace. A poller
/// that stops on its own (it could not open its socket or the namespace's file: no descriptor left, or the namespace
/// going) is started again with <c>tuntelemetry.backoff</c> for as long as scans still find its namespace, never left
/// stopped for good; one that found its namespace dead (<see cref="NamespaceDied"/>) is not, and its namespace is gone.
/// </remarks>
internal sealed partial class NamespaceWatcherActor : ReceiveActor, IWithTimers
{
    private const string MissingCapability =
        "Cannot watch other network namespaces: giving a namespace an id in the agent's own (RTM_NEWNSID) and reading " +
        "its devices need CAP_NET_ADMIN; watching only the agent's own network namespace";

    private readonly TunTelemetryOptions _options;
    private readonly Func<NamespaceScanner> _createScanner;
    private readonly TimeSpan _rescanInterval;
    private readonly Dictionary<NetworkNamespaceId, IActorRef> _pollers = [];
    private readonly Dictionary<IActorRef, NetworkNamespaceId> _namespaceOf = [];
    private readonly Dictionary<NetworkNamespaceId, NamespaceChange> _present = []; // as the last scan that found it said
    private readonly Dictionary<NetworkNamespaceId, int> _failedStarts = [];
    private readonly Func<DiscoveredNamespace, DeviceNamespace, int, Props> _pollerProps;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private NetworkNamespaceId _own;
    private NamespaceWatcher? _watcher;
    private bool _denied;
    private long _started;

    public NamespaceWatcherActor(IActorRef aggregator, TunTelemetryOptions options, Func<NamespaceScanner> createScanner, TimeSpan rescanInterval, IActorRef? readerScanner = null,
        IActorRef? supervisor = null, Func<DiscoveredNamespace, DeviceNamespace, int, Props>? pollerProps = null)
    {
        _pollerProps = pollerProps
            ?? ((discovered, ns, attempt) => NamespacePollerActor.Props(discovered, ns, aggregator, options, readerScanner, supervisor, attempt));
        _options = options;
        _createScanner = createScanner;
        _rescanInterval = rescanInterval;
        Receive<NamespaceChange>(OnChange);
        Receive<NamespaceAccessDenied>(OnDenied);
        Receive<NamespaceWatchWarning>(m => _log.Warning("{0}", m.Text));
        Receive<RestartPoller>(m => StartPoller(m.Id));
        ReceiveLinkEvents();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>How often namespaces are looked for again when no netns directory changed (a process entering a new namespace makes no file event).</summary>
    public static readonly TimeSpan DefaultRescanInterval = TimeSpan.FromSeconds(5);

    /// <param name="readerScanner">The <see cref="ReaderScanActor"/>, told each namespace's devices; null: nobody.</param>
    /// <param name="supervisor">The <see cref="DeviceSupervisorActor"/>, told the same to run per-device extensions for them; null: nobody.</param>
    /// <param name="pollerProps">Each namespace's poller, given the failed starts before it; null: <see cref="NamespacePollerActor"/>.</param>
    public static Props Props(IActorRef aggregator, TunTelemetryOptions options, Func<NamespaceScanner>? createScanner = null, TimeSpan? rescanInterval = null,
        IActorRef? readerScanner = null, IActorRef? supervisor = null, Func<DiscoveredNamespace, DeviceNamespace, int, Props>? pollerProps = null) =>
        Akka.Actor.Props.Create(() => new NamespaceWatcherActor(aggregator, options,
            createScanner ?? (() => new NamespaceScanner(NamespaceScanner.DefaultDirectories, "/proc")),
            rescanInterval ?? DefaultRescanInterval, readerScanner, supervisor, pollerProps));

    protected override void PreStart()
    {
        if (!EffectiveCapabilities.Has(EffectiveCapabilities.NetAdmin))
        {
            _denied = true;
            _log.Warning(MissingCapability);
            return;
        }

        _ = NetworkNamespaceId.TryOf("/proc/self/ns/net", out _own, out _);
        StartListening(); // before any poller gives a namespace an id, so no event after its first poll goes unheard
        IActorRef self = Self;
        _watcher = new NamespaceWatcher(_createScanner(), _rescanInterval,
            change => self.Tell(change), text => self.Tell(new NamespaceWatchWarning(text)));
        _watcher.Start();
    }

    protected override void PostStop()
    {
        _watcher?.Dispose();
        StopListening();
    }

    private void OnChange(NamespaceChange change)
    {
        NetworkNamespaceId id = change.Namespace.Id;
        if (id == _own || _denied)
        {
            return;
        }

        if (change.Kind == NamespaceChangeKind.Appeared)
        {
            // Also a namespace seen again under a bind mount: a poller waiting to be started again takes the new path
            // at once; one that runs keeps its name (its series keep theirs).
            _present[id] = change;
            if (!_pollers.ContainsKey(id))
            {
                Timers.Cancel(id);
                StartPoller(id);
            }

            return;
        }

        Gone(id, change.Name);
    }

    private void Gone(NetworkNamespaceId id, string name)
    {
        _present.Remove(id);
        _failedStarts.Remove(id);
        Timers.Cancel(id);
        if (_pollers.Remove(id, out IActorRef? poller))
        {
            _log.Info("Network namespace {0} (netns:[{1}]) is gone", name, id.Inode);
            Context.Stop(poller);
        }
    }

    /// <summary>
    /// The poller found its namespace dead before any scan did, which a scan may never do: the kernel gives the freed
    /// inode to the next namespace made, and a scan that finds it taken again cannot always tell the new namespace
    /// from the dead one (no bind mounts to compare, when processes hold them). Left known, the dead one would be
    /// started again for ever on a path that leads nowhere and the new one never watched; so it is gone now, and the
    /// scans forget it: whatever they find at its inode from then on appears as a namespace of its own.
    /// </summary>
    private void OnNamespaceDied(IActorRef poller)
    {
        if (!_namespaceOf.TryGetValue(poller, out NetworkNamespaceId id) || !_pollers.TryGetValue(id, out IActorRef? current) || !current.Equals(poller))
        {
            return; // stopped by this actor already: a scan found its namespace gone first
        }

        Gone(id, _present.TryGetValue(id, out NamespaceChange? last) ? last.Name : id.ToString());
        _watcher?.Forget(id);
    }

    private void StartPoller(NetworkNamespaceId id)
    {
        if (_denied || _pollers.ContainsKey(id) || !_present.TryGetValue(id, out NamespaceChange? change))
        {
            return; // gone while the restart waited
        }

        var ns = new DeviceNamespace(id.Inode, change.Name);
        // A counter in the name: a namespace inode can come back while the old poller is still stopping.
        IActorRef poller = Context.Watch(Context.ActorOf(_pollerProps(change.Namespace, ns, _failedStarts.GetValueOrDefault(id)), $"netns-{id.Inode}-{++_started}"));
        _pollers[id] = poller;
        _namespaceOf[poller] = id;
    }

    private void OnPollerTerminated(IActorRef poller)
    {
        _routes.Release(poller);
        if (!_namespaceOf.Remove(poller, out NetworkNamespaceId id) || !_pollers.TryGetValue(id, out IActorRef? current) || !current.Equals(poller))
        {
            return; // stopped by this actor: its namespace went, or access was denied
        }

        // It stopped on its own, before claiming its namespace's id (it claims once it is watching).
        _pollers.Remove(id);
        int failed = _failedStarts[id] = _failedStarts.GetValueOrDefault(id) + 1;
        if (!_denied && _present.ContainsKey(id))
        {
            TimeSpan delay = _options.Backoff.DelayBefore(failed - 1, Random.Shared.NextDouble());
            _log.Debug("Starting a poller of network namespace netns:[{0}] again in {1:0.0#}s", id.Inode, delay.TotalSeconds);
            Timers.StartSingleTimer(id, new RestartPoller(id), delay);
        }
    }

    // A poller watching its namespace claims its id: its earlier failed starts no longer count towards the backoff.
    private void PollerStarted(IActorRef poller)
    {
        if (_namespaceOf.TryGetValue(poller, out NetworkNamespaceId id))
        {
            _failedStarts.Remove(id);
        }
    }

    private void OnDenied(NamespaceAccessDenied denied)
    {
        if (_denied)
        {
            return;
        }

        _denied = true;
        _log.Warning(MissingCapability + " (the kernel answered: {0})", denied.Reason);
        foreach (IActorRef poller in _pollers.Values)
        {
            Context.Stop(poller);
        }

        _pollers.Clear();
        _watcher?.Dispose();
        _watcher = null;
        StopListening();
    }

    private sealed record NamespaceWatchWarning(string Text);

    private sealed record RestartPoller(NetworkNamespaceId Id);
}
