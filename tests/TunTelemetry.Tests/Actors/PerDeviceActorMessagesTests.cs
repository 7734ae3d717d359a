using TunTelemetry.Actors;
using TunTelemetry.Devices;
using Xunit;

namespace TunTelemetry.Tests.Actors;

public sealed class PerDeviceActorMessagesTests
{
    private static readonly TunDevice Tun0 = new(7, "tun0", TunDeviceKind.Tun);

    [Fact]
    public void Messages_an_extension_sends_print_their_fields_as_a_dead_letter_or_unhandled_line_shows_them()
    {
        Assert.Equal("DeviceVanished { tun0 (ifindex 7, tun) }", new DeviceVanished(Tun0).ToString());
        Assert.Equal("PerDeviceActorSucceeded", PerDeviceActorSucceeded.Instance.ToString());
        Assert.Equal("DeviceMeasured { tun0 (ifindex 7, tun), tundev.txq.backlog = 12 }",
            new DeviceMeasured(Tun0, "tundev.txq.backlog", 12).ToString());
        Assert.Equal("DeviceMeasured { tun0 (ifindex 7, tun), tundev.reader.cpu = 3, process.pid=42, process.executable.name=wireguard-go }",
            new DeviceMeasured(Tun0, "tundev.reader.cpu", 3, [new("process.pid", 42), new("process.executable.name", "wireguard-go")]).ToString());
        Assert.Equal("DeviceSeriesEnded { tun0 (ifindex 7, tun), tundev.reader.cpu, process.pid=42 }",
            new DeviceSeriesEnded(Tun0, "tundev.reader.cpu", [new("process.pid", 42)]).ToString());
    }
}
