namespace TunTelemetry.Supervision;

/// <summary>
/// Which devices wait for file descriptors (one or more of their actors could not open a socket because the process's
/// limit, less its reserve, is reached), and when to say so: one line when the shortage begins, one per change after
/// it and one when it ends, at most one a minute, however many devices retry how often in between. An operator needs
/// the limit, how many devices are watched and how many are not, and what to do; not 10,000 lines of EMFILE.
/// </summary>
/// <remarks>
/// The first line waits <see cref="Settle"/> after the first device ran short, and a little longer while devices found
/// together are still starting (their starts are spread over a poll interval), up to <see cref="LongestSettle"/>, so
/// it gives the numbers of the whole burst rather than of its first device.
/// </remarks>
internal sealed class DescriptorShortage<TDevice>(TimeSpan interval)
    where TDevice : notnull
{
    public static readonly TimeSpan Settle = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan LongestSettle = TimeSpan.FromMinutes(1);

    // Per device, how many of its actors wait for a descriptor.
    private readonly Dictionary<TDevice, int> _waiting = [];
    private int _reportedDevices;
    private DateTimeOffset? _reportedAt;
    private DateTimeOffset? _shortSince;

    public static DescriptorShortage<TDevice> PerMinute() => new(TimeSpan.FromMinutes(1));

    /// <summary>Devices with at least one actor waiting for a descriptor.</summary>
    public int WaitingDevices => _waiting.Count;

    /// <summary>Actors waiting for a descriptor: how many more descriptors would let every device be watched.</summary>
    public int WaitingActors { get; private set; }

    /// <summary>
    /// One of the device's actors failed for want of a descriptor (once per actor until it got one); true when the
    /// device was not waiting before.
    /// </summary>
    public bool ActorWaits(TDevice device, DateTimeOffset now)
    {
        int before = _waiting.GetValueOrDefault(device);
        _waiting[device] = before + 1;
        WaitingActors++;
        _shortSince ??= now;
        return before == 0;
    }

    /// <summary>
    /// An actor that waited got its descriptor, or its device is no longer watched; true when none of the device's
    /// actors waits any more.
    /// </summary>
    public bool ActorDone(TDevice device)
    {
        if (!_waiting.TryGetValue(device, out int actors))
        {
            return false;
        }

        WaitingActors--;
        if (actors > 1)
        {
            _waiting[device] = actors - 1;
            return false;
        }

        _waiting.Remove(device);
        return true;
    }

    /// <summary>Whether the numbers differ from the last line's (or there was none and devices wait).</summary>
    public bool Changed => WaitingDevices != _reportedDevices;

    /// <summary>When the next line may be written, if the numbers have changed; null when nothing is to be said.</summary>
    /// <param name="starting">Devices found together are still starting (spread over the poll interval).</param>
    public DateTimeOffset? ReportDue(DateTimeOffset now, bool starting)
    {
        if (!Changed)
        {
            return null;
        }

        if (_reportedAt is { } last)
        {
            return last + interval > now ? last + interval : now;
        }

        DateTimeOffset since = _shortSince ?? now;
        DateTimeOffset settled = since + Settle;
        if (starting && now < since + LongestSettle)
        {
            settled = now + Settle;
        }

        return settled > now ? settled : now;
    }

    /// <summary>
    /// The line to write now, with how the numbers moved, or null when they have not changed since the last one (or a
    /// line came too recently: <see cref="ReportDue"/> says when).
    /// </summary>
    public DescriptorShortageReport? Report(DateTimeOffset now, bool starting)
    {
        if (ReportDue(now, starting) is not { } due || due > now)
        {
            return null;
        }

        var report = new DescriptorShortageReport(_reportedDevices, WaitingDevices, WaitingActors);
        _reportedDevices = WaitingDevices;
        _reportedAt = now;
        if (WaitingDevices == 0)
        {
            _shortSince = null;
        }

        return report;
    }
}

/// <summary>How the descriptor shortage moved since the last line.</summary>
/// <param name="WasWaiting">Devices waiting at the last line (0: the shortage begins).</param>
/// <param name="Waiting">Devices waiting now (0: it has ended).</param>
/// <param name="WaitingActors">Their actors that wait: the descriptors missing.</param>
internal readonly record struct DescriptorShortageReport(int WasWaiting, int Waiting, int WaitingActors)
{
    public bool Began => WasWaiting == 0 && Waiting > 0;

    public bool Ended => Waiting == 0;
}
