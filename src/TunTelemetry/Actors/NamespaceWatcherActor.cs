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
/// so in one warning naming the capability and stops looking, and the agent goes on with its own namespace.
/// </remarks>
internal sealed partial class NamespaceWatcherActor : ReceiveActor
{
    private const string MissingCapability =
        "Cannot watch other network namespaces: giving a namespace an id in the agent's own (RTM_NEWNSID) and reading " +
        "its devices need CAP_NET_ADMIN; watching only the agent's own network namespace";

    private readonly IActorRef _aggregator;
    private readonly IActorRef? _readerScanner;
    private readonly IActorRef? _supervisor;
    private readonly TunTelemetryOptions _options;
    private readonly Func<NamespaceScanner> _createScanner;
    private readonly TimeSpan _rescanInterval;
    private readonly Dictionary<NetworkNamespaceId, IActorRef> _pollers = [];
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private NetworkNamespaceId _own;
    private NamespaceWatcher? _watcher;
    private bool _denied;
    private long _started;

    public NamespaceWatcherActor(IActorRef aggregator, TunTelemetryOptions options, Func<NamespaceScanner> createScanner, TimeSpan rescanInterval, IActorRef? readerScanner = null,
        IActorRef? supervisor = null)
    {
        _supervisor = supervisor;
        _aggregator = aggregator;
        _readerScanner = readerScanner;
        _options = options;
        _createScanner = createScanner;
        _rescanInterval = rescanInterval;
        Receive<NamespaceChange>(OnChange);
        Receive<NamespaceAccessDenied>(OnDenied);
        Receive<NamespaceWatchWarning>(m => _log.Warning("{0}", m.Text));
        ReceiveLinkEvents();
    }

    /// <summary>How often namespaces are looked for again when no netns directory changed (a process entering a new namespace makes no file event).</summary>
    public static readonly TimeSpan DefaultRescanInterval = TimeSpan.FromSeconds(5);

    /// <param name="readerScanner">The <see cref="ReaderScanActor"/>, told each namespace's devices; null: nobody.</param>
    /// <param name="supervisor">The <see cref="DeviceSupervisorActor"/>, told the same to run per-device extensions for them; null: nobody.</param>
    public static Props Props(IActorRef aggregator, TunTelemetryOptions options, Func<NamespaceScanner>? createScanner = null, TimeSpan? rescanInterval = null,
        IActorRef? readerScanner = null, IActorRef? supervisor = null) =>
        Akka.Actor.Props.Create(() => new NamespaceWatcherActor(aggregator, options,
            createScanner ?? (() => new NamespaceScanner(NamespaceScanner.DefaultDirectories, "/proc")),
            rescanInterval ?? DefaultRescanInterval, readerScanner, supervisor));

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
            if (!_pollers.ContainsKey(id))
            {
                var ns = new DeviceNamespace(id.Inode, change.Name);
                // A counter in the name: a namespace inode can come back while the old poller is still stopping.
                _pollers[id] = Context.Watch(Context.ActorOf(NamespacePollerActor.Props(change.Namespace, ns, _aggregator, _options, _readerScanner, _supervisor), $"netns-{id.Inode}-{++_started}"));
            }
        }
        else if (_pollers.Remove(id, out IActorRef? poller))
        {
            _log.Info("Network namespace {0} (netns:[{1}]) is gone", change.Name, id.Inode);
            Context.Stop(poller);
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
}
