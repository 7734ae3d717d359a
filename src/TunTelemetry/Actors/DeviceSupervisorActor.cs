using Akka.Actor;
using Akka.Event;
using Akka.Pattern;
using TunTelemetry.Devices;
using TunTelemetry.Hosting;

namespace TunTelemetry.Actors;

/// <summary>A per-device actor found its device gone (the kernel answered ENODEV).</summary>
public sealed record DeviceVanished(TunDevice Device);

/// <summary>Asks the supervisor which devices it watches; answered with <see cref="WatchedDevices"/>.</summary>
public sealed class GetWatchedDevices
{
    public static readonly GetWatchedDevices Instance = new();

    private GetWatchedDevices()
    {
    }
}

/// <param name="Polled">Devices whose actors all run (none given up).</param>
public sealed record WatchedDevices(IReadOnlyList<TunDevice> Devices, IReadOnlyList<TunDevice> GivenUp);

/// <summary>
/// Owns the set of watched devices: follows discovery (<see cref="TunDeviceEvent"/>s), starts every registered
/// per-device actor (the poller first) for each device, each under a backoff supervisor, and stops them when the
/// device goes. Only after all of a device's actors have stopped does it tell the aggregator to forget the device, so
/// no late reading can resurrect a baseline.
/// </summary>
public sealed class DeviceSupervisorActor : ReceiveActor, IWithTimers
{
    private readonly TunTelemetryOptions _options;
    private readonly IActorRef _aggregator;
    private readonly IReadOnlyList<PerDeviceActorRegistration> _registrations;
    private readonly Func<TunDeviceWatcher>? _createWatcher;
    private readonly Func<string, TunDevice?>? _resolveByName;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<int, DeviceEntry> _active = [];
    private readonly Dictionary<IActorRef, (DeviceEntry Entry, string Kind)> _actors = [];

    // Devices listed together whose start is spread over the poll interval (tuntelemetry.poll-spread).
    private readonly Dictionary<int, TunDevice> _pending = [];
    private readonly CancellationTokenSource _stopWatching = new();
    private long _generation;

    public DeviceSupervisorActor(
        TunTelemetryOptions options,
        IActorRef aggregator,
        IReadOnlyList<PerDeviceActorRegistration> registrations,
        Func<TunDeviceWatcher>? createWatcher,
        Func<string, TunDevice?>? resolveByName)
    {
        _options = options;
        _aggregator = aggregator;
        _registrations = registrations;
        _createWatcher = createWatcher;
        _resolveByName = resolveByName;

        Receive<TunDevicesListed>(OnListed);
        Receive<TunDeviceAppeared>(m => OnAppeared(m.Device));
        Receive<TunDeviceRemoved>(m => OnRemoved(m.Device));
        Receive<TunDeviceWatchFailed>(m => _log.Warning("Device discovery failed, retrying in {0}: {1}", m.RetryIn, m.Error.Message));
        Receive<DeviceVanished>(OnVanished);
        Receive<StartPending>(OnStartPending);
        Receive<Terminated>(OnTerminated);
        Receive<GetWatchedDevices>(_ => Sender.Tell(new WatchedDevices(
            _active.Values.Where(e => !e.GivenUp).Select(e => e.Device).Concat(_pending.Values).OrderBy(d => d.IfIndex).ToArray(),
            _active.Values.Where(e => e.GivenUp).Select(e => e.Device).OrderBy(d => d.IfIndex).ToArray())));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="registrations">Per-device actors to start for every device; the poller is one of them.</param>
    /// <param name="createWatcher">Discovery; null when the caller sends <see cref="TunDeviceEvent"/>s itself (tests).</param>
    /// <param name="resolveByName">Finds a device by name after one vanished, to catch a re-creation at once.</param>
    public static Props Props(
        TunTelemetryOptions options,
        IActorRef aggregator,
        IReadOnlyList<PerDeviceActorRegistration> registrations,
        Func<TunDeviceWatcher>? createWatcher = null,
        Func<string, TunDevice?>? resolveByName = null) =>
        Akka.Actor.Props.Create(() => new DeviceSupervisorActor(options, aggregator, registrations, createWatcher, resolveByName));

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
        foreach (DeviceEntry entry in _active.Values.ToArray())
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

        TunDevice[] fresh = listed.Devices.Where(d => !_active.ContainsKey(d.IfIndex) && !_pending.ContainsKey(d.IfIndex)).ToArray();
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
        if (_pending.TryGetValue(start.Device.IfIndex, out TunDevice? device) && device == start.Device)
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

        if (_active.TryGetValue(device.IfIndex, out DeviceEntry? entry))
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
        if (_active.TryGetValue(device.IfIndex, out DeviceEntry? entry) && entry.Device == device)
        {
            Retire(entry, "deleted");
        }

        PublishCount();
    }

    private void OnVanished(DeviceVanished vanished)
    {
        if (_active.TryGetValue(vanished.Device.IfIndex, out DeviceEntry? entry) && entry.Device == vanished.Device)
        {
            Retire(entry, "gone (ENODEV)");
        }

        // A device deleted and re-created under the same name has a new ifindex; look now rather than wait for discovery.
        if (_resolveByName?.Invoke(vanished.Device.Name) is { } again
            && again.IfIndex != vanished.Device.IfIndex
            && !_active.ContainsKey(again.IfIndex)
            && _options.Devices.Matches(again))
        {
            Start(again);
        }

        PublishCount();
    }

    private void OnTerminated(Terminated terminated)
    {
        if (!_actors.Remove(terminated.ActorRef, out (DeviceEntry Entry, string Kind) owner))
        {
            return;
        }

        DeviceEntry entry = owner.Entry;
        entry.Running--;
        if (!entry.Retiring)
        {
            // A backoff supervisor stops on its own only when its child exceeded backoff.max-retries.
            entry.GivenUp = true;
            _log.Error("{0} for {1} failed {2} times in a row; giving up on it until the device is re-created",
                owner.Kind, entry.Device, _options.Backoff.MaxRetries + 1);
            _aggregator.Tell(new PerDeviceActorGaveUp(entry.Device, owner.Kind));
        }
        else if (entry.Running == 0)
        {
            _aggregator.Tell(new DeviceRetired(entry.Device));
        }
    }

    private void Start(TunDevice device)
    {
        var entry = new DeviceEntry(device);
        _active[device.IfIndex] = entry;
        long generation = ++_generation;
        var context = new PerDeviceActorContext(device, _aggregator, Self, _options);
        foreach (PerDeviceActorRegistration registration in _registrations)
        {
            Props child = registration.CreateProps(context);
            IActorRef actor = Context.ActorOf(BackoffProps(child, registration.Name, device), $"{registration.Name}-{device.IfIndex}-{generation}");
            Context.Watch(actor);
            _actors[actor] = (entry, registration.Name);
            entry.Running++;
        }

        _log.Info("Watching {0}", device);
    }

    private void Retire(DeviceEntry entry, string why)
    {
        _active.Remove(entry.Device.IfIndex);
        entry.Retiring = true;
        _log.Info("Stopped watching {0}: {1}", entry.Device, why);
        if (entry.Running == 0)
        {
            _aggregator.Tell(new DeviceRetired(entry.Device));
            return;
        }

        foreach ((IActorRef actor, (DeviceEntry owner, string _)) in _actors)
        {
            if (ReferenceEquals(owner, entry))
            {
                Context.Stop(actor);
            }
        }
    }

    private Props BackoffProps(Props child, string kind, TunDevice device)
    {
        BackoffSettings backoff = _options.Backoff;
        IActorRef aggregator = _aggregator;

        // Every failure, including one in PreStart (ActorInitializationException), is retried after the backoff;
        // failures are logged by the actor itself in one line, so the strategy's stack-trace logging is off.
        var strategy = new OneForOneStrategy(-1, -1, e =>
        {
            aggregator.Tell(new PerDeviceActorRestarting(device, kind));
            return Directive.Restart;
        }, loggingEnabled: false);

        BackoffOptions options = Backoff.OnFailure(child, kind, backoff.Min, backoff.Max, backoff.RandomFactor, -1)
            .WithSupervisorStrategy(strategy)
            .WithMaxNrOfRetries(backoff.MaxRetries)
            .WithAutoReset(backoff.ResetAfter);
        // On the netlink dispatcher for its compact mailbox: there is one backoff supervisor per per-device actor.
        return BackoffSupervisor.Props(options).WithDispatcher(_options.NetlinkDispatcher);
    }

    private void PublishCount() => _aggregator.Tell(new DevicesWatchedChanged(_active.Count + _pending.Count));

    private sealed record StartPending(TunDevice Device);

    private sealed class DeviceEntry(TunDevice device)
    {
        public TunDevice Device { get; } = device;

        public int Running { get; set; }

        public bool Retiring { get; set; }

        public bool GivenUp { get; set; }
    }
}
