using Akka.Actor;
using Akka.Event;
using TunTelemetry.Devices;
using TunTelemetry.Hosting;

namespace TunTelemetry.Actors;

/// <summary>The supervisor started watching a device (sent to the <see cref="ReaderScanActor"/>).</summary>
public sealed record DeviceWatchStarted(TunDevice Device);

/// <summary>The supervisor stopped watching a device: its readers leave the export at once.</summary>
public sealed record DeviceWatchStopped(TunDevice Device);

/// <summary>The readers of every watched device, after a scan or a device's retirement; sent to the aggregator.</summary>
/// <param name="Scanned">Whether a scan has run at all (false while <c>reader-interval = off</c> or before the first).</param>
public sealed record ReadersObserved(bool Scanned, IReadOnlyList<DeviceReaders> Devices)
{
    public static ReadersObserved None { get; } = new(false, []);

    /// <summary>
    /// The readers of the watched device <paramref name="ifIndex"/>; null when it is not watched or not scanned. A walk:
    /// to look up every device, use <see cref="ByIfIndex"/>.
    /// </summary>
    public IReadOnlyList<TunReader>? For(int ifIndex) => Devices.FirstOrDefault(d => d.Device.IfIndex == ifIndex)?.Readers;

    /// <summary>Every watched device's readers by ifindex.</summary>
    public Dictionary<int, IReadOnlyList<TunReader>> ByIfIndex() => Devices.ToDictionary(d => d.Device.IfIndex, d => d.Readers);
}

/// <summary>One watched device and the processes holding it open (none: nothing reads it).</summary>
public sealed record DeviceReaders(TunDevice Device, IReadOnlyList<TunReader> Readers);

/// <summary>Asks the <see cref="ReaderScanActor"/> for the last <see cref="ReadersObserved"/>.</summary>
public sealed class GetReaders
{
    public static readonly GetReaders Instance = new();

    private GetReaders()
    {
    }
}

/// <summary>
/// Names the processes that read each watched device: scans <c>/proc</c> (<see cref="TunReaderScan"/>) every
/// <c>metrics.reader-interval</c> and about a second after devices appear (one scan for a burst of them), and tells
/// the aggregator the readers of the watched devices in the agent's own network namespace. A drop counter says a reader
/// fell behind; this says which process, and whether it is stopped.
/// </summary>
/// <remarks>
/// One actor for all devices, on Akka's default dispatcher: a scan reads every process's open files (milliseconds to
/// tens of milliseconds, see <c>perf/reader-scan.sh</c>) and must hold neither a poller's netlink thread nor the
/// aggregator's. Devices are matched by (namespace inode, name) so a same-named device of another namespace never
/// lends its readers; only the agent's own namespace is watched.
/// </remarks>
public sealed class ReaderScanActor : ReceiveActor, IWithTimers
{
    /// <summary>How long after a device appears the scan runs: devices found together share one scan.</summary>
    public static readonly TimeSpan AppearanceDelay = TimeSpan.FromSeconds(1);

    private readonly IActorRef _aggregator;
    private readonly TimeSpan? _interval;
    private readonly Func<TunReaderTable> _scan;
    private readonly ulong? _ownNetns;
    private readonly Dictionary<int, TunDevice> _watched = [];
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private TunReaderTable? _table;
    private ReadersObserved _last = ReadersObserved.None;
    private bool _saidHidden;
    private bool _publishPending;

    public ReaderScanActor(IActorRef aggregator, TimeSpan? interval, Func<TunReaderTable> scan, ulong? ownNetns)
    {
        _aggregator = aggregator;
        _interval = ownNetns is null ? null : interval;
        _scan = scan;
        _ownNetns = ownNetns;
        Receive<DeviceWatchStarted>(OnStarted);
        Receive<DeviceWatchStopped>(OnStopped);
        Receive<Scan>(_ => OnScan());
        Receive<PublishNow>(_ => Publish());
        Receive<GetReaders>(_ => Sender.Tell(_last));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="interval"><c>metrics.reader-interval</c>; null (off) never scans.</param>
    /// <param name="scan">The scan (tests may count calls); <see cref="TunReaderScan.Scan"/> by default.</param>
    /// <param name="ownNetns">The agent's namespace inode; read from <c>/proc/self/ns/net</c> by default.</param>
    public static Props Props(IActorRef aggregator, TimeSpan? interval, Func<TunReaderTable>? scan = null, ulong? ownNetns = null)
    {
        Func<TunReaderTable> run = scan ?? TunReaderScan.Scan;
        ulong? netns = ownNetns ?? TunReaderScan.OwnNetNamespace();
        return Akka.Actor.Props.Create(() => new ReaderScanActor(aggregator, interval, run, netns));
    }

    /// <summary>The props for <paramref name="options"/>, as the host starts it.</summary>
    public static Props Props(IActorRef aggregator, TunTelemetryOptions options) => Props(aggregator, options.ReaderInterval);

    protected override void PreStart()
    {
        if (_ownNetns is null)
        {
            _log.Warning("Cannot read /proc/self/ns/net: the readers of devices (tundev.reader) are not reported");
            return;
        }

        if (_interval is { } interval)
        {
            Timers.StartPeriodicTimer(TickKey.Instance, Scan.Instance, interval);
        }
    }

    private void OnStarted(DeviceWatchStarted started)
    {
        _watched[started.Device.IfIndex] = started.Device;
        if (_interval is not null && !Timers.IsTimerActive(AppearanceKey.Instance))
        {
            Timers.StartSingleTimer(AppearanceKey.Instance, Scan.Instance, AppearanceDelay);
        }
    }

    private void OnStopped(DeviceWatchStopped stopped)
    {
        // A burst of retirements (a re-list, a namespace going away) is published once: a publish walks every device.
        if (_watched.Remove(stopped.Device.IfIndex) && _table is not null && !_publishPending)
        {
            _publishPending = true;
            Self.Tell(PublishNow.Instance);
        }
    }

    private void OnScan()
    {
        TunReaderTable table;
        try
        {
            table = _scan();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            // A restart would forget the watched devices; keep the last readers until the next scan instead.
            _log.Warning("Scanning /proc for device readers failed: {0}", e.Message);
            return;
        }

        _table = table;
        if (table.HiddenProcesses > 0 && !_saidHidden)
        {
            // Once: the count changes with every process started, and the reason does not.
            _saidHidden = true;
            _log.Info("Sees the open files of {0} of {1} processes (not root: only its own user's); tundev.reader names readers among those only",
                table.Processes - table.HiddenProcesses, table.Processes);
        }

        Publish();
    }

    private void Publish()
    {
        _publishPending = false;
        ulong netns = _ownNetns!.Value;
        TunReaderTable table = _table!;
        _last = new ReadersObserved(true, _watched.Values
            .OrderBy(d => d.IfIndex)
            .Select(d => new DeviceReaders(d, table.Readers(netns, d.Name)))
            .ToArray());
        _aggregator.Tell(_last);
    }

    private sealed class Scan
    {
        public static readonly Scan Instance = new();

        private Scan()
        {
        }
    }

    private sealed class PublishNow
    {
        public static readonly PublishNow Instance = new();

        private PublishNow()
        {
        }
    }

    private sealed class TickKey
    {
        public static readonly TickKey Instance = new();

        private TickKey()
        {
        }
    }

    private sealed class AppearanceKey
    {
        public static readonly AppearanceKey Instance = new();

        private AppearanceKey()
        {
        }
    }
}
