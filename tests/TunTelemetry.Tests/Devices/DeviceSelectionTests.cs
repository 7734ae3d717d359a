using TunTelemetry.Devices;
using TunTelemetry.Netlink;
using Xunit;

namespace TunTelemetry.Tests.Devices;

public sealed class DeviceSelectionTests
{
    private static TunDevice Tun(string name) => new(10, name, TunDeviceKind.Tun);

    private static TunDevice Tap(string name) => new(11, name, TunDeviceKind.Tap);

    [Fact]
    public void Watches_tun_and_tap_by_default()
    {
        Assert.True(DeviceSelection.All.Matches(Tun("wg0")));
        Assert.True(DeviceSelection.All.Matches(Tap("tap0")));
    }

    [Fact]
    public void Kind_selects_tun_or_tap()
    {
        var tunOnly = new DeviceSelection(TunKindSelection.Tun);
        Assert.True(tunOnly.Matches(Tun("tun0")));
        Assert.False(tunOnly.Matches(Tap("tap0")));
        Assert.True(new DeviceSelection(TunKindSelection.Tap).Matches(Tap("tap0")));
    }

    [Fact]
    public void Include_and_exclude_are_regular_expressions()
    {
        var selection = new DeviceSelection(include: ["^wg", "^tailscale"], exclude: ["-test$"]);
        Assert.True(selection.Matches(Tun("wg0")));
        Assert.True(selection.Matches(Tun("tailscale0")));
        Assert.False(selection.Matches(Tun("tun0")));
        Assert.False(selection.Matches(Tun("wg-test")));
    }

    [Theory]
    [InlineData("tun.dots.x")]
    [InlineData("a-b_c.d-e.f-g12")]
    [InlineData("ünïcödé")]
    [InlineData("x@y+z%w")]
    public void Matches_names_with_any_allowed_bytes(string name)
    {
        var selection = new DeviceSelection(include: [$"^{System.Text.RegularExpressions.Regex.Escape(name)}$"]);
        Assert.True(selection.Matches(Tun(name)));
    }

    [Fact]
    public void A_bad_pattern_is_a_clear_error()
    {
        var e = Assert.Throws<ArgumentException>(() => new DeviceSelection(include: ["(unclosed"]));
        Assert.Contains("include pattern '(unclosed'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Selects_only_tun_and_tap_links()
    {
        var veth = new LinkDescription(3, "veth0", "veth", 1, 0, 1500, 1000, LinkOperState.Up);
        var tap = veth with { Name = "tap0", Kind = LinkKinds.Tap };
        Assert.Null(DeviceSelection.All.Select(veth));
        Assert.Equal(new TunDevice(3, "tap0", TunDeviceKind.Tap), DeviceSelection.All.Select(tap));
    }
}
