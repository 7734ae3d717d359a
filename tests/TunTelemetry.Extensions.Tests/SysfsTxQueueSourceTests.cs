using Xunit;

namespace TunTelemetry.Extensions.Tests;

/// <summary>The sample's real source, on <c>lo</c> (present everywhere, readable without privilege).</summary>
public sealed class SysfsTxQueueSourceTests
{
    [Fact]
    public void Reads_the_tx_queues_of_a_real_device()
    {
        IReadOnlyList<TxQueue> queues = new SysfsTxQueueSource().Read("lo");

        Assert.Equal(Directory.GetDirectories("/sys/class/net/lo/queues", "tx-*").Length, queues.Count);
        Assert.All(queues, q => Assert.StartsWith("tx-", q.Name, StringComparison.Ordinal));
        Assert.All(queues, q => Assert.True(q.Timeouts >= 0));
    }

    [Fact]
    public void A_device_that_does_not_exist_is_an_io_error()
    {
        Assert.ThrowsAny<IOException>(() => new SysfsTxQueueSource().Read("no-such-device-xyz"));
    }
}
