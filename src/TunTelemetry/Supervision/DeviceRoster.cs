using TunTelemetry.Devices;
using TunTelemetry.Readers;

namespace TunTelemetry.Supervision;

/// <summary>
/// Which devices the supervisor watches, in every network namespace, and which wait for their spread start; and what a
/// listing, an appearance, a removal or a vanishing changes in that. Devices are (namespace, ifindex): the same ifindex
/// in two namespaces is two devices, and a device whose name changed under the same ifindex is retired and watched
/// again under its new name (its series carry the name).
/// </summary>
/// <remarks>
/// Pure, as <see cref="FailureStreak"/> is: each method updates the roster and returns the <see cref="RosterChange"/>
/// the supervisor then carries out (stops, starts, timers, telling the reader scan), so every decision is unit-tested
/// without actors. Another namespace's listings are heard only from its current discovery (the <c>lister</c>): a
/// namespace inode can come back with a new discovery while the old one stops, and the old one's last word must not
/// retire its successor's devices.
/// </remarks>
internal sealed class DeviceRoster
{
    private readonly Dictionary<DeviceId, WatchedDevice> _watched = [];
    private readonly Dictionary<DeviceId, TunDevice> _pending = [];
    private readonly Dictionary<ulong, object> _listers = [];

    // Discoveries replaced by a newer one of their namespace, until their end is heard: a listing one of them sent
    // before it stopped can still be on its way, and must neither take the namespace back nor, by its end, retire the
    // successor's devices.
    private readonly HashSet<object> _superseded = [];

    /// <summary>The watched devices (not those retiring).</summary>
    public IEnumerable<WatchedDevice> Watched => _watched.Values;

    public int Count => _watched.Count;

    /// <summary>Devices found together whose start waits for its share of the poll interval.</summary>
    public IEnumerable<TunDevice> Pending => _pending.Values;

    public int PendingCount => _pending.Count;

    /// <summary>The devices watched or to be started (<paramref name="givenUp"/>: those given up), the agent's own namespace's first, then by namespace and ifindex.</summary>
    public TunDevice[] InOrder(bool givenUp) =>
        _watched.Values.Where(e => e.GivenUp == givenUp).Select(e => e.Device).Concat(givenUp ? [] : _pending.Values)
            .OrderBy(d => !d.Home.IsAgents).ThenBy(d => d.Home.Inode).ThenBy(d => d.IfIndex).ToArray();

    /// <summary>Each watched device's actors with their failures in a row.</summary>
    public (TunDevice Device, string Kind, int Restarts)[] Restarts() =>
        _watched.Values.SelectMany(e => e.Children).Select(c => (c.Entry.Device, c.Kind, c.Failures.Count)).ToArray();

    /// <summary>The watched entry of exactly this device (same identity and name), if any.</summary>
    public WatchedDevice? Find(TunDevice device) =>
        _watched.TryGetValue(device.Identity, out WatchedDevice? entry) && entry.Device == device ? entry : null;

    /// <summary>The discovery that lists this namespace now, if any.</summary>
    public object? ListerOf(ulong netns) => _listers.GetValueOrDefault(netns);

    /// <summary>
    /// A namespace's discovery (<paramref name="lister"/>) listed all its devices (the agent's own
    /// namespace's too): those watched or waiting there but not listed (or listed under another name) go; new ones start in
    /// the kernel's lookup order, device i of n <paramref name="spreadOver"/> × i/n later (zero: all at once), so each
    /// burst of polls walks the kernel's device hash chains hot. The first listing of another namespace, or one from a
    /// new discovery of it, makes that discovery the namespace's current one; the one it replaces is not heard again.
    /// </summary>
    public RosterChange Listed(DeviceNamespace ns, IReadOnlyList<TunDevice> devices, object lister, TimeSpan spreadOver)
    {
        var change = new RosterChange();
        if (_superseded.Contains(lister))
        {
            return change;
        }

        if (!ns.IsAgents && !(_listers.TryGetValue(ns.Inode, out object? known) && known.Equals(lister)))
        {
            if (known is not null)
            {
                _superseded.Add(known);
            }

            _listers[ns.Inode] = lister;
            change.Listing = new NamespaceListing(ns.Inode, Listed: true);
        }

        var present = devices.Where(d => d.Identity.Netns == ns.Inode).ToDictionary(d => d.IfIndex);
        string why = ns.IsAgents ? "no longer listed" : $"left network namespace {ns.Name}";
        RetireAll(ns, d => !present.TryGetValue(d.IfIndex, out TunDevice? now) || now != d, why, change);

        TunDevice[] fresh = KernelLookupOrder.Sort(present.Values.Where(d => !_watched.ContainsKey(d.Identity) && !_pending.ContainsKey(d.Identity)));
        for (int i = 0; i < fresh.Length; i++)
        {
            TimeSpan delay = spreadOver * i / fresh.Length;
            if (delay == TimeSpan.Zero)
            {
                Start(fresh[i], change);
            }
            else
            {
                _pending[fresh[i].Identity] = fresh[i];
                change.Scheduled.Add((fresh[i], delay));
            }
        }

        return change;
    }

    /// <summary>
    /// Another namespace's discovery stopped: all its devices go. Ignored from a discovery other than the namespace's
    /// current one, whose successor's devices it must not retire.
    /// </summary>
    public RosterChange NamespaceGone(DeviceNamespace ns, object lister)
    {
        var change = new RosterChange();
        if (_superseded.Remove(lister) || !(_listers.TryGetValue(ns.Inode, out object? known) && known.Equals(lister)))
        {
            return change;
        }

        _listers.Remove(ns.Inode);
        change.Listing = new NamespaceListing(ns.Inode, Listed: false);
        RetireAll(ns, _ => true, $"network namespace {ns.Name} is gone", change);
        return change;
    }

    /// <summary>Retires the watched devices and unschedules the waiting ones of a namespace that <paramref name="go"/> says go.</summary>
    private void RetireAll(DeviceNamespace ns, Func<TunDevice, bool> go, string why, RosterChange change)
    {
        foreach (WatchedDevice entry in _watched.Values.Where(e => e.Device.Identity.Netns == ns.Inode && go(e.Device)).ToArray())
        {
            Retire(entry, why, change);
        }

        foreach (TunDevice pending in _pending.Values.Where(d => d.Identity.Netns == ns.Inode && go(d)).ToArray())
        {
            Unschedule(pending, change);
        }
    }

    /// <summary>
    /// A device appeared or changed, or was found again after it vanished (re-created under its name): watched at once,
    /// even if its spread start was still to come; one of its ifindex under another name is retired first.
    /// </summary>
    public RosterChange Appeared(TunDevice device)
    {
        var change = new RosterChange();
        if (_pending.TryGetValue(device.Identity, out TunDevice? pending))
        {
            Unschedule(pending, change);
        }

        if (_watched.TryGetValue(device.Identity, out WatchedDevice? entry))
        {
            if (entry.Device == device)
            {
                return change;
            }

            Retire(entry, $"renamed to {device.Name}", change);
        }

        Start(device, change);
        return change;
    }

    /// <summary>A device was deleted, moved or renamed away (a link event said so).</summary>
    public RosterChange Gone(TunDevice device) => RetireOrUnschedule(device, "deleted");

    /// <summary>A per-device actor found its device gone (the kernel answered ENODEV).</summary>
    public RosterChange Vanished(TunDevice device) => RetireOrUnschedule(device, "gone (ENODEV)");

    /// <summary>A scheduled start is due: the device to start, if it still waits for it.</summary>
    public RosterChange StartDue(TunDevice device)
    {
        var change = new RosterChange();
        if (_pending.TryGetValue(device.Identity, out TunDevice? pending) && pending == device && !_watched.ContainsKey(device.Identity))
        {
            _pending.Remove(device.Identity);
            Start(device, change);
        }

        return change;
    }

    private RosterChange RetireOrUnschedule(TunDevice device, string why)
    {
        var change = new RosterChange();
        if (_pending.TryGetValue(device.Identity, out TunDevice? pending))
        {
            Unschedule(pending, change);
        }

        if (Find(device) is { } entry)
        {
            Retire(entry, why, change);
        }

        return change;
    }

    private void Start(TunDevice device, RosterChange change)
    {
        var entry = new WatchedDevice(device);
        _watched[device.Identity] = entry;
        change.Started.Add(entry);
    }

    private void Retire(WatchedDevice entry, string why, RosterChange change)
    {
        _watched.Remove(entry.Device.Identity);
        entry.Retiring = true;
        change.Retired.Add((entry, why));
    }

    private void Unschedule(TunDevice pending, RosterChange change)
    {
        _pending.Remove(pending.Identity);
        change.Unscheduled.Add(pending);
    }
}

/// <summary>What one event changed in the <see cref="DeviceRoster"/>, for the supervisor to carry out in this order.</summary>
internal sealed class RosterChange
{
    /// <summary>Scheduled starts no longer wanted: cancel their timers.</summary>
    public List<TunDevice> Unscheduled { get; } = [];

    /// <summary>Devices no longer watched, and why (for the log line): stop their actors.</summary>
    public List<(WatchedDevice Entry, string Why)> Retired { get; } = [];

    /// <summary>Devices to watch now: start their actors.</summary>
    public List<WatchedDevice> Started { get; } = [];

    /// <summary>Devices to start after a delay (their share of the poll interval).</summary>
    public List<(TunDevice Device, TimeSpan Delay)> Scheduled { get; } = [];

    /// <summary>A namespace whose devices are known from now on (its first listing), or no longer (its discovery stopped).</summary>
    public NamespaceListing? Listing { get; set; }

    public bool IsEmpty => Unscheduled.Count == 0 && Retired.Count == 0 && Started.Count == 0 && Scheduled.Count == 0 && Listing is null;
}
