namespace TunTelemetry.Tests.Support;

/// <summary>
/// Netlink replies captured from a real kernel (see <c>Netlink/KernelCaptureTests.cs</c>, which produced them and
/// re-checks their shape against the running kernel). Names say what was asked and on which kernel.
/// </summary>
public static class Fixture
{
    /// <summary>RTM_GETSTATS for <c>lo</c> (ifindex 1) on Linux 6.18: RTM_NEWSTATS, 200-byte IFLA_STATS_LINK_64.</summary>
    public const string LoopbackStats = "rtm_newstats_lo_k6.18.bin";

    /// <summary>RTM_GETSTATS for ifindex 2147483647 on Linux 6.18: NLMSG_ERROR -ENODEV (48 bytes: error, the request echoed back).</summary>
    public const string NoSuchDevice = "rtm_getstats_enodev_k6.18.bin";

    /// <summary>RTM_GETSTATS for a TUN device after 3,000 packets into a full TX queue (tx_dropped 2,500), Linux 6.18.</summary>
    public const string TunWithDrops = "rtm_newstats_tun_drops_k6.18.bin";

    /// <summary>
    /// RTM_GETLINK for <c>ttcapowner</c> on Linux 6.18, made with <c>ip tuntap add dev ttcapowner mode tun user 65534
    /// group 65534</c> (persistent, down, no holder): TUN info data with owner, group and persist.
    /// </summary>
    public const string TunPersistOwnerLink = "rtm_newlink_tun_persist_owner_k6.18.bin";

    /// <summary>
    /// RTM_GETLINK for <c>ttcapmq</c> on Linux 6.18: multi-queue TUN with pi and vnet_hdr, three queues opened by one
    /// process and one of them detached (<c>TUNSETQUEUE</c>), so 2 queues and 1 disabled.
    /// </summary>
    public const string TunMultiQueueLink = "rtm_newlink_tun_multiqueue_k6.18.bin";

    /// <summary><c>/proc/PID/fdinfo/FD</c> of an open <c>/dev/net/tun</c> attached to <c>ttcapfd</c>, Linux 6.18.</summary>
    public const string TunFdInfo = "proc_fdinfo_tun_k6.18.txt";

    /// <summary>
    /// <c>/proc/PID/stat</c> of a process stopped with SIGSTOP whose name was set to <c>tt (x) y</c> (prctl PR_SET_NAME),
    /// Linux 6.18.
    /// </summary>
    public const string StoppedStatWithParens = "proc_stat_stopped_comm_parens_k6.18.txt";

    /// <summary>
    /// RTM_GETNSID by NETNSA_FD of a namespace just given an id, Linux 6.18: RTM_NEWNSID with NETNSA_NSID alone
    /// (captured by <c>RouteSocketNamespaceTests</c> in TunTelemetry.IntegrationTests, as are the three below).
    /// </summary>
    public const string NsidReply = "rtm_newnsid_reply_k6.18.bin";

    /// <summary>
    /// First datagram of an RTM_GETLINK dump with IFLA_TARGET_NETNSID and the link-kind filter "tun", of a namespace
    /// holding lo, a veth pair and persistent TUN devices tn0 (7 packets dropped) and tn1 (11 dropped), Linux 6.18:
    /// two RTM_NEWLINK messages flagged NLM_F_MULTI | NLM_F_DUMP_FILTERED.
    /// </summary>
    public const string TargetedTunDump = "rtm_newlink_target_dump_tun_drops_k6.18.bin";

    /// <summary>
    /// RTM_DELLINK heard on a NETLINK_LISTEN_ALL_NSID socket when <c>ip link set dev tmv0 netns OTHER</c> moved a TUN
    /// device out of a namespace with an id, Linux 6.18: carries IFLA_NEW_NETNSID 0 and IFLA_NEW_IFINDEX 2.
    /// </summary>
    public const string MovedLinkDelete = "rtm_dellink_moved_netns_k6.18.bin";

    /// <summary>The control bytes that came with <see cref="MovedLinkDelete"/>: one NETLINK_LISTEN_ALL_NSID message.</summary>
    public const string MovedLinkDeleteControl = "rtm_dellink_moved_netns_cmsg_k6.18.bin";

    public static byte[] Read(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", name));
}
