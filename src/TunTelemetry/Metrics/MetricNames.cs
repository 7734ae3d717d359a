namespace TunTelemetry.Metrics;

/// <summary>
/// Instrument and attribute names: a public API, documented in README's metric table. Semantic-convention names
/// (<c>system.network.*</c>, <c>network.*</c>) follow OpenTelemetry semantic conventions v1.37; <c>tundev.*</c> are ours.
/// </summary>
public static class MetricNames
{
    public const string TxQueueDrops = "tundev.txq.drops";
    public const string NetworkIo = "system.network.io";
    public const string NetworkPacketCount = "system.network.packet.count";
    public const string NetworkErrors = "system.network.errors";
    public const string NetworkPacketDropped = "system.network.packet.dropped";

    public const string LinkErrors = "tundev.link.errors";
    public const string LinkMulticast = "tundev.link.multicast";
    public const string LinkCollisions = "tundev.link.collisions";
    public const string LinkCompressed = "tundev.link.compressed";
    public const string LinkNoHandler = "tundev.link.nohandler";
    public const string LinkOtherhostDropped = "tundev.link.otherhost_dropped";

    public const string LinkMtu = "tundev.link.mtu";
    public const string LinkTxQueueLength = "tundev.link.txqueuelen";
    public const string LinkOperState = "tundev.link.oper_state";
    public const string LinkUp = "tundev.link.up";
    public const string LinkQueues = "tundev.link.queues";
    public const string Reader = "tundev.reader";
    public const string ReaderStopped = "tundev.reader.stopped";
    public const string ProcessCpuTime = "process.cpu.time";
    public const string ReaderCpuDelay = "tundev.reader.cpu.delay";
    public const string ReaderCgroupPeriods = "tundev.reader.cgroup.cpu.periods";
    public const string ReaderCgroupThrottled = "tundev.reader.cgroup.cpu.throttled";
    public const string ReaderCgroupThrottledTime = "tundev.reader.cgroup.cpu.throttled_time";
    public const string ReaderCgroupQuota = "tundev.reader.cgroup.cpu.quota";
    public const string ReaderCgroupPeriod = "tundev.reader.cgroup.cpu.period";

    public const string PollDuration = "tuntelemetry.poll.duration";
    public const string PollFailures = "tuntelemetry.poll.failures";
    public const string PollerRestarts = "tuntelemetry.poller.restarts";
    public const string PollerGaveUp = "tuntelemetry.poller.gave_up";
    public const string DevicesWatched = "tuntelemetry.devices.watched";
    public const string DevicesWaiting = "tuntelemetry.devices.waiting";

    public const string InterfaceName = "network.interface.name";
    public const string Direction = "network.io.direction";
    public const string ErrorType = "error.type";
    public const string ProcessPid = "process.pid";
    public const string ProcessExecutableName = "process.executable.name";
    public const string QueueState = "state";
    public const string CpuMode = "cpu.mode";

    /// <summary>The inode of a device's network namespace (its nsfs file); on devices outside the agent's own namespace, and on every device with <c>--all-namespaces</c>.</summary>
    public const string NetnsInode = "linux.netns.inode";

    /// <summary>That namespace's name: its <c>ip netns</c> name, else its container id, else <c>pid:</c> and its lowest pid.</summary>
    public const string NetnsName = "linux.netns.name";

    public const string Receive = "receive";
    public const string Transmit = "transmit";
    public const string QueueEnabled = "enabled";
    public const string QueueDisabled = "disabled";
}
