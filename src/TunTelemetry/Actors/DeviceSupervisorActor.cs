using Akka.Actor;
using Akka.Actor.Internal;
using Akka.Event;
using TunTelemetry.Devices;
using TunTelemetry.Hosting;
using TunTelemetry.Netlink;
using TunTelemetry.Supervision;

namespace TunTelemetry.Actors;

/// <summary>A per-device actor found its device gone (the kernel answered ENODEV).</summary>
public sealed record DeviceVanished(TunDevice Device);

/// <summary>
/// A per-device actor tells its supervisor (<see cref="PerDeviceActorContext.Supervisor"/>, with itself as the sender)
/// that it did its work, for example a poll that returned counters. Its earlier failures are then forgotten: the next
/// failure waits <c>backoff.min</c> again. Once after each start is enough.
/// </summary>
public sealed class PerDeviceActorSucceeded
{
    public static readonly PerDeviceActorSucceeded Instance = new();

    private PerDeviceActorSucceeded()
    {
    }
}

/// <summary>Asks the supervisor which devices it watches; answered with <see cref="WatchedDevices"/>.</summary>
public sealed class GetWatchedDevices
{
    public static readonly GetWatchedDevices Instance = new();

    private GetWatchedDevices()
    {
    }
}

/// <summary>The watched devices of every namespace: the agent's own first, then each other's by namespace and ifindex.</summary>
/// <param name="Devices">Devices whose actors all run (none given up).</param>
public sealed record WatchedDevices(IReadOnlyList<TunDevice> Devices, IReadOnlyList<TunDevice> GivenUp);

/// <summary>Asks the supervisor how often each per-device actor has been restarted; answered with <see cref="RestartCounts"/>.</summary>
public sealed class GetRestartCounts
{
    public static readonly GetRestartCounts Instance = new();

    private GetRestartCounts()
    {
    }
}

/// <param name="Restarts">
/// Per device and actor kind, the failures in a row: restarts since the actor last said it succeeded
/// (<see cref="PerDeviceActorSucceeded"/>); a count goes up when the restart is scheduled, before its delay.
/// </param>
public sealed record RestartCounts(IReadOnlyList<(TunDevice Device, string Kind, int Restarts)> Restarts);

/// <summary>
/// A namespace's devices now, as its discovery listed them (<see cref="NamespaceDiscoveryActor"/>, with
/// <c>--all-namespaces</c>); <see cref="Ended"/> (and empty) when the discovery stops (its namespace went). The
/// supervisor watches each device as it watches the agent's own, and retires those no longer listed.
/// </summary>
internal sealed record NamespaceDevicesChanged(DeviceNamespace Namespace, IReadOnlyList<TunDevice> Devices)
{
    public bool Ended { get; init; }
}

/// <summary>
/// Owns the set of watched devices: follows discovery (<see cref="TunDeviceEvent"/>s), starts every registered
/// per-device actor (the poller first) for each device, and stops them when the device goes. Only after all of a
/// device's actors have stopped does it tell the aggregator to forget the device, so no late reading can resurrect a
/// baseline. Devices are keyed by (namespace, ifindex): with <c>--all-namespaces</c> the devices of other namespaces,
/// listed by their discovery (<see cref="NamespaceDevicesChanged"/>), are watched alike, under the same backoff and
/// retirement rules.
/// </summary>
/// <remarks>
/// A per-device actor that throws is stopped and started again after a backoff (<see cref="BackoffSettings"/>); only
/// failures in a row back off (<see cref="FailureStreak"/>), and their log lines are rate-limited
/// (<see cref="FailureLogLimiter{TKey}"/>). The supervisor does that itself rather than putting a <c>BackoffSupervisor</c> above each actor: at 10,000 devices those
/// were 10,000 more actors and about 13 MB.
/// </remarks>
public sealed class DeviceSupervisorActor : ReceiveActor, IWithTimers
{
    private readonly TunTelemetryOptions _options;
    private readonly IActorRef _aggregator;
    private readonly IReadOnlyList<PerDeviceActorRegistration> _registrations;
    private readonly Func<TunDeviceWatcher>? _createWatcher;
    private readonly Func<string, TunDevice?>? _resolveByName;
    private readonly IActorRef? _readerScanner;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<(ulong? Netns, int IfIndex), DeviceEntry> _active = [];
    private readonly Dictionary<IActorRef, PerDeviceChild> _actors = [];

    // One line per device's actor per minute, and a few dozen a minute overall: 10,000 failing devices must not flood
    // a journal. Every failure is still counted in tuntelemetry.poll.failures and tuntelemetry.poller.restarts.
    private readonly FailureLogLimiter<PerDeviceChild> _failureLog = FailureLogLimiter<PerDeviceChild>.PerMinute(linesPerMinute: 30);

    // Devices some of whose actors could not open a socket for want of descriptors: said in one line when it begins, on
    // each change (at most once a minute) and when it ends, never per device and retry.
    private readonly DescriptorShortage<TunDevice> _shortage = DescriptorShortage<TunDevice>.PerMinute();

    // Actors waiting for a descriptor, oldest first: one is started early whenever a retired device's actor has stopped
    // (and closed its socket). Stale entries (started since, or retired) are skipped when taken.
    private readonly Queue<PerDeviceChild> _waitingForDescriptors = [];
    private bool _shortageReportScheduled;
    private int _devicesWaiting;

    // Devices listed together whose start is spread over the poll interval (tuntelemetry.poll-spread).
    private readonly Dictionary<int, TunDevice> _pending = [];
    private readonly CancellationTokenSource _stopWatching = new();
    private long _generation;

    // Each other namespace's discovery, by namespace inode: asked to list again when a poller finds a device gone.
    private readonly Dictionary<ulong, IActorRef> _listers = [];

    public DeviceSupervisorActor(
        TunTelemetryOptions options,
        IActorRef aggregator,
        IReadOnlyList<PerDeviceActorRegistration> registrations,
        Func<TunDeviceWatcher>? createWatcher,
        Func<string, TunDevice?>? resolveByName,
        IActorRef? readerScanner = null)
    {
        _options = options;
        _readerScanner = readerScanner;
        _aggregator = aggregator;
        _registrations = registrations;
        _createWatcher = createWatcher;
        _resolveByName = resolveByName;

        Receive<TunDevicesListed>(OnListed);
        Receive<TunDeviceAppeared>(m => OnAppeared(m.Device));
        Receive<TunDeviceRemoved>(m => OnRemoved(m.Device));
        Receive<NamespaceDevicesChanged>(OnNamespaceDevicesChanged);
        Receive<TunDeviceWatchFailed>(m => _log.Warning("Device discovery failed, retrying in {0:0.0#}s: {1}", m.RetryIn.TotalSeconds, m.Error.Message));
        Receive<DeviceVanished>(OnVanished);
        Receive<StartPending>(OnStartPending);
        Receive<NameResolved>(OnNameResolved);
        Receive<Terminated>(OnTerminated);
        Receive<RestartChild>(m => OnRestartChild(m.Child));
        Receive<ReportShortage>(_ => OnReportShortage());
        Receive<PerDeviceActorSucceeded>(_ => OnSucceeded(Sender));
        Receive<GetRestartCounts>(_ => Sender.Tell(new RestartCounts(_active.Values
            .SelectMany(e => e.Children).Select(c => (c.Entry.Device, c.Kind, c.Failures.Count)).ToArray())));
        Receive<GetWatchedDevices>(_ => Sender.Tell(new WatchedDevices(
            InOrder(_active.Values.Where(e => !e.GivenUp).Select(e => e.Device).Concat(_pending.Values)),
            InOrder(_active.Values.Where(e => e.GivenUp).Select(e => e.Device)))));
    }

    public ITimerScheduler Timers { get; set; } = null!;


    private static TunDevice[] InOrder(IEnumerable<TunDevice> devices) =>
        devices.OrderBy(d => d.Namespace is not null).ThenBy(d => d.Namespace?.Inode).ThenBy(d => d.IfIndex).ToArray();

    /// <param name="registrations">Per-device actors to start for every device; the poller is one of them.</param>
    /// <param name="createWatcher">Discovery; null when the caller sends <see cref="TunDeviceEvent"/>s itself (tests).</param>
    /// <param name="resolveByName">Finds a device by name after one vanished, to catch a re-creation at once.</param>
    /// <param name="readerScanner">Told which devices are watched (<see cref="ReaderScanActor"/>); null: nobody.</param>
    public static Props Props(
        TunTelemetryOptions options,
        IActorRef aggregator,
        IReadOnlyList<PerDeviceActorRegistration> registrations,
        Func<TunDeviceWatcher>? createWatcher = null,
        Func<string, TunDevice?>? resolveByName = null,
        IActorRef? readerScanner = null) =>
        Akka.Actor.Props.Create(() => new DeviceSupervisorActor(options, aggregator, registrations, createWatcher, resolveByName, readerScanner));

    // Stop, not restart: the failed actor is started again only after its backoff delay (OnTerminated).
    protected override SupervisorStrategy SupervisorStrategy() => new StopAndReport(OnChildFailed);

    protected override void PreStart()
    {
        if (_createWatcher is null)
        {
            return;
        }

        TunDeviceWatcher watcher = _createWatcher();
        IActorRef self = Self;
        CancellationToken stop = _stopWatching.Token;
        _ = Task.Run(async () =>
        {
            try
            {
                await foreach (TunDeviceEvent e in watcher.WatchAsync(stop).ConfigureAwait(false))
                {
                    self.Tell(e);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // stopping
            }
        }, stop);
    }

    protected override void PostStop()
    {
        _stopWatching.Cancel();
        _stopWatching.Dispose();
    }

    private void OnListed(TunDevicesListed listed)
    {
        var present = listed.Devices.ToDictionary(d => d.IfIndex);
        foreach (DeviceEntry entry in _active.Values.Where(e => e.Device.Namespace is null).ToArray())
        {
            if (!present.TryGetValue(entry.Device.IfIndex, out TunDevice? now) || now != entry.Device)
            {
                Retire(entry, "no longer listed");
            }
        }

        foreach (TunDevice pending in _pending.Values.ToArray())
        {
            if (!present.TryGetValue(pending.IfIndex, out TunDevice? now) || now != pending)
            {
                CancelPending(pending.IfIndex);
            }
        }

        // Started in the kernel's lookup order, so each burst of polls walks the kernel's device hash chains hot.
        TunDevice[] fresh = KernelLookupOrder.Sort(
            listed.Devices.Where(d => !_active.ContainsKey(d.Identity) && !_pending.ContainsKey(d.IfIndex)));
        for (int i = 0; i < fresh.Length; i++)
        {
            // Device i of n starts i/n of an interval later; each polls at once when it starts, then every interval.
            TimeSpan delay = _options.PollSpread ? _options.PollInterval * i / fresh.Length : TimeSpan.Zero;
            if (delay == TimeSpan.Zero)
            {
                Start(fresh[i]);
            }
            else
            {
                _pending[fresh[i].IfIndex] = fresh[i];
                Timers.StartSingleTimer(PendingKey(fresh[i].IfIndex), new StartPending(fresh[i]), delay);
            }
        }

        PublishCount();
    }

    private void OnStartPending(StartPending start)
    {
        if (_pending.TryGetValue(start.Device.IfIndex, out TunDevice? device) && device == start.Device
            && !_active.ContainsKey(device.Identity))
        {
            _pending.Remove(device.IfIndex);
            Start(device);
        }
    }

    private void CancelPending(int ifIndex)
    {
        if (_pending.Remove(ifIndex))
        {
            Timers.Cancel(PendingKey(ifIndex));
        }
    }

    private static string PendingKey(int ifIndex) => $"start-{ifIndex}";

    private void OnAppeared(TunDevice device)
    {
        if (_pending.TryGetValue(device.IfIndex, out TunDevice? pending))
        {
            if (pending == device)
            {
                return; // already scheduled to start
            }

            CancelPending(device.IfIndex);
        }

        if (_active.TryGetValue(device.Identity, out DeviceEntry? entry))
        {
            if (entry.Device == device)
            {
                return;
            }

            Retire(entry, $"renamed to {device.Name}");
        }

        Start(device);
        PublishCount();
    }

    private void OnRemoved(TunDevice device)
    {
        CancelPending(device.IfIndex);
        if (_active.TryGetValue(device.Identity, out DeviceEntry? entry) && entry.Device == device)
        {
            Retire(entry, "deleted");
        }

        PublishCount();
    }

    private void OnVanished(DeviceVanished vanished)
    {
        if (_active.TryGetValue(vanished.Device.Identity, out DeviceEntry? entry) && entry.Device == vanished.Device)
        {
            Retire(entry, "gone (ENODEV)");
        }

        if (vanished.Device.Namespace is { } ns)
        {
            // Its namespace's discovery lists again now: a re-creation under the same name, or a device that is there
            // after all (a poll through an id that died with its namespace finds nothing), is watched at once.
            if (_listers.TryGetValue(ns.Inode, out IActorRef? lister))
            {
                lister.Tell(RereadNamespace.Instance);
            }

            PublishCount();
            return;
        }

        // A device deleted and re-created under the same name has a new ifindex; look now rather than wait for discovery.
        // The look-up is a netlink request, which can block for netlink-timeout: not on this actor's thread, which the
        // aggregator shares.
        if (_resolveByName is { } resolve)
        {
            string name = vanished.Device.Name;
            Task.Run(() => resolve(name)).PipeTo(Self,
                success: found => new NameResolved(vanished.Device, found),
                failure: _ => new NameResolved(vanished.Device, null));
        }

        PublishCount();
    }

    private void OnNameResolved(NameResolved resolved)
    {
        if (resolved.Found is { } again
            && again.IfIndex != resolved.Vanished.IfIndex
            && !_active.ContainsKey(again.Identity)
            && _options.Devices.Matches(again))
        {
            CancelPending(again.IfIndex); // it may be waiting for its spread start: start it now, once
            Start(again);
            PublishCount();
        }
    }

    /// <summary>
    /// Watches a namespace's new devices and retires those it no longer lists (deleted, moved, renamed, or all of them
    /// when its discovery stopped). Only the namespace's current discovery is heard: an inode can come back with a new
    /// one while the old one stops.
    /// </summary>
    private void OnNamespaceDevicesChanged(NamespaceDevicesChanged changed)
    {
        ulong inode = changed.Namespace.Inode;
        if (changed.Ended)
        {
            if (!_listers.TryGetValue(inode, out IActorRef? current) || !current.Equals(Sender))
            {
                return;
            }

            _listers.Remove(inode);
            _readerScanner?.Tell(new NamespaceUnlisted(inode));
        }
        else if (!_listers.TryGetValue(inode, out IActorRef? current) || !current.Equals(Sender))
        {
            _listers[inode] = Sender;
            _readerScanner?.Tell(new NamespaceListed(inode));
        }

        var listed = changed.Devices.Where(d => d.Namespace?.Inode == inode).ToHashSet();
        foreach (DeviceEntry entry in _active.Values.Where(e => e.Device.Namespace?.Inode == inode).ToArray())
        {
            if (!listed.Contains(entry.Device))
            {
                Retire(entry, changed.Ended ? $"network namespace {changed.Namespace.Name} is gone" : $"left network namespace {changed.Namespace.Name}");
            }
        }

        foreach (TunDevice device in listed)
        {
            if (_active.TryGetValue(device.Identity, out DeviceEntry? entry))
            {
                if (entry.Device == device)
                {
                    continue;
                }

                Retire(entry, $"renamed to {device.Name}");
            }

            Start(device);
        }

        PublishCount();
    }

    private void OnSucceeded(IActorRef actor)
    {
        if (_actors.TryGetValue(actor, out PerDeviceChild? child))
        {
            child.Failures.Succeeded();
            GotDescriptors(child);
        }
    }

    private void OnChildFailed(IActorRef child, Exception cause)
    {
        if (_actors.TryGetValue(child, out PerDeviceChild? failed))
        {
            failed.Failure = cause;
            if (!failed.Entry.Retiring)
            {
                _aggregator.Tell(new PerDeviceActorRestarting(failed.Entry.Device, failed.Kind));
            }
        }
    }

    private void OnTerminated(Terminated terminated)
    {
        if (!_actors.Remove(terminated.ActorRef, out PerDeviceChild? child))
        {
            return;
        }

        child.Actor = null;
        DeviceEntry entry = child.Entry;
        if (entry.Retiring)
        {
            RetiredWhenAllStopped(entry);
            StartOneWaitingForDescriptors(); // the stopped actor has closed its socket: one descriptor is free now
            return;
        }

        if (child.Failure is not { } failure)
        {
            _log.Warning("{0} for {1} stopped on its own", child.Kind, entry.Device);
            return;
        }

        child.Failure = null;
        bool outOfDescriptors = FailureCause.IsOutOfDescriptors(failure);
        // A device that waits for descriptors is not broken: that never counts towards giving up on it.
        BackoffSettings backoff = outOfDescriptors ? _options.Backoff with { MaxRetries = -1 } : _options.Backoff;
        // The scheduler's clock (virtual under TestScheduler) is wall time: a clock step can make an actor that never
        // reports success look recovered early or late, which only changes how soon one restart comes.
        TimeSpan ran = Context.System.Scheduler.Now - child.StartedAt;
        if (child.Failures.Failed(backoff, ran, Random.Shared.NextDouble()) is not { } delay)
        {
            entry.GivenUp = true;
            _log.Error("{0} for {1} failed {2} times in a row; giving up on it until the device is re-created: {3}",
                child.Kind, entry.Device, child.Failures.Count, FailureCause.Describe(failure));
            _aggregator.Tell(new PerDeviceActorGaveUp(entry.Device, child.Kind));
            return;
        }

        if (outOfDescriptors)
        {
            WaitsForDescriptors(child, failure, delay);
        }
        else
        {
            GotDescriptors(child); // it failed after opening what it needed, or for another reason
            LogFailure(child, failure, delay);
        }

        child.RestartPending = true;
        Timers.StartSingleTimer(child, new RestartChild(child), delay);
    }

    /// <summary>
    /// The actor could not open a socket for want of descriptors: no line of its own (the shortage is said once for
    /// all devices), and a place in the queue for the next descriptor a retired device frees.
    /// </summary>
    private void WaitsForDescriptors(PerDeviceChild child, Exception failure, TimeSpan delay)
    {
        _log.Debug("{0} for {1} waits for a file descriptor; retrying in {2:0.0#}s: {3}",
            child.Kind, child.Entry.Device, delay.TotalSeconds, FailureCause.Describe(failure));
        if (!child.QueuedForDescriptors)
        {
            child.QueuedForDescriptors = true;
            _waitingForDescriptors.Enqueue(child);
        }

        if (child.WaitsForDescriptors)
        {
            return;
        }

        child.WaitsForDescriptors = true;
        if (_shortage.ActorWaits(child.Entry.Device, Context.System.Scheduler.Now))
        {
            PublishWaiting();
            _devicesWaiting++;
            PublishCount();
        }

        ScheduleShortageReport();
    }

    /// <summary>The actor no longer waits for a descriptor: it got one (it succeeded), or its device was retired.</summary>
    private void GotDescriptors(PerDeviceChild child)
    {
        if (!child.WaitsForDescriptors)
        {
            return;
        }

        child.WaitsForDescriptors = false;
        if (_shortage.ActorDone(child.Entry.Device))
        {
            PublishWaiting();
            _devicesWaiting--;
            if (!child.Entry.Retiring)
            {
                PublishCount();
            }
        }

        ScheduleShortageReport();
    }

    /// <summary>Starts, before its backoff ends, the actor that has waited longest for a descriptor.</summary>
    private void StartOneWaitingForDescriptors()
    {
        while (_waitingForDescriptors.TryDequeue(out PerDeviceChild? child))
        {
            child.QueuedForDescriptors = false;
            if (child.WaitsForDescriptors && child.RestartPending && !child.Entry.Retiring)
            {
                Timers.Cancel(child);
                child.RestartPending = false;
                StartChild(child);
                return;
            }
        }
    }

    private void ScheduleShortageReport()
    {
        if (_shortageReportScheduled)
        {
            return;
        }

        DateTimeOffset now = Context.System.Scheduler.Now;
        if (_shortage.ReportDue(now, starting: _pending.Count > 0) is { } due)
        {
            _shortageReportScheduled = true;
            TimeSpan delay = due - now;
            Timers.StartSingleTimer(ReportShortage.Instance, ReportShortage.Instance,
                delay > MinimumReportDelay ? delay : MinimumReportDelay);
        }
    }

    private void OnReportShortage()
    {
        _shortageReportScheduled = false;
        if (_shortage.Report(Context.System.Scheduler.Now, starting: _pending.Count > 0) is { } report)
        {
            LogShortage(report);
        }

        ScheduleShortageReport(); // the numbers may have moved again, or the line had to wait
    }

    private void LogShortage(DescriptorShortageReport report)
    {
        (bool warning, string line) = DescriptorShortageLine.For(report, _active.Count, DescriptorReserve.SoftLimit(),
            _options.DescriptorReserve, _registrations.Select(r => r.Name).ToArray(),
            linkState: _registrations.Any(r => r.Name == LinkStateActor.RegistrationName));
        if (warning)
        {
            _log.Warning("{0}", line);
        }
        else
        {
            _log.Info("{0}", line);
        }
    }

    private void LogFailure(PerDeviceChild child, Exception failure, TimeSpan delay)
    {
        FailureLogDecision decision = _failureLog.Failed(child, Context.System.Scheduler.Now);
        if (decision.HeldBackFailures > 0)
        {
            _log.Warning("{0} more failures of {1} device actors were not logged in the last minute (see tuntelemetry.poll.failures)",
                decision.HeldBackFailures, decision.HeldBackKeys);
        }

        if (!decision.Write)
        {
            return;
        }

        string earlier = decision.NotWrittenBefore > 0
            ? $" ({decision.NotWrittenBefore} more since its last line)"
            : string.Empty;
        _log.Warning("{0} for {1} failed{2}; retrying in {3:0.0#}s: {4}",
            child.Kind, child.Entry.Device, earlier, delay.TotalSeconds, FailureCause.Describe(failure));
    }

    private void OnRestartChild(PerDeviceChild child)
    {
        if (child.RestartPending && !child.Entry.Retiring)
        {
            child.RestartPending = false;
            StartChild(child);
        }
    }

    /// <summary>Tells the aggregator to forget a retiring device once none of its actors runs or waits to restart.</summary>
    private void RetiredWhenAllStopped(DeviceEntry entry)
    {
        if (!entry.Children.Any(c => c.Actor is not null || c.RestartPending))
        {
            _aggregator.Tell(new DeviceRetired(entry.Device));
        }
    }

    private void Start(TunDevice device)
    {
        var entry = new DeviceEntry(device);
        _active[device.Identity] = entry;

        var context = new PerDeviceActorContext(device, _aggregator, Self, _options);
        foreach (PerDeviceActorRegistration registration in _registrations)
        {
            var child = new PerDeviceChild(entry, registration.Name, registration.CreateProps(context));
            entry.Children.Add(child);
            StartChild(child);
        }

        _readerScanner?.Tell(new DeviceWatchStarted(device));

        _log.Info("Watching {0}", device);
    }

    private void StartChild(PerDeviceChild child)
    {
        TunDevice device = child.Entry.Device;
        string name = device.Namespace is { } ns
            ? $"{child.Kind}-netns{ns.Inode}-{device.IfIndex}-{++_generation}"
            : $"{child.Kind}-{device.IfIndex}-{++_generation}";
        IActorRef actor = Context.ActorOf(child.Props, name);
        Context.Watch(actor);
        _actors[actor] = child;
        child.Actor = actor;
        child.StartedAt = Context.System.Scheduler.Now;
    }

    private void Retire(DeviceEntry entry, string why)
    {
        _active.Remove(entry.Device.Identity);

        entry.Retiring = true;
        _log.Info("Stopped watching {0}: {1}", entry.Device, why);
        _readerScanner?.Tell(new DeviceWatchStopped(entry.Device));

        foreach (PerDeviceChild child in entry.Children)
        {
            _failureLog.Forget(child);
            GotDescriptors(child); // no longer waits: its device is gone
            if (child.Actor is not null)
            {
                Context.Stop(child.Actor); // its Terminated completes the retirement
            }
            else if (child.RestartPending)
            {
                child.RestartPending = false;
                Timers.Cancel(child);
            }
        }

        RetiredWhenAllStopped(entry);
    }

    // A device whose actors wait for descriptors is not counted: it is not watched.
    private void PublishCount() => _aggregator.Tell(new DevicesWatchedChanged(_active.Count - _devicesWaiting + _pending.Count));

    private void PublishWaiting() => _aggregator.Tell(new DevicesWaitingForDescriptors(_shortage.WaitingDevices));

    // The shortage line's timer never fires sooner than this, so a burst of changes in one instant makes one check.
    private static readonly TimeSpan MinimumReportDelay = TimeSpan.FromMilliseconds(100);

    private sealed record StartPending(TunDevice Device);

    private sealed record NameResolved(TunDevice Vanished, TunDevice? Found);

    private sealed record RestartChild(PerDeviceChild Child);

    private sealed class ReportShortage
    {
        public static readonly ReportShortage Instance = new();

        private ReportShortage()
        {
        }
    }

    private sealed class DeviceEntry(TunDevice device)
    {
        public TunDevice Device { get; } = device;

        public List<PerDeviceChild> Children { get; } = [];

        public bool Retiring { get; set; }

        public bool GivenUp { get; set; }
    }

    /// <summary>One registered actor of one device, across its restarts.</summary>
    private sealed class PerDeviceChild(DeviceEntry entry, string kind, Props props)
    {
        public DeviceEntry Entry { get; } = entry;

        public string Kind { get; } = kind;

        public Props Props { get; } = props;

        /// <summary>The running incarnation; null while it waits for a restart, has given up or has stopped.</summary>
        public IActorRef? Actor { get; set; }

        public DateTimeOffset StartedAt { get; set; }

        /// <summary>Set by the supervisor strategy when the running incarnation threw; read when it has terminated.</summary>
        public Exception? Failure { get; set; }

        public bool RestartPending { get; set; }

        /// <summary>Its last failure was a lack of descriptors, and it has not succeeded since.</summary>
        public bool WaitsForDescriptors { get; set; }

        /// <summary>In the supervisor's queue of actors to start when a descriptor frees up.</summary>
        public bool QueuedForDescriptors { get; set; }

        public FailureStreak Failures { get; } = new();
    }

    /// <summary>
    /// Stops a failed child and tells the supervisor which one failed (a decider sees only the exception), without the
    /// strategy's own stack-trace log: the supervisor logs the failure itself, in one rate-limited line.
    /// </summary>
    private sealed class StopAndReport(Action<IActorRef, Exception> onFailure)
        : OneForOneStrategy(-1, -1, _ => Directive.Stop, loggingEnabled: false)
    {
        public override void ProcessFailure(
            IActorContext context, bool restart, IActorRef child, Exception cause, ChildRestartStats stats, IReadOnlyCollection<ChildRestartStats> children)
        {
            onFailure(child, cause);
            base.ProcessFailure(context, restart, child, cause, stats, children);
        }
    }
}
