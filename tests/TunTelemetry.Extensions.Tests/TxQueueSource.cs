using System.Globalization;

namespace TunTelemetry.Extensions.Tests;

/// <summary>One TX queue of a device: its name (<c>tx-0</c>) and the kernel's cumulative count of its timeouts.</summary>
public sealed record TxQueue(string Name, long Timeouts);

/// <summary>Where <see cref="TxQueueWatchActor"/> reads a device's TX queues from.</summary>
public interface ITxQueueSource
{
    /// <summary>The device's TX queues; throws <see cref="IOException"/> when they cannot be read.</summary>
    IReadOnlyList<TxQueue> Read(string device);
}

/// <summary>
/// The kernel's view in sysfs: one <c>/sys/class/net/NAME/queues/tx-N</c> directory per TX queue (a multi-queue TUN
/// device has one per attached queue), each with a cumulative <c>tx_timeout</c> count.
/// </summary>
public sealed class SysfsTxQueueSource(string root = "/sys/class/net") : ITxQueueSource
{
    public IReadOnlyList<TxQueue> Read(string device) =>
        Directory.GetDirectories(Path.Combine(root, device, "queues"), "tx-*")
            .Select(dir => new TxQueue(Path.GetFileName(dir), Timeouts(dir)))
            .OrderBy(q => q.Name, StringComparer.Ordinal)
            .ToArray();

    private static long Timeouts(string queue)
    {
        string file = Path.Combine(queue, "tx_timeout");
        return File.Exists(file) ? long.Parse(File.ReadAllText(file).Trim(), CultureInfo.InvariantCulture) : 0;
    }
}
