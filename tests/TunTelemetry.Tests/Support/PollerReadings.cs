using Akka.TestKit;
using TunTelemetry.Actors;
using TunTelemetry.Netlink;
using Xunit;

namespace TunTelemetry.Tests.Support;

/// <summary>A probe standing in for the aggregator takes a poller's readings from its slot, as the aggregator does.</summary>
public static class PollerReadings
{
    /// <summary>The reading a <see cref="LinkStatsReady"/> announces, taken from its slot; other messages unchanged.</summary>
    public static object? TakeReading(object? message) =>
        message is LinkStatsReady ready ? Take(ready) : message;

    /// <summary>Expects a poller's notice and returns the reading it announces.</summary>
    public static LinkStatsSampled ExpectReading(this TestProbe aggregator, Func<LinkStatsSampled, bool>? predicate = null)
    {
        LinkStatsSampled reading = Take(aggregator.ExpectMsg<LinkStatsReady>());
        Assert.True(predicate?.Invoke(reading) ?? true, $"unexpected reading: {reading}");
        return reading;
    }

    private static LinkStatsSampled Take(LinkStatsReady ready)
    {
        Assert.True(ready.Slot.TryTake(out LinkStats64 stats, out TimeSpan pollDuration), "a notice arrived for an empty slot");
        return new LinkStatsSampled(ready.Slot.Device, stats, pollDuration);
    }
}
