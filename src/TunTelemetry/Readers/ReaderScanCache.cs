namespace TunTelemetry.Readers;

/// <summary>
/// What one <c>statx</c> of <c>/proc/PID/fd</c> says about a process without listing its descriptors: which process
/// instance holds the pid, and how many files it has open.
/// </summary>
/// <param name="Instance">
/// The inode number of <c>/proc/PID/fd</c>. procfs makes that inode for one process (it holds the process's
/// <c>struct pid</c>, and a lookup whose process is gone makes a new one), so a pid reused by another process shows
/// another number; measured on Linux 6.18 with a pid forced back through <c>ns_last_pid</c>. It stands in for the
/// start time of <c>/proc/PID/stat</c>, which costs a read of about 13 µs per process against the 3.5 µs of the
/// <c>statx</c> that gives both numbers (docs/performance.md, "Reader discovery"). A new inode for the same process
/// (its dentry was evicted under memory pressure) only makes it listed again.
/// </param>
/// <param name="OpenFiles">
/// The number of open descriptors: procfs reports it as the directory's size since Linux 6.2 (0 before, which
/// <see cref="ReaderScanCache"/> is told at construction).
/// </param>
internal readonly record struct ProcessFingerprint(ulong Instance, long OpenFiles);

/// <summary>What listing a process's descriptors found.</summary>
internal enum ProcessFinding
{
    /// <summary>No <c>/dev/net/tun</c> open: not a reader while its fingerprint stays.</summary>
    Plain,

    /// <summary>
    /// At least one <c>/dev/net/tun</c> open, attached or not, or a holder whose namespace or state could not be read:
    /// listed again at every scan, since a queue can be attached (<c>TUNSETIFF</c>), moved to another device or
    /// renamed with no change in the count, and its state (stopped or not) is reported each scan.
    /// </summary>
    HoldsTun,

    /// <summary>Its descriptors could not be read (another user's, unprivileged): counted hidden while its fingerprint stays.</summary>
    Hidden,
}

/// <summary>What the scan does with one process.</summary>
internal enum ProcessLook
{
    /// <summary>List its descriptors.</summary>
    List,

    /// <summary>Seen before with the same fingerprint and no TUN queue: nothing to read.</summary>
    Skip,

    /// <summary>Seen before with the same fingerprint and hidden: count it hidden again.</summary>
    SkipHidden,
}

/// <summary>
/// Which processes a reader scan lists (<see cref="TunReaderScan"/>): the decisions, without system calls, so they are
/// tested alone. A process is listed when it is new, when its fingerprint changed (another process took the pid, or
/// it opened or closed files), when it holds a <c>/dev/net/tun</c>, on a full scan, and on every scan when the kernel
/// does not count open files (before Linux 6.2). Processes gone from <c>/proc</c> are forgotten at the end of each scan.
/// </summary>
/// <remarks>
/// A full scan runs first, when a device appeared since the last scan (its reader may be a process seen before that
/// swapped one file for the queue), and every <c>metrics.reader-full-scan-interval</c>. That slow full scan is the
/// safety net for what a fingerprint cannot see: a process without a TUN queue that, between two scans, closes one
/// descriptor and opens a queue of an existing device has the same count, so it is named by the next full scan, not
/// the next scan. A holder's own changes are all seen at the next scan, because holders are always listed.
/// </remarks>
internal sealed class ReaderScanCache
{
    /// <summary>The default <c>metrics.reader-full-scan-interval</c>.</summary>
    public static readonly TimeSpan DefaultFullScanInterval = TimeSpan.FromMinutes(15);

    // A periodic timer fires a little early or late: a full scan due within this much is not put off a whole interval.
    private static readonly TimeSpan Tolerance = TimeSpan.FromSeconds(1);

    private readonly Dictionary<int, Entry> _known = [];
    private readonly List<int> _gone = [];
    private readonly TimeSpan _fullScanInterval;
    private readonly bool _countsOpenFiles;
    private TimeSpan? _lastFull;
    private int _scan;

    /// <param name="fullScanInterval">How often every process is listed whatever its fingerprint.</param>
    /// <param name="countsOpenFiles">Whether <c>/proc/PID/fd</c>'s size is the open-file count (Linux ≥ 6.2); else every scan is full.</param>
    public ReaderScanCache(TimeSpan fullScanInterval, bool countsOpenFiles)
    {
        _fullScanInterval = fullScanInterval;
        _countsOpenFiles = countsOpenFiles;
    }

    /// <summary>Whether the scan in progress (or the last) lists every process.</summary>
    public bool Full { get; private set; }

    /// <summary>Processes the scan in progress (or the last) listed.</summary>
    public int Listed { get; private set; }

    /// <summary>Processes known: looked at by the last scan.</summary>
    public int Known => _known.Count;

    /// <summary>Starts a scan at <paramref name="now"/> (a monotonic clock); true when it is full.</summary>
    /// <param name="deviceAppeared">A device started being watched since the last scan.</param>
    public bool Begin(TimeSpan now, bool deviceAppeared)
    {
        _scan++;
        Listed = 0;
        Full = !_countsOpenFiles || deviceAppeared || _lastFull is not { } last || now - last >= _fullScanInterval - Tolerance;
        if (Full)
        {
            _lastFull = now;
        }

        return Full;
    }

    /// <summary>What to do with process <paramref name="pid"/>, whose fingerprint is now <paramref name="fingerprint"/>.</summary>
    public ProcessLook Look(int pid, ProcessFingerprint fingerprint)
    {
        if (!Full && _known.TryGetValue(pid, out Entry entry) && entry.Fingerprint == fingerprint && entry.Finding != ProcessFinding.HoldsTun)
        {
            _known[pid] = entry with { Seen = _scan };
            return entry.Finding == ProcessFinding.Hidden ? ProcessLook.SkipHidden : ProcessLook.Skip;
        }

        Listed++;
        return ProcessLook.List;
    }

    /// <summary>
    /// What listing <paramref name="pid"/> found; <paramref name="fingerprint"/> is the one taken before listing, so a
    /// change during the listing shows as a new fingerprint at the next scan.
    /// </summary>
    public void Record(int pid, ProcessFingerprint fingerprint, ProcessFinding finding) =>
        _known[pid] = new Entry(fingerprint, finding, _scan, _scan);

    /// <summary>Whether the scan in progress (or the last) listed <paramref name="pid"/>.</summary>
    public bool WasListed(int pid) => _known.TryGetValue(pid, out Entry entry) && entry.Listed == _scan;

    /// <summary>Ends the scan: processes it did not look at (exited, or left out) are forgotten.</summary>
    public void End()
    {
        foreach ((int pid, Entry entry) in _known)
        {
            if (entry.Seen != _scan)
            {
                _gone.Add(pid);
            }
        }

        foreach (int pid in _gone)
        {
            _known.Remove(pid);
        }

        _gone.Clear();
    }

    private readonly record struct Entry(ProcessFingerprint Fingerprint, ProcessFinding Finding, int Seen, int Listed);
}
