using TunTelemetry.Devices;
using TunTelemetry.Netlink;

namespace TunTelemetry.Hosting;

/// <summary>
/// The agent's settings, read from the <c>tuntelemetry</c> section of <c>hocon.conf</c> by
/// <see cref="TunTelemetryConfig"/>, which validates every value. Defaults match <c>hocon.conf</c>.
/// </summary>
/// <remarks>
/// A host sets the common ones in code (<c>TunTelemetryOptions.Default with { PollInterval = ... }</c>). The agent's
/// tuning knobs (<see cref="ReaderFullScanInterval"/>, <see cref="DescriptorReserve"/>, <see cref="NetlinkDispatcher"/>,
/// <see cref="ControlDispatcher"/>) are read-only here: they come from HOCON through <see cref="TunTelemetryConfig.Read"/>.
/// </remarks>
public sealed record TunTelemetryOptions
{
    public static TunTelemetryOptions Default { get; } = new();

    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(15);

    public TimeSpan NetlinkTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Devices found together (at start, after a re-list) start spread evenly over one poll interval, so thousands of
    /// pollers do not all hit the kernel and the aggregator in the same instant every interval.
    /// </summary>
    public bool PollSpread { get; init; } = true;

    public DeviceSelection Devices { get; init; } = DeviceSelection.All;

    /// <summary>
    /// Watch the TUN devices of every network namespace on the host (<c>tuntelemetry.namespaces = all</c>,
    /// <c>--all-namespaces</c>), not only the agent's own; every series then carries <c>linux.netns.inode</c> and
    /// <c>linux.netns.name</c>. Needs <c>CAP_NET_ADMIN</c>; without it the agent says so once and keeps its own namespace.
    /// </summary>
    public bool AllNamespaces { get; init; }

    /// <summary>Export the 17 detailed series per device besides the default 9.</summary>
    public bool DetailedMetrics { get; init; }

    /// <summary>Start the link-state actor (MTU, txqueuelen, operational state gauges) for every device.</summary>
    public bool LinkStateMetrics { get; init; } = true;

    /// <summary>
    /// How often the link-state actor reads MTU, txqueuelen and operational state. They change rarely, and an
    /// RTM_GETLINK reply is seven times the size of a stats reply, so they are read less often than counters.
    /// </summary>
    public TimeSpan LinkStateInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How often the <c>/proc</c> scan for each device's readers runs (<c>metrics.reader-interval</c>), besides once
    /// shortly after devices appear; null (<c>off</c>) never scans, and no <c>tundev.reader</c> series are exported. A
    /// scan reads every process's open files, so it runs far less often than polls, and never on their threads.
    /// </summary>
    public TimeSpan? ReaderInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How often the reader scan lists every process's open files (<c>metrics.reader-full-scan-interval</c>). The scans
    /// between list only processes that are new, hold a <c>/dev/net/tun</c>, or whose open-file count changed (one
    /// <c>statx</c> each otherwise), and a device appearing makes the next scan full; this slow full scan is the safety
    /// net for a process that swaps one open file for a TUN queue between two scans. At least <see cref="ReaderInterval"/>.
    /// </summary>
    public TimeSpan ReaderFullScanInterval { get; internal init; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// Devices the exporter keeps series for. The OpenTelemetry SDK reserves this many points per series kind up front
    /// and folds anything beyond into one overflow series, so it must exceed the devices a host will ever have.
    /// </summary>
    public int MaxDevices { get; init; } = 10_000;

    /// <summary>
    /// How long a deleted (or no longer watched) device's series stay exported (<c>metrics.retain-deleted</c>). A device
    /// re-created under the same name within it continues its series; after it, the series leave the export and their
    /// memory is freed. Zero: at the next export.
    /// </summary>
    public TimeSpan RetainDeleted { get; init; } = TimeSpan.FromMinutes(5);

    public BackoffSettings Backoff { get; init; } = BackoffSettings.Default;

    /// <summary>
    /// Where the agent serves its metrics for Prometheus to scrape (<c>prometheus.listen</c>); null, the default, opens
    /// no port. The library only carries the setting: the host chooses and runs the exporter.
    /// </summary>
    internal ListenAddress? PrometheusListen { get; init; }

    /// <summary>
    /// Descriptors under <c>RLIMIT_NOFILE</c> that per-device and per-namespace sockets leave to the process itself
    /// (<see cref="Netlink.DescriptorReserve.AgentDefault"/>, which says how it was measured). A device whose socket would eat
    /// into them is not watched for now and retried (the supervisor says so in one line); 0 lets sockets take the last
    /// descriptor, after which the runtime cannot start a thread or load an assembly and the process dies.
    /// </summary>
    public int DescriptorReserve { get; internal init; } = Netlink.DescriptorReserve.AgentDefault;

    /// <summary>
    /// How every request/reply socket of the agent is opened: bounded by <see cref="NetlinkTimeout"/>, leaving
    /// <see cref="DescriptorReserve"/> descriptors free.
    /// </summary>
    internal NetlinkSocketOptions RequestSocket => new() { ReceiveTimeout = NetlinkTimeout, KeepFreeDescriptors = DescriptorReserve };

    /// <summary>
    /// The Akka scheduler tick TunTelemetry asks for when the host sets none: a thirtieth of the poll interval, within
    /// 100 ms to 500 ms. Every tick wakes the timer and a thread for the pollers that are due, so coarser ticks cost less
    /// (at 10,000 devices polled every 15 s, 500 ms ticks measured 0.90 % of a core against 1.20 % with 100 ms); a
    /// thirtieth keeps a poll within about 3 % of its interval and still gives poll spreading 30 slots per interval.
    /// </summary>
    internal TimeSpan SchedulerTick => TimeSpan.FromMilliseconds(Math.Clamp(PollInterval.TotalMilliseconds / 30, 100, 500));

    /// <summary>
    /// The scheduler the agent runs on: <see cref="Dispatch.QuietTickScheduler"/> (one thread, woken once per tick that
    /// has work due) with <see cref="SchedulerTick"/>. A host opts in with
    /// <see cref="AkkaConfigurationBuilderExtensions.WithTunTelemetryScheduler"/>; the library never sets it on its own,
    /// because the scheduler is the whole actor system's.
    /// </summary>
    internal string SchedulerHocon => $$"""
        akka.scheduler.implementation = "{{typeof(Dispatch.QuietTickScheduler).FullName}}, {{typeof(Dispatch.QuietTickScheduler).Assembly.GetName().Name}}"
        akka.scheduler.tick-duration = {{(int)SchedulerTick.TotalMilliseconds}}ms
        """;

    /// <summary>The dispatcher the per-device actors run on (see <see cref="Dispatch.NetlinkDispatcher"/>).</summary>
    public string NetlinkDispatcher { get; internal init; } = Dispatch.NetlinkDispatcher.Id;

    /// <summary>
    /// The dispatcher of the device supervisor and the metrics aggregator (see <see cref="Dispatch.ControlDispatcher"/>):
    /// never one whose threads block in netlink calls.
    /// </summary>
    public string ControlDispatcher { get; internal init; } = Dispatch.ControlDispatcher.Id;
}
