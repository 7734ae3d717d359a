using TunTelemetry.Netlink;
using TunTelemetry.Polling;
using TunTelemetry.Testing;
using Xunit;

namespace TunTelemetry.Tests.Polling;

public sealed class LinkStatsDeltaTests
{
    private static LinkStats64 Stats(ulong txDropped, ulong rxBytes = 0, int fields = 25) =>
        Readings.Stats(txDropped, rxBytes: rxBytes, fields: fields);

    [Fact]
    public void The_first_poll_counts_in_full()
    {
        Assert.Equal(500UL, LinkStatsDelta.Growth(null, Stats(500)).TxDropped);
    }

    [Fact]
    public void Growth_is_the_difference_per_field()
    {
        LinkStats64 growth = LinkStatsDelta.Growth(Stats(500, 1000), Stats(700, 1500));
        Assert.Equal(200UL, growth.TxDropped);
        Assert.Equal(500UL, growth.RxBytes);
    }

    [Fact]
    public void A_counter_that_went_down_counts_its_new_value_from_zero_never_a_wrapped_step()
    {
        LinkStats64 growth = LinkStatsDelta.Growth(Stats(ulong.MaxValue - 5, 1000), Stats(3, 1001));
        Assert.Equal(3UL, growth.TxDropped);
        Assert.Equal(1UL, growth.RxBytes);
    }

    [Fact]
    public void Keeps_the_field_count_of_the_current_reply()
    {
        Assert.Equal(24, LinkStatsDelta.Growth(Stats(1, fields: 24), Stats(2, fields: 24)).FieldCount);
    }
}
