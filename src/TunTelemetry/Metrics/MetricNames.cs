namespace TunTelemetry.Metrics;

/// <summary>
/// Instrument and attribute names, documented in README's metric table. Semantic-convention names
/// (<c>system.network.*</c>, <c>network.*</c>) follow OpenTelemetry semantic conventions v1.37; <c>tundev.*</c> are ours.
/// </summary>
/// <remarks>
/// Public are the names an extension meets: the device attributes every one of its series carries (and which its own
/// attributes may not reuse) and the restart counters of its actors. Every name, public or not, is part of the
/// compatibility promise (docs/extending.md, "Compatibility"), and none may be declared as a
/// <see cref="DeviceInstrument"/>.
/// </remarks>
public static class MetricNames
{
    internal const string TxQueueDrops = "tundev.txq.drops";
    internal const string NetworkIo = "system.network.io";
    internal const string NetworkPacketCount = "system.network.packet.count";
    internal const string NetworkErrors = "system.network.errors";
    internal const string NetworkPacketDropped = "system.network.packet.dropped";

    internal const string LinkErrors = "tundev.link.errors";
    internal const string LinkMulticast = "tundev.link.multicast";
    internal const string LinkCollisions = "tundev.link.collisions";
    internal const string LinkCompressed = "tundev.link.compressed";
    internal const string LinkNoHandler = "tundev.link.nohandler";
    internal const string LinkOtherhostDropped = "tundev.link.otherhost_dropped";

    internal const string LinkMtu = "tundev.link.mtu";
    internal const string LinkTxQueueLength = "tundev.link.txqueuelen";
    internal const string LinkOperState = "tundev.link.oper_state";
    internal const string LinkUp = "tundev.link.up";
    internal const string LinkQueues = "tundev.link.queues";
    internal const string Reader = "tundev.reader";
    internal const string ReaderStopped = "tundev.reader.stopped";
    internal const string ProcessCpuTime = "process.cpu.time";
    internal const string ReaderCpuDelay = "tundev.reader.cpu.delay";
    internal const string ReaderCgroupPeriods = "tundev.reader.cgroup.cpu.periods";
    internal const string ReaderCgroupThrottled = "tundev.reader.cgroup.cpu.throttled";
    internal const string ReaderCgroupThrottledTime = "tundev.reader.cgroup.cpu.throttled_time";
    internal const string ReaderCgroupQuota = "tundev.reader.cgroup.cpu.quota";
    internal const string ReaderCgroupPeriod = "tundev.reader.cgroup.cpu.period";

    internal const string PollDuration = "tuntelemetry.poll.duration";
    internal const string PollFailures = "tuntelemetry.poll.failures";
    public const string PollerRestarts = "tuntelemetry.poller.restarts";
    public const string PollerGaveUp = "tuntelemetry.poller.gave_up";
    internal const string DevicesWatched = "tuntelemetry.devices.watched";
    internal const string DevicesWaiting = "tuntelemetry.devices.waiting";

    public const string InterfaceName = "network.interface.name";
    internal const string Direction = "network.io.direction";
    internal const string ErrorType = "error.type";
    internal const string ProcessPid = "process.pid";
    internal const string ProcessExecutableName = "process.executable.name";
    internal const string QueueState = "state";
    internal const string CpuMode = "cpu.mode";

    /// <summary>The inode of a device's network namespace (its nsfs file); on devices outside the agent's own namespace, and on every device with <c>--all-namespaces</c>.</summary>
    public const string NetnsInode = "linux.netns.inode";

    /// <summary>That namespace's name: its <c>ip netns</c> name, else its container id, else <c>pid:</c> and its lowest pid.</summary>
    public const string NetnsName = "linux.netns.name";

    internal const string Receive = "receive";
    internal const string Transmit = "transmit";
    internal const string QueueEnabled = "enabled";
    internal const string QueueDisabled = "disabled";
}
