using TunTelemetry.Devices;
using TunTelemetry.Discovery;
using TunTelemetry.Hosting;
using TunTelemetry.Netlink;
using Xunit;

namespace TunTelemetry.IntegrationTests.Reliability;

public sealed class TunLinkEventsFaultTests
{
    [Fact]
    public async Task A_failing_notification_socket_is_reported_and_retried_with_the_backoff_until_it_lists()
    {
        int opens = 0;
        // tuntelemetry.backoff, without its random stretch: 100 ms, then twice that.
        var backoff = new BackoffSettings(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1), 0, -1, TimeSpan.FromMinutes(5));
        var watcher = new TunLinkEvents(DeviceSelection.All, () =>
        {
            if (Interlocked.Increment(ref opens) <= 2)
            {
                throw new NetlinkSocketException("socket", Errno.EMFILE);
            }

            return RouteSocket.Open(new NetlinkSocketOptions { Groups = NetlinkRouteGroups.Link, ReceiveTimeout = TimeSpan.FromMilliseconds(100) });
        }, backoff);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var events = new List<DeviceEvent>();
        await foreach (DeviceEvent e in watcher.FollowAsync(cancel.Token))
        {
            events.Add(e);
            if (e is DevicesListed)
            {
                break;
            }
        }

        Assert.Collection(events,
            e =>
            {
                Assert.Contains("EMFILE", Assert.IsType<DiscoveryFailed>(e).Error.Message, StringComparison.Ordinal);
                Assert.Equal(TimeSpan.FromMilliseconds(100), ((DiscoveryFailed)e).RetryIn);
            },
            e => Assert.Equal(TimeSpan.FromMilliseconds(200), Assert.IsType<DiscoveryFailed>(e).RetryIn),
            e => Assert.IsType<DevicesListed>(e));
    }
}
