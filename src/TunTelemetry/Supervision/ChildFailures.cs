using Akka.Event;
using TunTelemetry.Hosting;

namespace TunTelemetry.Supervision;

/// <summary>
/// What the supervisor does when one of its per-device actors stops after a failure, and when one succeeds: restart
/// it after its backoff (<see cref="RestartPlan"/>), or give up on it; queue it for a file descriptor
/// (<see cref="DescriptorWaitList"/>); and which lines to write, rate-limited (<see cref="FailureLogLimiter{TKey}"/>).
/// </summary>
/// <remarks>Pure: the supervisor starts the timers, writes the lines and tells the aggregator what this returns.</remarks>
internal sealed class ChildFailures(BackoffSettings backoff)
{
    // One line per device's actor per minute, and a few dozen a minute overall: 10,000 failing devices must not flood
    // a journal. Every failure is still counted in tuntelemetry.poll.failures and tuntelemetry.poller.restarts.
    private readonly FailureLogLimiter<PerDeviceChild> _lines = FailureLogLimiter<PerDeviceChild>.PerMinute(linesPerMinute: 30);

    public DescriptorWaitList Waiting { get; } = new();

    /// <param name="ran">How long the failed incarnation ran.</param>
    /// <param name="random">Uniform in [0, 1): how much of the random factor stretches the delay.</param>
    public ChildFailureOutcome Failed(PerDeviceChild child, Exception failure, DateTimeOffset now, TimeSpan ran, double random)
    {
        RestartPlan plan = RestartPlan.For(child, failure, backoff, ran, random);
        if (plan.Delay is not { } delay)
        {
            child.Entry.GivenUp = true;
            return new ChildFailureOutcome(null, [(LogLevel.ErrorLevel,
                $"{child.Kind} for {child.Entry.Device} failed {child.Failures.Count} times in a row; giving up on it until the device is re-created: {FailureCause.Describe(failure)}")]);
        }

        child.RestartPending = true;
        if (plan.OutOfDescriptors)
        {
            // No line of its own: the shortage is said once for all devices.
            bool began = Waiting.Waits(child, now);
            return new ChildFailureOutcome(delay, [(LogLevel.DebugLevel, $"{child.Kind} for {child.Entry.Device} waits for a file descriptor; retrying in {Seconds(delay)}s: {FailureCause.Describe(failure)}")])
            {
                Waiting = new WaitingChange(WasWaiting: true, Changed: began),
            };
        }

        // It failed after opening what it needed, or for another reason: it no longer waits for a descriptor.
        WaitingChange waiting = NoLongerWaits(child);
        (string? heldBack, string? line) = FailureLines.For(_lines.Failed(child, now), child.Kind, child.Entry.Device, delay, failure);
        return new ChildFailureOutcome(delay, new[] { heldBack, line }.OfType<string>().Select(l => (LogLevel.WarningLevel, l)).ToArray())
        {
            Waiting = waiting,
        };
    }

    /// <summary>The actor did its work: its next failure is a first one again, and it waits for no descriptor.</summary>
    public WaitingChange Succeeded(PerDeviceChild child)
    {
        child.Failures.Succeeded();
        return NoLongerWaits(child);
    }

    /// <summary>The actor's device is retired: its log state goes, and it waits for nothing.</summary>
    public WaitingChange Retired(PerDeviceChild child)
    {
        _lines.Forget(child);
        return NoLongerWaits(child);
    }

    private WaitingChange NoLongerWaits(PerDeviceChild child) =>
        child.WaitsForDescriptors ? new WaitingChange(WasWaiting: true, Changed: Waiting.Done(child)) : default;

    private static string Seconds(TimeSpan delay) => delay.TotalSeconds.ToString("0.0#", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>What one failure leads to.</summary>
/// <param name="RestartIn">When to start the actor again; null: given up.</param>
/// <param name="Lines">What to log, in order.</param>
internal sealed record ChildFailureOutcome(TimeSpan? RestartIn, IReadOnlyList<(LogLevel Level, string Text)> Lines)
{
    public WaitingChange Waiting { get; init; }
}

/// <summary>How an actor's waiting for a descriptor moved.</summary>
/// <param name="WasWaiting">It waited, or waits now: the shortage's numbers may have moved (check when its line is due).</param>
/// <param name="Changed">The number of devices waiting changed: publish it and the watched count.</param>
internal readonly record struct WaitingChange(bool WasWaiting, bool Changed);
