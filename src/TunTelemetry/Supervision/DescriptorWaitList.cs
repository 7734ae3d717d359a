using TunTelemetry.Devices;

namespace TunTelemetry.Supervision;

/// <summary>
/// The per-device actors that wait for a file descriptor (their socket could not be opened: the process's limit, less
/// its reserve, is reached), oldest first: which one to start early when a retired device's actor closes its socket,
/// and how many devices wait, which are then not watched. When to say so is <see cref="Shortage"/>'s decision.
/// </summary>
/// <remarks>Pure: the supervisor starts the actors and writes the lines. Stale entries (started since, or retired) are skipped when taken.</remarks>
internal sealed class DescriptorWaitList
{
    // The shortage line's check never comes sooner than this, so a burst of changes in one instant makes one check.
    private static readonly TimeSpan MinimumCheckDelay = TimeSpan.FromMilliseconds(100);

    private readonly Queue<PerDeviceChild> _queue = [];
    private bool _checkScheduled;

    /// <summary>The shortage as the one line about it says it: begun, changed, ended.</summary>
    public DescriptorShortage<TunDevice> Shortage { get; } = DescriptorShortage<TunDevice>.PerMinute();

    /// <summary>Devices with at least one actor waiting: found, but not watched now.</summary>
    public int DevicesWaiting => Shortage.WaitingDevices;

    /// <summary>The actor failed for want of a descriptor and waits for its restart; true when its device began to wait.</summary>
    public bool Waits(PerDeviceChild child, DateTimeOffset now)
    {
        if (!child.QueuedForDescriptors)
        {
            child.QueuedForDescriptors = true;
            _queue.Enqueue(child);
        }

        if (child.WaitsForDescriptors)
        {
            return false;
        }

        child.WaitsForDescriptors = true;
        return Shortage.ActorWaits(child.Entry.Device, now);
    }

    /// <summary>
    /// The actor no longer waits: it succeeded, failed for another reason after opening its socket, or its device was
    /// retired. True when its device waits no more.
    /// </summary>
    public bool Done(PerDeviceChild child)
    {
        if (!child.WaitsForDescriptors)
        {
            return false;
        }

        child.WaitsForDescriptors = false;
        return Shortage.ActorDone(child.Entry.Device);
    }

    /// <summary>The actor that has waited longest and still waits out its backoff, to start now that a descriptor is free.</summary>
    public PerDeviceChild? TakeNext()
    {
        while (_queue.TryDequeue(out PerDeviceChild? child))
        {
            child.QueuedForDescriptors = false;
            if (child.WaitsForDescriptors && child.RestartPending && !child.Entry.Retiring)
            {
                return child;
            }
        }

        return null;
    }

    /// <summary>How soon to look at the shortage line again: null when no line may be due or a look is scheduled already.</summary>
    /// <param name="starting">Devices found together are still starting (spread over the poll interval).</param>
    public TimeSpan? NextCheck(DateTimeOffset now, bool starting)
    {
        if (_checkScheduled || Shortage.ReportDue(now, starting) is not { } due)
        {
            return null;
        }

        _checkScheduled = true;
        return due - now > MinimumCheckDelay ? due - now : MinimumCheckDelay;
    }

    /// <summary>The scheduled look: the line to write now, if one is due.</summary>
    public DescriptorShortageReport? Check(DateTimeOffset now, bool starting)
    {
        _checkScheduled = false;
        return Shortage.Report(now, starting);
    }
}
