using TunTelemetry.Devices;
using TunTelemetry.Supervision;
using Xunit;

namespace TunTelemetry.Tests.Supervision;

public sealed class KernelLookupOrderTests
{
    private static TunDevice[] Devices(params int[] ifIndexes) =>
        ifIndexes.Select(i => new TunDevice(i, $"tb{i}", TunDeviceKind.Tun)).ToArray();

    [Fact]
    public void Devices_in_one_kernel_hash_bucket_come_together_oldest_first()
    {
        TunDevice[] sorted = KernelLookupOrder.Sort(Devices(2, 258, 1, 513, 257, 3));

        Assert.Equal([1, 257, 513, 2, 258, 3], sorted.Select(d => d.IfIndex));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(255, 255)]
    [InlineData(256, 0)]
    [InlineData(10_241, 1)]
    public void The_bucket_is_the_low_eight_bits_of_the_ifindex(int ifIndex, int bucket) =>
        Assert.Equal(bucket, KernelLookupOrder.Bucket(ifIndex));

    [Fact]
    public void Every_device_is_kept_once()
    {
        TunDevice[] devices = Devices(Enumerable.Range(1, 1_000).Reverse().ToArray());

        TunDevice[] sorted = KernelLookupOrder.Sort(devices);

        Assert.Equal(devices.OrderBy(d => d.IfIndex), sorted.OrderBy(d => d.IfIndex));
        Assert.True(sorted.Zip(sorted.Skip(1)).All(p => KernelLookupOrder.Bucket(p.First.IfIndex) <= KernelLookupOrder.Bucket(p.Second.IfIndex)));
    }
}
