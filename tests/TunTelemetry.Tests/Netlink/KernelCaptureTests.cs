using TunTelemetry.Netlink;
using TunTelemetry.Netlink.Capture;
using TunTelemetry.Tests.Support;
using Xunit;

namespace TunTelemetry.Tests.Netlink;

/// <summary>
/// The capture tool behind the fixtures, run as a test: it asks the running kernel the same questions, checks the
/// answers have the stored fixtures' shape (so the fixtures still describe this kernel), and, with
/// <c>TUNTELEMETRY_CAPTURE_DIR</c> set, writes them out as new fixtures. Unprivileged.
/// </summary>
public sealed class KernelCaptureTests
{
    private const int LoopbackIfIndex = 1;
    private const int NoSuchIfIndex = int.MaxValue;

    [Fact]
    public void The_loopback_reply_has_the_shape_of_its_fixture()
    {
        using RouteSocket socket = RouteSocket.Open();
        byte[] live = socket.CaptureStatsReply(LoopbackIfIndex);
        Save(Fixture.LoopbackStats, live);

        byte[] stored = Fixture.Read(Fixture.LoopbackStats);
        Assert.Equal(stored.Length, live.Length);
        Assert.Equal(NetlinkHeader.Read(stored).Type, NetlinkHeader.Read(live).Type);
        Assert.True(RtmNewStatsReply.TryDecode(live, NetlinkHeader.Read(live).Sequence, socket.PortId, LoopbackIfIndex, out LinkStats64 stats));
        Assert.Equal(LinkStats64.MaxFieldCount, stats.FieldCount);
    }

    [Fact]
    public void The_no_such_device_reply_has_the_shape_of_its_fixture()
    {
        using RouteSocket socket = RouteSocket.Open();
        byte[] live = socket.CaptureStatsReply(NoSuchIfIndex);
        Save(Fixture.NoSuchDevice, live);

        NetlinkHeader header = NetlinkHeader.Read(live);
        Assert.Equal(NetlinkHeader.Read(Fixture.Read(Fixture.NoSuchDevice)).Type, header.Type);
        Assert.Throws<NetlinkDeviceGoneException>(() =>
            RtmNewStatsReply.TryDecode(live, header.Sequence, socket.PortId, NoSuchIfIndex, out _));
    }

    internal static void Save(string name, byte[] bytes)
    {
        string? directory = Environment.GetEnvironmentVariable("TUNTELEMETRY_CAPTURE_DIR");
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
            File.WriteAllBytes(Path.Combine(directory, name), bytes);
        }
    }
}
