using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TunTelemetry.Metrics;
using Xunit;

namespace TunTelemetry.Tests.Metrics;

public sealed class SharedTagsMeasurementTests
{
    [Fact]
    public void A_measurement_refers_to_the_series_attribute_array_instead_of_copying_it_on_this_runtime()
    {
        KeyValuePair<string, object?>[] tags = [new(MetricNames.InterfaceName, "tun0"), new(MetricNames.Direction, "transmit")];

        var measurement = SharedTagsMeasurement.Create(42, tags);

        Assert.True(SharedTagsMeasurement.SharesAttributes, "the runtime's Measurement<T> has no _tags field: every export copies every series' attributes again");
        Assert.Equal(42, measurement.Value);
        Assert.True(Unsafe.AreSame(ref MemoryMarshal.GetReference(measurement.Tags), ref tags[0]));
        Assert.Equal(tags, measurement.Tags.ToArray());
    }

    [Fact]
    public void Measurements_of_one_array_made_in_a_row_each_keep_their_own_value()
    {
        KeyValuePair<string, object?>[] tags = [new(MetricNames.InterfaceName, "tun0")];

        var first = SharedTagsMeasurement.Create(1, tags);
        var second = SharedTagsMeasurement.Create(2, tags);

        Assert.Equal((1L, 2L), (first.Value, second.Value));
        Assert.Equal("tun0", first.Tags[0].Value);
    }
}
