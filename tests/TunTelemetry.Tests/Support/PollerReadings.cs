using Akka.TestKit;
using TunTelemetry.Devices;
using TunTelemetry.Netlink;
using TunTelemetry.Polling;
using Xunit;

namespace TunTelemetry.Tests.Support;

/// <summary>One reading a poller handed over, as the aggregator takes it from the poller's slot.</summary>
internal sealed record PolledReading(TunDevice Device, LinkStats64 Stats, TimeSpan PollDuration);

/// <summary>A probe standing in for the aggregator takes a poller's readings from its slot, as the aggregator does.</summary>
internal static class PollerReadings
{
    /// <summary>The reading a <see cref="LinkStatsReady"/> announces, taken from its slot; other messages unchanged.</summary>
    public static object? TakeReading(object? message) =>
        message is LinkStatsReady ready ? Take(ready) : message;

    /// <summary>Expects a poller's notice and returns the reading it announces.</summary>
    public static PolledReading ExpectReading(this TestProbe aggregator, Func<PolledReading, bool>? predicate = null)
    {
        PolledReading reading = Take(aggregator.ExpectMsg<LinkStatsReady>());
        Assert.True(predicate?.Invoke(reading) ?? true, $"unexpected reading: {reading}");
        return reading;
    }

    /// <summary>A poller's notice of one reading of <paramref name="device"/>, as a poller sends it to the aggregator.</summary>
    internal static LinkStatsReady Ready(TunDevice device, LinkStats64 stats, TimeSpan pollDuration)
    {
        var slot = new ReadingSlot(device);
        Assert.True(slot.Offer(stats, pollDuration), "a fresh slot refused its first reading");
        return slot.Ready;
    }

    private static PolledReading Take(LinkStatsReady ready)
    {
        Assert.True(ready.Slot.TryTake(out LinkStats64 stats, out TimeSpan pollDuration), "a notice arrived for an empty slot");
        return new PolledReading(ready.Slot.Device, stats, pollDuration);
    }
}
