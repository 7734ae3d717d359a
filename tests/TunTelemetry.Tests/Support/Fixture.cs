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

    public static byte[] Read(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", name));
}
