using TunTelemetry.IntegrationTests.Support;
using TunTelemetry.Netlink;
using TunTelemetry.Netlink.Capture;
using Xunit;

namespace TunTelemetry.IntegrationTests.Netlink;

/// <summary>
/// The TUN settings as the running kernel reports them in RTM_NEWLINK, for devices set up the two ways a VPN does:
/// a persistent device with an owner (<c>ip tuntap add</c>) and a multi-queue device held by a process with one queue
/// detached. With <c>TUNTELEMETRY_CAPTURE_DIR</c> set, the replies are written out: they are the decoder's fixtures in
/// <c>tests/TunTelemetry.Tests/Fixtures</c>, and the devices take the names those fixtures carry. Otherwise each run's
/// names are its own, so two suites on one host do not meet.
/// </summary>
public sealed class TunLinkInfoTests
{
    [NetAdminFact]
    public void A_persistent_device_reports_its_owner_group_and_persist()
    {
        string name = DeviceName("ttcapowner");
        Command.Run("ip", "tuntap", "add", "dev", name, "mode", "tun", "user", "65534", "group", "65534");
        try
        {
            using RouteSocket socket = RouteSocket.Open();
            int ifIndex = socket.GetLink(LinkTarget.Own, name)!.IfIndex;
            byte[] reply = socket.CaptureLinkReply(ifIndex);
            Save("rtm_newlink_tun_persist_owner_k6.18.bin", reply);

            LinkDescription link = RtmNewLinkMessage.Decode(reply.AsSpan(NetlinkHeader.Size));
            Assert.Equal(new TunLinkInfo(65534, 65534, LinkKinds.Tun, PacketInfo: false, VnetHeader: false, Persist: true,
                MultiQueue: false, Queues: null, DisabledQueues: null), link.Tun);
            Assert.False(link.IsUpWithCarrier); // down, and nobody holds it
        }
        finally
        {
            Command.Run("ip", "tuntap", "del", "dev", name, "mode", "tun");
        }
    }

    [NetAdminFact]
    public async Task A_multi_queue_device_reports_enabled_and_disabled_queues()
    {
        using TunHolder holder = await TunHolder.StartAsync(DeviceName("ttcapmq"), null, "--queues", "3", "--detach", "1", "--pi", "--vnet-hdr");
        using RouteSocket socket = RouteSocket.Open();
        int ifIndex = socket.GetLink(LinkTarget.Own, holder.Name)!.IfIndex;
        byte[] reply = socket.CaptureLinkReply(ifIndex);
        Save("rtm_newlink_tun_multiqueue_k6.18.bin", reply);

        LinkDescription link = RtmNewLinkMessage.Decode(reply.AsSpan(NetlinkHeader.Size));
        Assert.Equal(new TunLinkInfo(null, null, LinkKinds.Tun, PacketInfo: true, VnetHeader: true, Persist: false,
            MultiQueue: true, Queues: 2, DisabledQueues: 1), link.Tun);
        Assert.Equal(LinkOperState.Unknown, link.OperState); // what every healthy TUN device reports
        Assert.True(link.IsUpWithCarrier);
    }

    private static string? CaptureDirectory =>
        Environment.GetEnvironmentVariable("TUNTELEMETRY_CAPTURE_DIR") is { Length: > 0 } directory ? directory : null;

    private static string DeviceName(string fixtureName) =>
        CaptureDirectory is null ? $"ttcap{Random.Shared.Next(0, 0xffffff):x6}" : fixtureName;

    private static void Save(string name, byte[] bytes)
    {
        if (CaptureDirectory is { } directory)
        {
            Directory.CreateDirectory(directory);
            File.WriteAllBytes(Path.Combine(directory, name), bytes);
        }
    }
}
