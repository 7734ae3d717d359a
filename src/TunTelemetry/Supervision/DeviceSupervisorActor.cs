using Akka.Actor;
using Akka.Event;
using TunTelemetry.Actors;
using TunTelemetry.Devices;
using TunTelemetry.Discovery;
using TunTelemetry.Hosting;
using TunTelemetry.Logging;
using TunTelemetry.Metrics;
using TunTelemetry.Netlink;
using TunTelemetry.Polling;
using TunTelemetry.Readers;

namespace TunTelemetry.Supervision;

/// <summary>
/// Owns the set of watched devices of every namespace: follows discovery's <see cref="DeviceEvent"/>s (the agent's own
/// namespace's and every other's alike), starts every registered per-device actor (the poller first) for each device,
/// and stops them when the device goes. Only after all of a device's actors have stopped does it tell the aggregator to
/// forget the device, so no late reading can resurrect a baseline. What to start and retire is
/// <see cref="DeviceRoster"/>'s decision; this actor carries it out.
/// </summary>
/// <remarks>
/// A per-device actor that throws is stopped and started again after a backoff (<see cref="BackoffSettings"/>); only
/// failures in a row back off (<see cref="FailureStreak"/>), and their log lines are rate-limited
/// (<see cref="FailureLogLimiter{TKey}"/>); one that failed for want of a file descriptor waits in the
/// <see cref="DescriptorWaitList"/>. The supervisor does that itself rather than putting a <c>BackoffSupervisor</c>
/// above each actor: at 10,000 devices those were 10,000 more actors and about 13 MB.
/// </remarks>
internal sealed class DeviceSupervisorActor : ReceiveActor, IWithTimers
{
    private readonly TunTelemetryOptions _options;
    private readonly IActorRef _aggregator;
    private readonly IReadOnlyList<PerDeviceActorRegistration> _registrations;
    private readonly IActorRef? _readerScanner;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly DeviceRoster _roster = new();
    private readonly IActorRef _ownDiscovery;
    private readonly Dictionary<IActorRef, PerDeviceChild> _actors = [];
    private readonly ChildFailures _failures;
    private long _generation;

    public DeviceSupervisorActor(
        TunTelemetryOptions options,
        IActorRef aggregator,
        IReadOnlyList<PerDeviceActorRegistration> registrations,
        Func<TunLinkEvents>? createLinkEvents,
        Func<string, TunDevice?>? resolveByName,
        IActorRef? readerScanner = null)
    {
        _options = options;
        _readerScanner = readerScanner;
        _aggregator = aggregator;
        _registrations = registrations;
        // Discovery of the agent's own namespace, a child: its events and look-ups come here.
        _ownDiscovery = Context.ActorOf(OwnNamespaceDiscoveryActor.Props(createLinkEvents, resolveByName, options.Devices), "discovery");
        _failures = new ChildFailures(options.Backoff);

        Receive<DevicesListed>(m => Apply(_roster.Listed(m.Namespace, m.Devices, Sender, _options.PollSpread ? _options.PollInterval : TimeSpan.Zero)));
        Receive<DeviceAppeared>(m => Apply(_roster.Appeared(m.Device)));
        Receive<DeviceGone>(m => Apply(_roster.Gone(m.Device)));
        Receive<NamespaceGone>(m => Apply(_roster.NamespaceGone(m.Namespace, Sender)));
        Receive<DeviceVanished>(OnVanished);
        Receive<StartPending>(m => Apply(_roster.StartDue(m.Device)));
        Receive<Terminated>(OnTerminated);
        Receive<RestartChild>(m => OnRestartChild(m.Child));
        Receive<ReportShortage>(_ => OnReportShortage());
        Receive<PerDeviceActorSucceeded>(_ => OnSucceeded(Sender));
        Receive<GetRestartCounts>(_ => Sender.Tell(new RestartCounts(_roster.Restarts())));
        Receive<GetWatchedDevices>(_ => Sender.Tell(new WatchedDevices(_roster.InOrder(givenUp: false), _roster.InOrder(givenUp: true))));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="registrations">Per-device actors to start for every device; the poller is one of them.</param>
    /// <param name="createLinkEvents">Discovery; null when the caller sends <see cref="DeviceEvent"/>s itself (tests).</param>
    /// <param name="resolveByName">Finds a device by name after one vanished, to catch a re-creation at once.</param>
    /// <param name="readerScanner">Told which devices are watched (<see cref="ReaderScanActor"/>); null: nobody.</param>
    public static Props Props(
        TunTelemetryOptions options,
        IActorRef aggregator,
        IReadOnlyList<PerDeviceActorRegistration> registrations,
        Func<TunLinkEvents>? createLinkEvents = null,
        Func<string, TunDevice?>? resolveByName = null,
        IActorRef? readerScanner = null) =>
        Akka.Actor.Props.Create(() => new DeviceSupervisorActor(options, aggregator, registrations, createLinkEvents, resolveByName, readerScanner));

    // Stop, not restart: the failed actor is started again only after its backoff delay (OnTerminated).
    protected override SupervisorStrategy SupervisorStrategy() => new StopAndReport(OnChildFailed);

    /// <summary>Carries out what the roster decided, then publishes the count.</summary>
    private void Apply(RosterChange change)
    {
        if (change.Listing is { } listing)
        {
            _readerScanner?.Tell(listing); // before the devices: their scan then knows the namespace is listed
        }

        foreach (TunDevice device in change.Unscheduled)
        {
            Timers.Cancel(device.Identity);
        }

        foreach ((WatchedDevice entry, string why) in change.Retired)
        {
            Retire(entry, why);
        }

        foreach (WatchedDevice entry in change.Started)
        {
            Start(entry);
        }

        foreach ((TunDevice device, TimeSpan delay) in change.Scheduled)
        {
            Timers.StartSingleTimer(device.Identity, new StartPending(device), delay);
        }

        if (!change.IsEmpty)
        {
            PublishCount();
        }
    }

    private void OnVanished(DeviceVanished vanished)
    {
        Apply(_roster.Vanished(vanished.Device));
        // Its namespace's discovery looks again now: a re-creation, or a device there after all, is watched at once.
        (vanished.Device.Home.IsAgents ? _ownDiscovery : _roster.ListerOf(vanished.Device.Home.Inode) as IActorRef)
            ?.Tell(vanished.Device.Home.IsAgents ? new LookAgain(vanished.Device) : RereadNamespace.Instance);
    }

    private void Start(WatchedDevice entry)
    {
        foreach (PerDeviceChild child in entry.AddChildren(_registrations, new PerDeviceActorContext(entry.Device, _aggregator, Self, _options)))
        {
            StartChild(child);
        }

        _readerScanner?.Tell(new DeviceWatchStarted(entry.Device));
        _log.Info("Watching {0}", entry.Device);
    }

    private void StartChild(PerDeviceChild child)
    {
        IActorRef actor = Context.ActorOf(child.Props, child.ActorName(++_generation));
        Context.Watch(actor);
        _actors[actor] = child;
        child.Actor = actor;
        child.StartedAt = Context.System.Scheduler.Now;
    }

    private void Retire(WatchedDevice entry, string why)
    {
        _log.Info("Stopped watching {0}: {1}", entry.Device, why);
        _readerScanner?.Tell(new DeviceWatchStopped(entry.Device));
        foreach (PerDeviceChild child in entry.Children)
        {
            WaitingMoved(_failures.Retired(child)); // no longer waits: its device is gone
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

    // The aggregator forgets a retiring device once none of its actors runs or waits to restart.
    private void RetiredWhenAllStopped(WatchedDevice entry)
    {
        if (entry.AllStopped)
        {
            _aggregator.Tell(new DeviceRetired(entry.Device));
        }
    }

    // A device whose actors wait for descriptors is not counted: it is not watched.
    private void PublishCount() =>
        _aggregator.Tell(new DevicesWatchedChanged(_roster.Count - _failures.Waiting.DevicesWaiting + _roster.PendingCount));

    private void OnSucceeded(IActorRef actor)
    {
        if (_actors.TryGetValue(actor, out PerDeviceChild? child))
        {
            WaitingMoved(_failures.Succeeded(child));
        }
    }

    private void OnChildFailed(IActorRef actor, Exception cause)
    {
        if (_actors.TryGetValue(actor, out PerDeviceChild? failed) && failed.FailedWith(cause))
        {
            _aggregator.Tell(new PerDeviceActorRestarting(failed.Entry.Device, failed.Kind));
        }
    }

    private void OnTerminated(Terminated terminated)
    {
        if (!_actors.Remove(terminated.ActorRef, out PerDeviceChild? child))
        {
            return;
        }

        child.Actor = null;
        if (child.Entry.Retiring)
        {
            RetiredWhenAllStopped(child.Entry);
            if (_failures.Waiting.TakeNext() is { } next) // the stopped actor closed its socket: one descriptor is free now
            {
                Timers.Cancel(next);
                OnRestartChild(next);
            }

            return;
        }

        if (child.Failure is not { } failure)
        {
            _log.Warning("{0} for {1} stopped on its own", child.Kind, child.Entry.Device);
            return;
        }

        child.Failure = null;
        DateTimeOffset now = Context.System.Scheduler.Now;
        ChildFailureOutcome outcome = _failures.Failed(child, failure, now, now - child.StartedAt, Random.Shared.NextDouble());
        foreach ((LogLevel level, string line) in outcome.Lines)
        {
            _log.Say(level, line);
        }

        if (outcome.RestartIn is { } delay)
        {
            Timers.StartSingleTimer(child, new RestartChild(child), delay);
        }
        else
        {
            _aggregator.Tell(new PerDeviceActorGaveUp(child.Entry.Device, child.Kind));
        }

        WaitingMoved(outcome.Waiting);
    }

    private void OnRestartChild(PerDeviceChild child)
    {
        if (child.RestartPending && !child.Entry.Retiring)
        {
            child.RestartPending = false;
            StartChild(child);
        }
    }

    /// <summary>The devices waiting for descriptors may have changed: publish them (and the watched count), and check the shortage line.</summary>
    private void WaitingMoved(WaitingChange waiting)
    {
        if (waiting.Changed)
        {
            _aggregator.Tell(new DevicesWaitingForDescriptors(_failures.Waiting.DevicesWaiting));
            PublishCount();
        }

        if (waiting.WasWaiting)
        {
            ScheduleShortageReport();
        }
    }

    private void ScheduleShortageReport()
    {
        if (_failures.Waiting.NextCheck(Context.System.Scheduler.Now, starting: _roster.PendingCount > 0) is { } delay)
        {
            Timers.StartSingleTimer(ReportShortage.Instance, ReportShortage.Instance, delay);
        }
    }

    private void OnReportShortage()
    {
        if (_failures.Waiting.Check(Context.System.Scheduler.Now, starting: _roster.PendingCount > 0) is { } report)
        {
            (bool warning, string line) = DescriptorShortageLine.For(report, _roster.Count, DescriptorReserve.SoftLimit(),
                _options.DescriptorReserve, _registrations.Select(r => r.Name).ToArray(), _registrations.Any(r => r.Name == LinkStateActor.RegistrationName));
            _log.Say(warning ? LogLevel.WarningLevel : LogLevel.InfoLevel, line);
        }

        ScheduleShortageReport(); // the numbers may have moved again, or the line had to wait
    }

    private sealed record StartPending(TunDevice Device);

    private sealed record RestartChild(PerDeviceChild Child);

    private sealed record ReportShortage { public static readonly ReportShortage Instance = new(); }
}
