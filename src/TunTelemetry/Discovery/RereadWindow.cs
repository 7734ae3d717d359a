namespace TunTelemetry.Discovery;

/// <summary>What to do with a request to re-read a namespace now.</summary>
internal enum RereadDecision
{
    /// <summary>Read now: no event-driven read in the last window.</summary>
    ReadNow,

    /// <summary>Start a timer for the delay given: a read happened within the window, and none is due yet.</summary>
    ReadLater,

    /// <summary>Nothing: a read is already due, and it starts after this request, so it sees what the event changed.</summary>
    AlreadyDue,
}

/// <summary>
/// Coalesces the re-reads that link events ask of a namespace: at most one extra dump per namespace per window, however
/// many events a burst brings (<c>ip tuntap add</c> alone sends several RTM_NEWLINK; a container starting sends dozens),
/// and never a request left unanswered: a request within the window gets a read at the window's end, which starts after
/// the request and so sees what its event changed. Pure, with time passed in, so it is tested without clocks.
/// </summary>
internal sealed class RereadWindow
{
    private readonly TimeSpan _window;
    private TimeSpan? _lastRead;
    private bool _due;

    public RereadWindow(TimeSpan window)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        _window = window;
    }

    /// <summary>An event asks for a read at <paramref name="now"/> (a monotonic time); <paramref name="delay"/> is set for <see cref="RereadDecision.ReadLater"/>.</summary>
    public RereadDecision Request(TimeSpan now, out TimeSpan delay)
    {
        delay = TimeSpan.Zero;
        if (_due)
        {
            return RereadDecision.AlreadyDue;
        }

        if (_lastRead is not { } last || now - last >= _window)
        {
            return RereadDecision.ReadNow;
        }

        _due = true;
        delay = _window - (now - last);
        return RereadDecision.ReadLater;
    }

    /// <summary>A read asked for by <see cref="Request"/> (now, or when its timer fired) starts at <paramref name="now"/>.</summary>
    public void Reading(TimeSpan now)
    {
        _lastRead = now;
        _due = false;
    }
}
