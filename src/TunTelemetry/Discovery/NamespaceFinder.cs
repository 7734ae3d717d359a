using System.Collections.Concurrent;
using TunTelemetry.Netlink;

namespace TunTelemetry.Discovery;

/// <summary>
/// Follows the host's network namespaces: a scan at start, then a scan whenever a netns directory changes (inotify)
/// and at least every <c>rescanInterval</c> (processes entering new namespaces make no file event). Reports each
/// namespace appearing and going, with its name, from a thread of its own: discovery never runs on the poll path.
/// A namespace first found through a process and then bind-mounted (<c>ip netns add</c> is such a process for a
/// moment) is reported as appearing again, with the bind mount's name and path: the process may be gone by the time
/// its path is opened. A namespace found at a known one's id under other bind mounts only is another one: the known
/// one is reported gone, and the other one appearing.
/// </summary>
/// <remarks>
/// "Gone" is decided by the scan alone (no process in it and no bind mount), never by the kernel: any descriptor or
/// socket opened in a namespace keeps it alive, so a finder that waited for the kernel would keep it forever. A
/// namespace found dead otherwise (its poller heard the kernel drop its id) is forgotten when the caller says so
/// (<see cref="Forget"/>).
/// Callbacks run on the finder's thread, one at a time; an exception from one is reported and the finder goes on.
/// </remarks>
internal sealed class NamespaceFinder : IDisposable
{
    // ip netns add creates the file, then mounts the namespace on it: look again soon rather than a rescan later.
    private static readonly TimeSpan UnreadyRetry = TimeSpan.FromMilliseconds(100);

    private readonly NamespaceScanner _scanner;
    private readonly TimeSpan _rescanInterval;
    private readonly Action<NamespaceChange> _onChange;
    private readonly Action<string> _onWarning;
    private readonly WakeupEvent _stop = new();
    private readonly ManualResetEventSlim _stopped = new();
    private readonly InotifyWatch _inotify = new();
    private readonly Dictionary<NetworkNamespaceId, NamespaceChange> _known = [];
    private readonly ConcurrentQueue<NetworkNamespaceId> _forgotten = new();
    private Thread? _thread;
    private bool _warnedDenied;

    public NamespaceFinder(NamespaceScanner scanner, TimeSpan rescanInterval, Action<NamespaceChange> onChange, Action<string> onWarning)
    {
        if (rescanInterval < TimeSpan.FromMilliseconds(100) || rescanInterval > TimeSpan.FromHours(1))
        {
            throw new ArgumentOutOfRangeException(nameof(rescanInterval), rescanInterval, "must be from 100 ms to 1 hour");
        }

        _scanner = scanner;
        _rescanInterval = rescanInterval;
        _onChange = onChange;
        _onWarning = onWarning;
    }

    /// <summary>Scans once (reporting every namespace found as appeared) and starts following.</summary>
    public void Start()
    {
        _inotify.WatchExisting(_scanner.NetnsDirectories);
        TimeSpan wait = ScanAndReport();
        _thread = new Thread(() => Run(wait)) { IsBackground = true, Name = "tuntelemetry-netns-finder" };
        _thread.Start();
    }

    /// <summary>
    /// Forgets the namespace known at <paramref name="id"/>, which its caller found dead, without reporting it gone
    /// (the caller knows): the kernel may have given its inode to a new namespace already, with no bind mount of the
    /// dead one's to tell them apart (<see cref="IsAnother"/>), and whatever a scan finds there from then on is
    /// reported as appeared. Safe from any thread; done at the next scan (a netns directory's change, or the rescan
    /// interval at the latest).
    /// </summary>
    public void Forget(NetworkNamespaceId id) => _forgotten.Enqueue(id);

    public void Dispose()
    {
        _stopped.Set();
        _stop.Set();
        _thread?.Join();
        _inotify.Dispose();
        _stop.Dispose();
        _stopped.Dispose();
    }

    private void Run(TimeSpan wait)
    {
        while (true)
        {
            try
            {
                if (!WaitForChange(wait))
                {
                    return;
                }

                _inotify.Drain();
                _inotify.WatchExisting(_scanner.NetnsDirectories);
            }
            catch (Exception e)
            {
                // Never end the agent over discovery: fall back to rescans alone.
                _onWarning($"network namespace watch failed, rescanning every {_rescanInterval.TotalSeconds:0.#} s: {e.Message}");
                if (_stopped.Wait(_rescanInterval))
                {
                    return;
                }
            }

            wait = ScanAndReport();
        }
    }

    /// <summary>Scans, reports the difference; returns how long to wait before the next scan.</summary>
    private TimeSpan ScanAndReport()
    {
        // Before the scan, so that it looks after each of these namespaces died and cannot find one of them again.
        while (_forgotten.TryDequeue(out NetworkNamespaceId dead))
        {
            _known.Remove(dead);
        }

        NamespaceScan scan;
        try
        {
            scan = _scanner.Scan();
        }
        catch (Exception e)
        {
            _onWarning($"network namespace scan failed, trying again in {_rescanInterval.TotalSeconds:0.#} s: {e.Message}");
            return _rescanInterval;
        }

        if (scan.ProcessesDenied > 0 && !_warnedDenied)
        {
            _warnedDenied = true;
            _onWarning($"cannot see the network namespaces of {scan.ProcessesDenied} processes of other users: following " +
                "/proc/PID/ns/net needs CAP_SYS_PTRACE; watching the namespaces in " +
                $"{string.Join(", ", _scanner.NetnsDirectories)} and of processes it may see");
        }

        foreach (NetworkNamespaceId gone in _known.Keys.Where(id => !scan.Namespaces.ContainsKey(id)).ToList())
        {
            NamespaceChange last = _known[gone];
            _known.Remove(gone);
            Report(last with { Kind = NamespaceChangeKind.Gone });
        }

        foreach ((NetworkNamespaceId id, DiscoveredNamespace ns) in scan.Namespaces)
        {
            if (_known.TryGetValue(id, out NamespaceChange? known) && IsAnother(known.Namespace, ns))
            {
                // Gone before the new one appears, so that the dead one's poller is stopped, not kept for the new one.
                _known.Remove(id);
                Report(known with { Kind = NamespaceChangeKind.Gone });
                known = null;
            }

            if (known is null || (known.Namespace.BindMounts.Count == 0 && ns.BindMounts.Count > 0))
            {
                var change = new NamespaceChange(NamespaceChangeKind.Appeared, ns, NamespaceNaming.NameOf(ns, _scanner.ReadCgroup));
                _known[id] = change;
                Report(change);
            }
        }

        return scan.UnreadyBindMounts > 0 ? UnreadyRetry : _rescanInterval;
    }

    /// <summary>
    /// Whether a namespace found at a known namespace's id is another one: the kernel gives a dead namespace's inode to
    /// the next namespace made, at once, so between two scans one can die and another take its id, and the id alone
    /// would take the new one for the dead one (never reported gone, the new one never reported at all). Bind mounts
    /// tell them apart: a namespace that had some and is found under others only has lost all of its own (a mount
    /// point cannot be renamed), which means it died; at worst (its last bind mount removed while a process kept it
    /// alive, and another one made for it) a live namespace is reported again under its new name.
    /// </summary>
    private static bool IsAnother(DiscoveredNamespace known, DiscoveredNamespace found) =>
        known.BindMounts.Count > 0 && found.BindMounts.Count > 0 && !found.BindMounts.Any(known.BindMounts.Contains);

    private void Report(NamespaceChange change)
    {
        try
        {
            _onChange(change);
        }
        catch (Exception e)
        {
            _onWarning($"handling {change.Kind} of network namespace {change.Name} failed: {e.Message}");
        }
    }

    /// <summary>Waits for a netns directory event or the timeout (true), or a stop (false).</summary>
    private bool WaitForChange(TimeSpan timeout) =>
        DescriptorReadiness.Wait(_inotify.Handle, _stop, (int)timeout.TotalMilliseconds) != Readiness.Woken;
}
