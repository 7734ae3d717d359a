using Akka.Actor;
using Akka.Event;
using TunTelemetry.Devices;
using TunTelemetry.Hosting;

namespace TunTelemetry.Readers;

/// <summary>The supervisor started watching a device (sent to the <see cref="ReaderScanActor"/>).</summary>
internal sealed record DeviceWatchStarted(TunDevice Device);

/// <summary>The supervisor stopped watching a device: its readers leave the export at once.</summary>
internal sealed record DeviceWatchStopped(TunDevice Device);

/// <summary>
/// With <c>--all-namespaces</c>, the devices of this namespace are known now (<paramref name="Listed"/>: listed, maybe
/// none), or no longer (its discovery stopped). A holder of a TUN queue whose process is in a listed namespace, but
/// whose device is not, has moved its device to another namespace.
/// </summary>
internal sealed record NamespaceListing(ulong Netns, bool Listed);

/// <summary>
/// The readers of every watched device, after a scan or a device's retirement; sent to the aggregator. With
/// <c>--all-namespaces</c> it has the devices of every watched namespace, each carrying its namespace.
/// </summary>
/// <param name="Scanned">Whether a scan has run at all (false while <c>reader-interval = off</c> or before the first).</param>
internal sealed record ReadersObserved(bool Scanned, IReadOnlyList<DeviceReaders> Devices)
{
    public static ReadersObserved None { get; } = new(false, []);

    /// <summary>
    /// The readers of the watched device <paramref name="ifIndex"/> of the agent's own namespace; null when it is not
    /// watched or not scanned. A walk: to look up every device, use <see cref="ByIfIndex"/>.
    /// </summary>
    public IReadOnlyList<TunReader>? For(int ifIndex) => Devices.FirstOrDefault(d => d.Device.Home.IsAgents && d.Device.IfIndex == ifIndex)?.Readers;

    /// <summary>The readers of every watched device of the agent's own namespace, by ifindex (ifindexes repeat across namespaces).</summary>
    public Dictionary<int, IReadOnlyList<TunReader>> ByIfIndex() =>
        Devices.Where(d => d.Device.Home.IsAgents).ToDictionary(d => d.Device.IfIndex, d => d.Readers);

    /// <summary>
    /// The CPU of each reader of a watched device, by pid, read with the scan (<see cref="ReaderCpu"/>); a reader whose
    /// CPU could not be read is absent.
    /// </summary>
    internal IReadOnlyDictionary<int, ReaderCpu> Cpu { get; init; } = new Dictionary<int, ReaderCpu>();

    /// <summary>Every watched device's readers by (namespace inode, ifindex).</summary>
    internal Dictionary<DeviceId, IReadOnlyList<TunReader>> ByIdentity() =>
        Devices.ToDictionary(d => d.Device.Identity, d => d.Readers);
}

/// <summary>One watched device and the processes holding it open (none: nothing reads it).</summary>
internal sealed record DeviceReaders(TunDevice Device, IReadOnlyList<TunReader> Readers);

/// <summary>Asks the <see cref="ReaderScanActor"/> for the last <see cref="ReadersObserved"/>.</summary>
internal sealed class GetReaders
{
    public static readonly GetReaders Instance = new();

    private GetReaders()
    {
    }
}

/// <summary>
/// Names the processes that read each watched device: scans <c>/proc</c> (<see cref="TunReaderScan"/>) every
/// <c>metrics.reader-interval</c> and about a second after devices appear (one scan for a burst of them, which looks
/// at every process; the periodic ones list only processes that changed, see <see cref="ReaderScanCache"/>), and tells
/// the aggregator the readers of the devices the device supervisor watches, in every namespace. A drop counter says a
/// reader fell behind; this says which
/// process, and whether it is stopped.
/// </summary>
/// <remarks>
/// One actor for all devices and namespaces, on a thread of its own (<see cref="Dispatch.ReaderDispatcher"/>): a scan reads every process's open files
/// (milliseconds to hundreds of milliseconds, see <c>perf/reader-scan.sh</c>) and must hold neither a poller's netlink
/// thread nor the aggregator's; one scan serves every namespace, since it walks all of <c>/proc</c> anyway. Readers are
/// matched to devices by (namespace inode, name), so a same-named device of another namespace never lends its readers;
/// a holder whose device or process changed namespace after it attached is handled as
/// <see cref="ReaderAttribution"/> says.
/// </remarks>
internal sealed class ReaderScanActor : ReceiveActor, IWithTimers
{
    /// <summary>How long after a device appears the scan runs: devices found together share one scan.</summary>
    public static readonly TimeSpan AppearanceDelay = TimeSpan.FromSeconds(1);

    private readonly IActorRef _aggregator;
    private readonly TimeSpan? _interval;
    private readonly Func<bool, TunReaderTable> _scan;
    private readonly Func<int, ReaderCpu?> _sampleCpu;
    private readonly ulong? _ownNetns;
    private readonly Dictionary<DeviceId, TunDevice> _watched = [];
    private readonly HashSet<ulong> _listedNamespaces = [];
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private TunReaderTable? _table;
    private ReadersObserved _last = ReadersObserved.None;
    private bool _saidHidden;
    private bool _saidAmbiguous;
    private bool _publishPending;
    private bool _deviceAppeared;

    internal ReaderScanActor(IActorRef aggregator, TimeSpan? interval, Func<bool, TunReaderTable> scan, ulong? ownNetns, Func<int, ReaderCpu?> sampleCpu)
    {
        _aggregator = aggregator;
        _interval = ownNetns is null ? null : interval;
        _scan = scan;
        _sampleCpu = sampleCpu;
        _ownNetns = ownNetns;
        Receive<DeviceWatchStarted>(OnStarted);
        Receive<DeviceWatchStopped>(OnStopped);
        Receive<NamespaceListing>(m => _ = m.Listed ? _listedNamespaces.Add(m.Netns) : _listedNamespaces.Remove(m.Netns));
        Receive<Scan>(_ => OnScan());
        Receive<PublishNow>(_ => PublishWithoutLeft());
        Receive<GetReaders>(_ => Sender.Tell(_last));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="interval"><c>metrics.reader-interval</c>; null (off) never scans.</param>
    /// <param name="scan">
    /// The scan (tests may count calls); by default one that lists only what changed since the last, and every process
    /// after a device appeared and every <see cref="ReaderScanCache.DefaultFullScanInterval"/> (<see cref="TunReaderScan"/>).
    /// </param>
    /// <param name="ownNetns">The agent's namespace inode; read from <c>/proc/self/ns/net</c> by default.</param>
    public static Props Props(IActorRef aggregator, TimeSpan? interval, Func<TunReaderTable>? scan = null, ulong? ownNetns = null) =>
        Props(aggregator, interval, scan is null ? null : _ => scan(), ownNetns, sampleCpu: null);

    /// <param name="scan">The scan, told whether a device appeared since the last one (which makes it look at every process).</param>
    /// <param name="sampleCpu">Reads a reader's CPU by pid (<see cref="ReaderCpuSampler"/> by default).</param>
    /// <param name="fullScanInterval"><c>metrics.reader-full-scan-interval</c>, for the default scan.</param>
    internal static Props Props(IActorRef aggregator, TimeSpan? interval, Func<bool, TunReaderTable>? scan, ulong? ownNetns, Func<int, ReaderCpu?>? sampleCpu,
        TimeSpan? fullScanInterval = null)
    {
        Func<bool, TunReaderTable> run = scan ?? TunReaderScan.Incremental(fullScanInterval ?? ReaderScanCache.DefaultFullScanInterval);
        ulong? netns = ownNetns ?? TunReaderScan.OwnNetNamespace();
        Func<int, ReaderCpu?> sample = sampleCpu ?? new ReaderCpuSampler().Sample;
        // A producer, not Props.Create(() => new ...): Akka's activator finds public constructors only, and this one
        // takes an internal type.
        return Akka.Actor.Props.CreateBy(new Producer(() => new ReaderScanActor(aggregator, interval, run, netns, sample)));
    }

    /// <summary>The props for <paramref name="options"/>, as the host starts it.</summary>
    public static Props Props(IActorRef aggregator, TunTelemetryOptions options) =>
        Props(aggregator, options.ReaderInterval, scan: null, ownNetns: null, sampleCpu: null, options.ReaderFullScanInterval);

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
        _watched[started.Device.Identity] = started.Device;
        ScanSoon(); // its readers a second later, one scan for a burst of devices
    }

    private void OnStopped(DeviceWatchStopped stopped)
    {
        if (_watched.Remove(stopped.Device.Identity))
        {
            PublishSoon(); // its readers go without waiting for a scan
        }
    }

    /// <summary>Devices appeared: one scan a second later for all that appear meanwhile.</summary>
    private void ScanSoon()
    {
        _deviceAppeared = true; // the next scan looks at every process: its reader may be one seen before with the same file count
        if (_interval is not null && !Timers.IsTimerActive(AppearanceKey.Instance))
        {
            Timers.StartSingleTimer(AppearanceKey.Instance, Scan.Instance, AppearanceDelay);
        }
    }

    /// <summary>
    /// Devices left: their readers go at once. A burst of retirements (a re-list, a namespace going away) is published
    /// once: a publish walks every device.
    /// </summary>
    private void PublishSoon()
    {
        if (_table is not null && !_publishPending)
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
            table = _scan(_deviceAppeared);
            _deviceAppeared = false;
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

    /// <summary>
    /// The last readers, without the devices that left since; devices that came since have none until their scan. Not
    /// attributed again from the last table: a holder of a device that left could then be given, as a moved holder, to
    /// a same-named device elsewhere that it does not hold.
    /// </summary>
    private void PublishWithoutLeft()
    {
        _publishPending = false;
        Dictionary<TunDevice, IReadOnlyList<TunReader>> last = _last.Devices.ToDictionary(d => d.Device, d => d.Readers);
        _last = new ReadersObserved(true, Watched()
            .Select(w => new DeviceReaders(w.Device, last.GetValueOrDefault(w.Device) ?? []))
            .ToArray())
        { Cpu = _last.Cpu };
        _aggregator.Tell(_last);
    }

    /// <summary>Every watched device with its namespace inode: the agent's own, then each other namespace's, by ifindex.</summary>
    private List<(ulong Netns, TunDevice Device)> Watched()
    {
        ulong own = _ownNetns!.Value;
        return _watched.Values
            .Select(d => (Netns: d.Home.IsAgents ? own : d.Home.Inode, Device: d))
            .OrderBy(w => !w.Device.Home.IsAgents).ThenBy(w => w.Netns).ThenBy(w => w.Device.IfIndex)
            .ToList();
    }

    private void Publish()
    {
        _publishPending = false;
        ulong own = _ownNetns!.Value;
        List<(ulong Netns, TunDevice Device)> watched = Watched();
        var listed = new HashSet<ulong>(_listedNamespaces) { own };
        ReaderAttribution.Attributed attributed = ReaderAttribution.Attribute(_table!, watched, listed);
        if (attributed.Ambiguous > 0 && !_saidAmbiguous)
        {
            // Once: which device a holder means cannot be told until the names stop repeating, and saying it every scan adds nothing.
            _saidAmbiguous = true;
            _log.Info("{0} process(es) hold a TUN/TAP device whose name is watched in several network namespaces, but none in their own: " +
                "the device's namespace cannot be told from /proc, so they are not reported as its readers", attributed.Ambiguous);
        }

        DeviceReaders[] devices = watched.Select((w, i) => new DeviceReaders(w.Device, attributed.Readers[i])).ToArray();
        // The CPU of every reader of a watched device: nothing for devices without readers.
        _last = new ReadersObserved(true, devices) { Cpu = ReaderCpuSampler.SampleEach(devices.SelectMany(d => d.Readers), _sampleCpu) };
        _aggregator.Tell(_last);
    }

    private sealed class Producer(Func<ReaderScanActor> create) : IIndirectActorProducer
    {
        public Type ActorType => typeof(ReaderScanActor);

        public ActorBase Produce() => create();

        public void Release(ActorBase actor)
        {
        }
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
