using Akka.Actor;
using Akka.Event;
using TunTelemetry.Devices;
using TunTelemetry.Hosting;
using TunTelemetry.Supervision;

namespace TunTelemetry.Discovery;

/// <summary>
/// With <c>--all-namespaces</c>: follows the host's network namespaces (<see cref="NamespaceFinder"/>, on a thread of
/// its own) and keeps one <see cref="NamespaceDiscoveryActor"/> per namespace other than the agent's own, which lists
/// its devices to the device supervisor; the supervisor watches them as it watches the agent's own, a discovery and the
/// extensions per device. A namespace that goes has its discovery stopped, which retires its devices: their series
/// leave after <c>metrics.retain-deleted</c>.
/// </summary>
/// <remarks>
/// Without <c>CAP_NET_ADMIN</c> no other namespace can be read (the kernel refuses <c>RTM_NEWNSID</c>): the actor says
/// so in one warning naming the capability and stops looking, and the agent goes on with its own namespace. A discovery
/// actor that fails to start (it throws: it could not open its socket or the namespace's file: no descriptor left, or the namespace
/// going) is stopped by this actor's strategy and started again with <c>tuntelemetry.backoff</c> for as long as scans still find its namespace, never left
/// stopped for good; one that found its namespace dead (<see cref="NamespaceDied"/>) is not, and its namespace is gone.
/// </remarks>
internal sealed partial class NamespacesActor : ReceiveActor, IWithTimers
{
    private const string MissingCapability =
        "Cannot watch other network namespaces: giving a namespace an id in the agent's own (RTM_NEWNSID) and reading " +
        "its devices need CAP_NET_ADMIN; watching only the agent's own network namespace";

    private readonly TunTelemetryOptions _options;
    private readonly Func<NamespaceScanner> _createScanner;
    private readonly TimeSpan _rescanInterval;
    private readonly Dictionary<NetworkNamespaceId, IActorRef> _discoveries = [];
    private readonly Dictionary<IActorRef, NetworkNamespaceId> _namespaceOf = [];
    private readonly Dictionary<NetworkNamespaceId, NamespaceChange> _present = []; // as the last scan that found it said
    private readonly Dictionary<NetworkNamespaceId, int> _failedStarts = [];
    private readonly Func<DiscoveredNamespace, DeviceNamespace, int, Props> _discoveryProps;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private NetworkNamespaceId _own;
    private NamespaceFinder? _finder;
    private bool _denied;
    private long _started;

    public NamespacesActor(IActorRef supervisor, TunTelemetryOptions options, Func<NamespaceScanner> createScanner, TimeSpan rescanInterval,
        Func<DiscoveredNamespace, DeviceNamespace, int, Props>? discoveryProps = null)
    {
        // Without link events a namespace's devices are listed every poll interval, as often as they are read.
        _discoveryProps = discoveryProps
            ?? ((discovered, ns, attempt) => NamespaceDiscoveryActor.Props(discovered, ns, supervisor, options,
                _hearsLinkEvents ? NamespaceDiscoveryActor.RelistInterval : options.PollInterval, attempt));
        _options = options;
        _createScanner = createScanner;
        _rescanInterval = rescanInterval;
        Receive<NamespaceChange>(OnChange);
        Receive<NamespaceAccessDenied>(OnDenied);
        Receive<NamespaceWatchWarning>(m => _log.Warning("{0}", m.Text));
        Receive<RestartDiscovery>(m => StartDiscovery(m.Id));
        ReceiveLinkEvents();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>How often namespaces are looked for again when no netns directory changed (a process entering a new namespace makes no file event).</summary>
    public static readonly TimeSpan DefaultRescanInterval = TimeSpan.FromSeconds(5);

    /// <param name="supervisor">The <see cref="DeviceSupervisorActor"/>, told each namespace's devices.</param>
    /// <param name="discoveryProps">Each namespace's discovery, given the failed starts before it; null: <see cref="NamespaceDiscoveryActor"/>.</param>
    public static Props Props(IActorRef supervisor, TunTelemetryOptions options, Func<NamespaceScanner>? createScanner = null, TimeSpan? rescanInterval = null,
        Func<DiscoveredNamespace, DeviceNamespace, int, Props>? discoveryProps = null) =>
        Akka.Actor.Props.Create(() => new NamespacesActor(supervisor, options,
            createScanner ?? (() => new NamespaceScanner(NamespaceScanner.DefaultDirectories, "/proc")),
            rescanInterval ?? DefaultRescanInterval, discoveryProps));

    // A discovery that fails (it could not open its socket or its namespace's file) is stopped, not restarted at once:
    // its Terminated starts another after the backoff while scans still find the namespace. It has said why itself.
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(-1, -1, _ => Directive.Stop, loggingEnabled: false);

    protected override void PreStart()
    {
        if (!EffectiveCapabilities.Has(EffectiveCapabilities.NetAdmin))
        {
            _denied = true;
            _log.Warning(MissingCapability);
            return;
        }

        _ = NetworkNamespaceId.TryOf("/proc/self/ns/net", out _own, out _);
        StartListening(); // before any discovery gives a namespace an id, so no event after its first listing goes unheard
        IActorRef self = Self;
        _finder = new NamespaceFinder(_createScanner(), _rescanInterval,
            change => self.Tell(change), text => self.Tell(new NamespaceWatchWarning(text)));
        _finder.Start();
    }

    protected override void PostStop()
    {
        _finder?.Dispose();
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
            // Also a namespace seen again under a bind mount: a discovery waiting to be started again takes the new path
            // at once; one that runs keeps its name (its series keep theirs).
            _present[id] = change;
            if (!_discoveries.ContainsKey(id))
            {
                Timers.Cancel(id);
                StartDiscovery(id);
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
        if (_discoveries.Remove(id, out IActorRef? discovery))
        {
            _log.Info("Network namespace {0} (netns:[{1}]) is gone", name, id.Inode);
            Context.Stop(discovery);
        }
    }

    /// <summary>
    /// The discovery found its namespace dead before any scan did, which a scan may never do: the kernel gives the freed
    /// inode to the next namespace made, and a scan that finds it taken again cannot always tell the new namespace
    /// from the dead one (no bind mounts to compare, when processes hold them). Left known, the dead one would be
    /// started again for ever on a path that leads nowhere and the new one never watched; so it is gone now, and the
    /// scans forget it: whatever they find at its inode from then on appears as a namespace of its own.
    /// </summary>
    private void OnNamespaceDied(IActorRef discovery)
    {
        if (!_namespaceOf.TryGetValue(discovery, out NetworkNamespaceId id) || !_discoveries.TryGetValue(id, out IActorRef? current) || !current.Equals(discovery))
        {
            return; // stopped by this actor already: a scan found its namespace gone first
        }

        Gone(id, _present.TryGetValue(id, out NamespaceChange? last) ? last.Name : id.ToString());
        _finder?.Forget(id);
    }

    private void StartDiscovery(NetworkNamespaceId id)
    {
        if (_denied || _discoveries.ContainsKey(id) || !_present.TryGetValue(id, out NamespaceChange? change))
        {
            return; // gone while the restart waited
        }

        var ns = new DeviceNamespace(id.Inode, change.Name);
        // A counter in the name: a namespace inode can come back while the old discovery is still stopping.
        IActorRef discovery = Context.Watch(Context.ActorOf(_discoveryProps(change.Namespace, ns, _failedStarts.GetValueOrDefault(id)), $"netns-{id.Inode}-{++_started}"));
        _discoveries[id] = discovery;
        _namespaceOf[discovery] = id;
    }

    private void OnDiscoveryTerminated(IActorRef discovery)
    {
        _routes.Release(discovery);
        if (!_namespaceOf.Remove(discovery, out NetworkNamespaceId id) || !_discoveries.TryGetValue(id, out IActorRef? current) || !current.Equals(discovery))
        {
            return; // stopped by this actor: its namespace went, or access was denied
        }

        // It failed to start, before claiming its namespace's id (it claims once it is watching).
        _discoveries.Remove(id);
        int failed = _failedStarts[id] = _failedStarts.GetValueOrDefault(id) + 1;
        if (!_denied && _present.ContainsKey(id))
        {
            TimeSpan delay = _options.Backoff.DelayBefore(failed - 1, Random.Shared.NextDouble());
            _log.Debug("Starting a discovery of network namespace netns:[{0}] again in {1:0.0#}s", id.Inode, delay.TotalSeconds);
            Timers.StartSingleTimer(id, new RestartDiscovery(id), delay);
        }
    }

    // A discovery watching its namespace claims its id: its earlier failed starts no longer count towards the backoff.
    private void DiscoveryStarted(IActorRef discovery)
    {
        if (_namespaceOf.TryGetValue(discovery, out NetworkNamespaceId id))
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
        foreach (IActorRef discovery in _discoveries.Values)
        {
            Context.Stop(discovery);
        }

        _discoveries.Clear();
        _finder?.Dispose();
        _finder = null;
        StopListening();
    }

    private sealed record NamespaceWatchWarning(string Text);

    private sealed record RestartDiscovery(NetworkNamespaceId Id);
}
