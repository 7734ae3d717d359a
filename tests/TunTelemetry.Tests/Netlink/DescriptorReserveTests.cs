using TunTelemetry.Netlink;
using Xunit;

namespace TunTelemetry.Tests.Netlink;

/// <summary>The reserve of descriptors under RLIMIT_NOFILE that device sockets leave to the process, on real sockets.</summary>
public sealed class DescriptorReserveTests
{
    [Theory]
    [InlineData(935, 1000, 64, false)] // 64 numbers above it are still free
    [InlineData(936, 1000, 64, true)]  // only 63 above it: it would eat into the reserve
    [InlineData(999, 1000, 64, true)]
    [InlineData(999, 1000, 0, false)]  // no reserve: the last descriptor may go
    public void A_descriptor_among_the_last_kept_numbers_is_within_the_reserve(int fd, ulong limit, int keepFree, bool within) =>
        Assert.Equal(within, DescriptorReserve.IsWithin(fd, limit, keepFree));

    [Fact]
    public void The_soft_limit_is_the_one_in_force()
    {
        string line = File.ReadLines("/proc/self/limits").Single(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        string soft = line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3];
        Assert.Equal(soft == "unlimited" ? null : ulong.Parse(soft, System.Globalization.CultureInfo.InvariantCulture), DescriptorReserve.SoftLimit());
    }

    [Fact]
    public void A_socket_that_would_eat_into_the_reserve_is_refused_as_EMFILE_naming_the_reserve()
    {
        ulong limit = DescriptorReserve.SoftLimit() ?? throw new Xunit.Sdk.XunitException("no descriptor limit to test against");
        int all = (int)Math.Min(limit, int.MaxValue);

        var refused = Assert.Throws<NetlinkSocketException>(() => NetlinkSocket.Open(new NetlinkSocketOptions { KeepFreeDescriptors = all }));

        Assert.True(refused.IsOutOfDescriptors);
        Assert.Equal(Errno.EMFILE, refused.Errno);
        Assert.Equal("socket", refused.Reason);
        Assert.Contains($"the last {all} under RLIMIT_NOFILE {limit} are kept for the agent itself", refused.Message, StringComparison.Ordinal);
        Assert.Contains("raise LimitNOFILE / ulimit -n", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_socket_well_below_the_reserve_opens()
    {
        using NetlinkSocket socket = NetlinkSocket.Open(new NetlinkSocketOptions { KeepFreeDescriptors = 1 });
        Assert.False(socket.IsClosed);
    }
}
