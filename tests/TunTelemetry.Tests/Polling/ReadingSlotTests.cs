using TunTelemetry.Devices;
using TunTelemetry.Netlink;
using TunTelemetry.Polling;
using TunTelemetry.Testing;
using Xunit;

namespace TunTelemetry.Tests.Polling;

public sealed class ReadingSlotTests
{
    private static readonly TunDevice Tun0 = new(7, "tun0", TunDeviceKind.Tun);

    [Fact]
    public void Only_the_offer_that_fills_an_empty_slot_asks_for_a_notice_and_the_newest_reading_is_taken()
    {
        var slot = new ReadingSlot(Tun0);

        Assert.True(slot.Offer(Readings.Stats(1), TimeSpan.FromMicroseconds(3)));
        Assert.False(slot.Offer(Readings.Stats(2), TimeSpan.FromMicroseconds(4)));
        Assert.False(slot.Offer(Readings.Stats(3), TimeSpan.FromMicroseconds(5)));

        Assert.True(slot.TryTake(out LinkStats64 taken, out TimeSpan duration));
        Assert.Equal(3UL, taken.TxDropped);
        Assert.Equal(TimeSpan.FromMicroseconds(5), duration);
        Assert.False(slot.TryTake(out _, out _));
        Assert.True(slot.Offer(Readings.Stats(4), TimeSpan.Zero));
    }

    [Fact]
    public void A_reading_equal_to_the_last_offered_is_not_stored_or_announced()
    {
        var slot = new ReadingSlot(Tun0);
        Assert.True(slot.Offer(Readings.Stats(5), TimeSpan.Zero));
        Assert.True(slot.TryTake(out _, out _));

        Assert.False(slot.Offer(Readings.Stats(5), TimeSpan.Zero));
        Assert.False(slot.TryTake(out _, out _));
        Assert.True(slot.Offer(Readings.Stats(6), TimeSpan.Zero));
    }

    [Fact]
    public void The_first_reading_of_a_new_slot_is_announced_even_when_all_counters_are_zero()
    {
        Assert.True(new ReadingSlot(Tun0).Offer(Readings.Stats(0), TimeSpan.Zero));
    }

    [Fact]
    public async Task A_reader_taking_while_a_writer_offers_sees_every_notice_backed_by_a_reading_and_ends_on_the_last()
    {
        // Real threads: the writer plays a poller (sending a notice whenever Offer asks for one), the reader plays the
        // aggregator (taking once per notice). Counted growth must equal the last value: nothing lost, nothing twice.
        const ulong last = 200_000;
        var slot = new ReadingSlot(Tun0);
        using var notices = new SemaphoreSlim(0);
        ulong counted = 0, previous = 0;
        int emptyTakes = 0;

        var reader = Task.Run(async () =>
        {
            while (previous < last)
            {
                await notices.WaitAsync();
                if (!slot.TryTake(out LinkStats64 stats, out _))
                {
                    emptyTakes++;
                    continue;
                }

                Assert.True(stats.TxDropped > previous, $"went back from {previous} to {stats.TxDropped}");
                counted += stats.TxDropped - previous;
                previous = stats.TxDropped;
            }
        });

        for (ulong value = 1; value <= last; value++)
        {
            if (slot.Offer(Readings.Stats(value), TimeSpan.Zero))
            {
                notices.Release();
            }
        }

        await reader.WaitAsync(TimeSpan.FromSeconds(30)); // a TimeoutException: the reader never saw the last reading
        Assert.Equal(last, counted);
        Assert.Equal(0, emptyTakes);
    }
}
