using TunTelemetry.Devices;
using TunTelemetry.Netlink;

namespace TunTelemetry.Polling;

/// <summary>
/// Tells the aggregator that a poller's <see cref="ReadingSlot"/> holds a reading to count. A poller makes one per
/// incarnation and sends that same instance every time, so a busy tick allocates nothing.
/// </summary>
internal sealed record LinkStatsReady(ReadingSlot Slot);

/// <summary>
/// The newest reading of one poller incarnation that the aggregator has not counted yet: a one-place mailbox that the
/// poller overwrites and the aggregator empties.
/// </summary>
/// <remarks>
/// Readings are cumulative kernel counters, so a newer reading contains everything an older one said: overwriting a
/// reading the aggregator has not taken yet loses no growth. That gives two things a message per reading cannot:
/// a busy tick allocates nothing (the 200-byte reading stays in this slot instead of a new message), and an
/// aggregator that falls behind has at most one reading per device waiting, not a queue that grows every tick.
/// The poller sends <see cref="LinkStatsReady"/> only when the slot goes from empty to full.
/// </remarks>
internal sealed class ReadingSlot
{
    private readonly Lock _gate = new();
    private LinkStats64 _stats;
    private TimeSpan _pollDuration;
    private bool _full;
    private bool _offered;

    public ReadingSlot(TunDevice device)
    {
        Device = device;
        Ready = new LinkStatsReady(this);
    }

    public TunDevice Device { get; }

    /// <summary>The one notice this slot's poller sends.</summary>
    public LinkStatsReady Ready { get; }

    /// <summary>
    /// Stores <paramref name="stats"/> in place of any reading not yet taken. True when the aggregator must be told
    /// (the slot was empty); false when a notice is already on its way and will find this newer reading, or when the
    /// reading equals the last one offered.
    /// </summary>
    /// <remarks>
    /// Most devices are idle most of the time, and a reading equal to the last would add zero everywhere: it is not
    /// stored or announced. A new poller incarnation has a new, empty slot, so its first reading always goes and the
    /// aggregator's baseline stays authoritative.
    /// </remarks>
    public bool Offer(in LinkStats64 stats, TimeSpan pollDuration)
    {
        lock (_gate)
        {
            if (_offered && _stats == stats)
            {
                return false;
            }

            _stats = stats;
            _pollDuration = pollDuration;
            _offered = true;
            bool wasEmpty = !_full;
            _full = true;
            return wasEmpty;
        }
    }

    /// <summary>Takes the newest reading and empties the slot; false when there was none.</summary>
    /// <param name="pollDuration">How long the newest reading's poll took (a replaced reading's time is not kept).</param>
    public bool TryTake(out LinkStats64 stats, out TimeSpan pollDuration)
    {
        lock (_gate)
        {
            stats = _stats;
            pollDuration = _pollDuration;
            bool wasFull = _full;
            _full = false;
            return wasFull;
        }
    }
}
