using TunTelemetry.Agent.Demo;
using TunTelemetry.Devices;
using TunTelemetry.Discovery;
using TunTelemetry.IntegrationTests.Support;
using TunTelemetry.Netlink;
using TunTelemetry.Netlink.Capture;
using Xunit;

namespace TunTelemetry.IntegrationTests.Netlink;

/// <summary>RTM_GETSTATS on real TUN devices that drop packets for real.</summary>
public sealed class TunDeviceStatsTests
{
    [NetAdminFact]
    public void A_dropping_tun_device_reports_the_same_tx_dropped_as_sysfs()
    {
        using DroppingTunDevice tun = DroppingTunDevice.Create();
        Assert.Equal(3000, tun.SendPackets(3000));
        using RouteSocket socket = RouteSocket.Open();

        LinkStats64 stats = socket.ReadStats(LinkTarget.Own, tun.IfIndex, tun.Name);

        Assert.True(stats.TxDropped > 0);
        Assert.Equal(Sysfs.Statistic(tun.Name, "tx_dropped"), stats.TxDropped);
        Assert.Equal(2500UL, stats.TxDropped); // 500 queue (txqueuelen), the rest are dropped
        foreach ((string field, ulong value) in Sysfs.Statistics(tun.Name))
        {
            Assert.Equal(value, stats[(LinkStats64Field)LinkStats64FieldNames.All.ToList().IndexOf(field)]);
        }

        CaptureFixture(socket, tun);
    }

    [NetAdminFact]
    public void A_deleted_device_gives_the_typed_device_gone_error()
    {
        DroppingTunDevice tun = DroppingTunDevice.Create();
        using RouteSocket socket = RouteSocket.Open();
        socket.ReadStats(LinkTarget.Own, tun.IfIndex, tun.Name);
        tun.Dispose();

        var e = Assert.Throws<NetlinkDeviceGoneException>(() => socket.ReadStats(LinkTarget.Own, tun.IfIndex, tun.Name));
        Assert.Equal(tun.IfIndex, e.IfIndex);
    }

    [NetAdminFact]
    public void A_name_re_created_resolves_to_its_new_ifindex()
    {
        string name = $"tr{Random.Shared.Next():x8}";
        using RouteSocket socket = RouteSocket.Open();
        int first;
        using (DroppingTunDevice tun = DroppingTunDevice.Create(name: name))
        {
            first = socket.GetLink(LinkTarget.Own, name)!.IfIndex;
            Assert.Equal(tun.IfIndex, first);
        }

        Assert.Null(socket.GetLink(LinkTarget.Own, name));
        using DroppingTunDevice again = DroppingTunDevice.Create(name: name);
        LinkDescription? link = socket.GetLink(LinkTarget.Own, name);
        Assert.NotNull(link);
        Assert.NotEqual(first, link.IfIndex);
        Assert.Equal(again.IfIndex, link.IfIndex);
    }

    [NetAdminFact]
    public void Tells_tun_from_tap_and_reads_txqueuelen()
    {
        using DroppingTunDevice tun = DroppingTunDevice.Create(TunDeviceKind.Tun);
        using DroppingTunDevice tap = DroppingTunDevice.Create(TunDeviceKind.Tap);
        using RouteSocket socket = RouteSocket.Open();

        Assert.Equal(LinkKinds.Tun, socket.GetLink(LinkTarget.Own, tun.Name)!.Kind);
        Assert.Equal(LinkKinds.Tap, socket.GetLink(LinkTarget.Own, tap.Name)!.Kind);
        Assert.Equal(500u, socket.GetLink(LinkTarget.Own, tun.IfIndex)!.TxQueueLength);

        Assert.Equal(3000, tap.SendPackets(3000));
        Assert.Equal(Sysfs.Statistic(tap.Name, "tx_dropped"), socket.ReadStats(LinkTarget.Own, tap.IfIndex, tap.Name).TxDropped);
        Assert.True(socket.ReadStats(LinkTarget.Own, tap.IfIndex, tap.Name).TxDropped > 0);
    }

    [NetAdminFact]
    public void Handles_names_with_dots_dashes_and_fifteen_bytes()
    {
        using DroppingTunDevice tun = DroppingTunDevice.Create(name: $"t.-_{Random.Shared.Next(100000, 999999)}.x-y9");
        using RouteSocket socket = RouteSocket.Open();
        Assert.Equal(15, tun.Name.Length);
        Assert.Contains(TunDeviceDiscovery.List(socket, DeviceSelection.All), d => d.Name == tun.Name && d.IfIndex == tun.IfIndex);
    }

    /// <summary>Writes the TUN fixture when TUNTELEMETRY_CAPTURE_DIR is set (how Fixtures/rtm_newstats_tun_drops_k6.18.bin was made).</summary>
    private static void CaptureFixture(RouteSocket socket, DroppingTunDevice tun)
    {
        string? directory = Environment.GetEnvironmentVariable("TUNTELEMETRY_CAPTURE_DIR");
        if (!string.IsNullOrEmpty(directory))
        {
            File.WriteAllBytes(Path.Combine(directory, "rtm_newstats_tun_drops_k6.18.bin"), socket.CaptureStatsReply(tun.IfIndex));
        }
    }
}
