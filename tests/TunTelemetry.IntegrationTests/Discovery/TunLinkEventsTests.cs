using TunTelemetry.Agent.Demo;
using TunTelemetry.Devices;
using TunTelemetry.Discovery;
using TunTelemetry.IntegrationTests.Support;
using Xunit;

namespace TunTelemetry.IntegrationTests.Discovery;

public sealed class TunLinkEventsTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [NetAdminFact]
    public async Task Sees_a_tun_device_appear_and_disappear()
    {
        string prefix = $"tw{Random.Shared.Next():x6}";
        var watcher = new TunLinkEvents(new DeviceSelection(include: [$"^{prefix}"]));
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using IAsyncEnumerator<DeviceEvent> events = watcher.FollowAsync(cancel.Token).GetAsyncEnumerator(cancel.Token);

        Assert.True(await events.MoveNextAsync());
        Assert.Empty(Assert.IsType<DevicesListed>(events.Current).Devices);

        DroppingTunDevice tun = DroppingTunDevice.Create(name: prefix + "a");
        var expected = new TunDevice(tun.IfIndex, tun.Name, TunDeviceKind.Tun);
        // An event, or a re-listing that has it: the watcher re-lists instead when the kernel overran its socket, which
        // another suite's burst of links on the host can do.
        await Next(events, e => e is DeviceAppeared a ? a.Device == expected
            : e is DevicesListed l && l.Devices.Contains(expected));

        tun.Dispose();
        await Next(events, e => e is DeviceGone r ? r.Device == expected
            : e is DevicesListed l && !l.Devices.Contains(expected));
    }

    [NetAdminFact]
    public async Task Reports_tap_devices_as_tap_and_honours_the_kind_selection()
    {
        string prefix = $"tk{Random.Shared.Next():x6}";
        using DroppingTunDevice tap = DroppingTunDevice.Create(TunDeviceKind.Tap, prefix + "p");
        using DroppingTunDevice tun = DroppingTunDevice.Create(TunDeviceKind.Tun, prefix + "u");

        var tapOnly = new TunLinkEvents(new DeviceSelection(TunKindSelection.Tap, include: [$"^{prefix}"]));
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using IAsyncEnumerator<DeviceEvent> events = tapOnly.FollowAsync(cancel.Token).GetAsyncEnumerator(cancel.Token);
        Assert.True(await events.MoveNextAsync());
        TunDevice only = Assert.Single(Assert.IsType<DevicesListed>(events.Current).Devices);
        Assert.Equal(new TunDevice(tap.IfIndex, tap.Name, TunDeviceKind.Tap), only);
    }

    /// <summary>Waits for an event <paramref name="wanted"/> accepts; fails after <see cref="Patience"/>.</summary>
    private static async Task Next(IAsyncEnumerator<DeviceEvent> events, Func<DeviceEvent, bool> wanted)
    {
        using var timeout = new CancellationTokenSource(Patience);
        while (await events.MoveNextAsync().AsTask().WaitAsync(timeout.Token))
        {
            if (wanted(events.Current))
            {
                return;
            }
        }

        throw new InvalidOperationException("the watcher ended before the event");
    }
}
