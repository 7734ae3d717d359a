using TunTelemetry.Agent.ConsoleView;
using TunTelemetry.Readers;
using Xunit;

namespace TunTelemetry.Tests.Agent;

/// <summary>What the console view says next to a device about its readers.</summary>
public sealed class ConsoleViewFlagTests
{
    private static readonly TunReader Sleeping = new(10, "wireguard-go", 'S');
    private static readonly TunReader Stopped = new(11, "wireguard-go", 'T');

    [Theory]
    [InlineData(true, "  <- drops grow and its reader is not running")]
    [InlineData(false, "  <- its reader is not running")]
    public void A_stopped_reader_is_flagged_with_or_without_growth_in_this_block(bool dropsGrew, string flag) =>
        Assert.Equal(flag, ConsoleViewService.Flag([Sleeping, Stopped], dropsGrew));

    [Fact]
    public void Growing_drops_with_no_process_holding_the_device_are_flagged() =>
        Assert.Equal("  <- drops grow and no process holds the device", ConsoleViewService.Flag([], dropsGrew: true));

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Running_readers_and_unscanned_devices_are_not_flagged(bool dropsGrew)
    {
        Assert.Equal(string.Empty, ConsoleViewService.Flag([Sleeping], dropsGrew));
        Assert.Equal(string.Empty, ConsoleViewService.Flag(null, dropsGrew));
        Assert.Equal(string.Empty, ConsoleViewService.Flag([], dropsGrew: false));
    }
}
