using TunTelemetry.Hosting;
using Xunit;

namespace TunTelemetry.Tests.Hosting;

public sealed class BackoffSettingsTests
{
    private static readonly BackoffSettings Backoff = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60), 0.2, -1, TimeSpan.FromMinutes(5));

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 2)]
    [InlineData(5, 32)]
    [InlineData(6, 60)]
    [InlineData(1000, 60)]
    public void The_delay_doubles_from_min_up_to_max(int restart, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), Backoff.DelayBefore(restart, random: 0));

    [Fact]
    public void Jitter_stretches_the_delay_by_up_to_the_random_factor()
    {
        Assert.Equal(TimeSpan.FromSeconds(2.2), Backoff.DelayBefore(1, random: 0.5));
        Assert.Equal(TimeSpan.FromSeconds(66), Backoff.DelayBefore(9, random: 0.5));
        Assert.True(Backoff.DelayBefore(9, random: 0.99999) < TimeSpan.FromSeconds(72));
    }
}
