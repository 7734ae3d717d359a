using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using Microsoft.Win32.SafeHandles;
using TunTelemetry.Devices;
using TunTelemetry.Hosting;
using TunTelemetry.Metrics;
using TunTelemetry.Namespaces;
using TunTelemetry.Netlink;

namespace TunTelemetry.Actors;

/// <summary>The kernel refused to give a namespace an id in ours (<c>EPERM</c>): the agent lacks <c>CAP_NET_ADMIN</c>.</summary>
internal sealed record NamespaceAccessDenied(DeviceNamespace Namespace, string Reason);

/// <summary>
/// Watches the TUN devices of one network namespace other than the agent's own: gives it an id in ours once
/// (<c>RTM_NEWNSID</c>), then every poll interval reads all its TUN devices' counters with one targeted
/// <c>RTM_GETLINK</c> dump (<see cref="NetnsRouteSocket.ReadTunStats"/>) and hands each to the aggregator as a
/// <see cref="LinkStatsSampled"/> of a device carrying its namespace. Devices that leave the dump are retired, and all
/// of them when the actor stops (the namespace went). Why one dump per namespace rather than a poller per device:
/// docs/design.md, "Other network namespaces".
/// </summary>
/// <remarks>
/// Holds one netlink socket in the agent's own namespace and no descriptor of the watched namespace (the namespace file
/// is closed once the id is given): either would keep a dead namespace alive. A failed dump is logged and retried at the
/// next tick; a namespace that died is stopped by <see cref="NamespaceWatcherActor"/> when its scan no longer finds it,
/// or at once when the kernel drops its id (NamespacePollerActor.LinkEvents.cs).
/// </remarks>
internal sealed partial class NamespacePollerActor : ReceiveActor, IWithTimers
{
    private readonly DiscoveredNamespace _discovered;
    private readonly DeviceNamespace _namespace;
    private readonly IActorRef _aggregator;
    private readonly IActorRef? _readerScanner;
    private readonly IActorRef? _supervisor;
    private readonly TunTelemetryOptions _options;
    private readonly NamespaceDeviceTable _devices;
    private readonly List<LinkStatsReading> _readings = [];
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private NetnsRouteSocket? _socket;
    private int _nsid;
    private string? _lastFailure;
    private int _watched;
    private readonly int _attempt;
    private TunDevice[]? _listedToReaders;

    /// <param name="readerScanner">Told this namespace's devices when they change (<see cref="ReaderScanActor"/>); null: nobody.</param>
    /// <param name="supervisor">
    /// The <see cref="DeviceSupervisorActor"/>, told the same (<see cref="NamespaceDevicesChanged"/>) to run the
    /// per-device extensions for them; null: nobody.
    /// </param>
    /// <param name="attempt">How many pollers of this namespace failed to start before this one (0: none).</param>
    public NamespacePollerActor(DiscoveredNamespace discovered, DeviceNamespace ns, IActorRef aggregator, TunTelemetryOptions options, IActorRef? readerScanner = null,
        IActorRef? supervisor = null, int attempt = 0)
    {
        _attempt = attempt;
        _supervisor = supervisor;
        _discovered = discovered;
        _namespace = ns;
        _aggregator = aggregator;
        _readerScanner = readerScanner;
        _options = options;
        _devices = new NamespaceDeviceTable(ns, options.Devices);
        Receive<PollNamespace>(_ => Poll());
        // A statement, not an expression: Receive<T>(Func<T, bool>) would take Observe's answer for "handled".
        Receive<ObserveLinks>(_ => { Observe(); });
        ReceiveLinkEvents();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(DiscoveredNamespace discovered, DeviceNamespace ns, IActorRef aggregator, TunTelemetryOptions options, IActorRef? readerScanner = null,
        IActorRef? supervisor = null, int attempt = 0) =>
        Akka.Actor.Props.Create(() => new NamespacePollerActor(discovered, ns, aggregator, options, readerScanner, supervisor, attempt)).WithDispatcher(options.NetlinkDispatcher);

    protected override void PreStart()
    {
        try
        {
            _socket = NetnsRouteSocket.Open(_options.RequestSocket);
            using SafeFileHandle file = File.OpenHandle(_discovered.OpenPath);
            _nsid = _socket.AssignId(file);
        }
        catch (NetlinkErrnoException e) when (e.Errno == Errno.EPERM)
        {
            Context.Parent.Tell(new NamespaceAccessDenied(_namespace, e.Message));
            Context.Stop(Self);
            return;
        }
        catch (Exception e) when (e is NetlinkException or IOException or UnauthorizedAccessException)
        {
            // Most often the namespace went between the scan and now, and the watcher's next scan says so; else (no
            // descriptor left, say) the watcher starts another poller with the backoff while the namespace is there.
            // Said once, not at every retry.
            if (_attempt == 0)
            {
                _log.Warning("Cannot watch network namespace {0} (netns:[{1}]), retrying with the backoff while it exists: {2}", _namespace.Name, _namespace.Inode, e.Message);
            }
            else
            {
                _log.Debug("Cannot watch network namespace {0} (netns:[{1}]), attempt {2}: {3}", _namespace.Name, _namespace.Inode, _attempt + 1, e.Message);
            }

            Context.Stop(Self);
            return;
        }

        _log.Info("Watching network namespace {0} (netns:[{1}], id {2} in ours)", _namespace.Name, _namespace.Inode, _nsid);
        ClaimId();
        Self.Tell(PollNamespace.Instance);
        Timers.StartPeriodicTimer(PollNamespace.Instance, PollNamespace.Instance, _options.PollInterval);
        if (_options.LinkStateMetrics)
        {
            // After the first poll (messages are handled in order), so its devices have their gauges at once.
            Self.Tell(ObserveLinks.Instance);
            Timers.StartPeriodicTimer(ObserveLinks.Instance, ObserveLinks.Instance, _options.LinkStateInterval);
        }
    }

    protected override void PostStop()
    {
        foreach (TunDevice device in _devices.Devices)
        {
            _aggregator.Tell(new DeviceRetired(device));
        }

        if (_watched != 0)
        {
            _aggregator.Tell(new NamespaceDevicesWatched(_namespace.Inode, 0));
        }

        if (_listedToReaders is not null)
        {
            _readerScanner?.Tell(new NamespaceDevicesUnlisted(_namespace.Inode));
            _supervisor?.Tell(new NamespaceDevicesChanged(_namespace, [])); // their extension actors stop
        }

        _socket?.Dispose();
    }

    private void Poll()
    {
        NetnsRouteSocket socket = _socket!;
        long start = Stopwatch.GetTimestamp();
        List<(TunDevice Device, LinkStats64 Stats)> found;
        List<TunDevice> left;
        try
        {
            _readings.Clear();
            socket.ReadTunStats(_nsid, _readings);
            (found, left) = _devices.Update(_readings, () => socket.DumpLinks(_nsid, tunOnly: true));
        }
        catch (NetlinkException e)
        {
            // Logged once per distinct failure, not every interval: a namespace that is going fails until the scan sees it.
            if (e.Message != _lastFailure)
            {
                _lastFailure = e.Message;
                _log.Warning("Reading network namespace {0} (netns:[{1}]) failed, retrying every poll: {2}", _namespace.Name, _namespace.Inode, e.Message);
            }

            // Counted per device like a poller's failure: each of them missed this reading.
            foreach (TunDevice device in _devices.Devices)
            {
                _aggregator.Tell(new PollFailed(device, e.Reason));
            }

            return;
        }

        _lastFailure = null;
        // Each device's share of the dump; only readings that changed are told (the table keeps the last of each).
        TimeSpan perDevice = _devices.Count == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(start) / _devices.Count;
        foreach ((TunDevice device, LinkStats64 stats) in found)
        {
            _aggregator.Tell(new LinkStatsSampled(device, stats, perDevice));
        }

        foreach (TunDevice device in left)
        {
            _log.Info("{0} left network namespace {1}", device, _namespace.Name);
            _aggregator.Tell(new DeviceRetired(device));
        }

        if (_devices.Count != _watched)
        {
            _watched = _devices.Count;
            _aggregator.Tell(new NamespaceDevicesWatched(_namespace.Inode, _watched));
        }

        ListDevices(membershipMayHaveChanged: found.Count > 0 || left.Count > 0);
    }

    /// <summary>
    /// Tells the reader scan and the device supervisor this namespace's devices when they differ from the last told (the
    /// first time even when there are none: they then know this namespace's devices). The set can change only when a
    /// poll found a new device (its first reading is always returned) or lost one, so an idle poll compares nothing and
    /// allocates nothing. All devices are told, not the poll's readings: those hold only what changed.
    /// </summary>
    private void ListDevices(bool membershipMayHaveChanged)
    {
        if ((_readerScanner is null && _supervisor is null) || (_listedToReaders is not null && !membershipMayHaveChanged))
        {
            return;
        }

        TunDevice[] now = _devices.Devices.ToArray();
        if (_listedToReaders is not null && now.Length == _listedToReaders.Length && now.All(d => Array.IndexOf(_listedToReaders, d) >= 0))
        {
            return;
        }

        _listedToReaders = now;
        _readerScanner?.Tell(new NamespaceDevicesListed(_namespace.Inode, _listedToReaders));
        _supervisor?.Tell(new NamespaceDevicesChanged(_namespace, _listedToReaders));
    }

    /// <summary>
    /// The link-state gauges (MTU, txqueuelen, operational state, up, queues) of every device, from one link list of
    /// the namespace, as the per-device link-state actor gives them in ours; a device renamed since is retired here
    /// (true when one was, so that the next poll finds it under its new name).
    /// </summary>
    private bool Observe()
    {
        List<(TunDevice Device, LinkDescription Link)> observed;
        List<TunDevice> renamed;
        try
        {
            (observed, renamed) = _devices.Observe(_socket!.DumpLinks(_nsid, tunOnly: true));
        }
        catch (NetlinkException e)
        {
            _log.Debug("Listing the links of network namespace {0} failed: {1}", _namespace.Name, e.Message);
            return false;
        }

        foreach ((TunDevice device, LinkDescription link) in observed)
        {
            (uint, uint)? queues = link.Tun is { MultiQueue: true, Queues: { } enabled } tun ? (enabled, tun.DisabledQueues ?? 0) : null;
            _aggregator.Tell(new LinkStateObserved(device,
                new LinkStateObservation(link.Mtu, link.TxQueueLength, link.OperState, link.IsUpWithCarrier, queues)));
        }

        foreach (TunDevice device in renamed)
        {
            _log.Info("{0} was renamed in network namespace {1}", device, _namespace.Name);
            _aggregator.Tell(new DeviceRetired(device));
        }

        ListDevices(membershipMayHaveChanged: renamed.Count > 0);
        return renamed.Count > 0;
    }

    private sealed class ObserveLinks
    {
        public static readonly ObserveLinks Instance = new();

        private ObserveLinks()
        {
        }
    }

    private sealed class PollNamespace
    {
        public static readonly PollNamespace Instance = new();

        private PollNamespace()
        {
        }
    }
}
