using TunTelemetry.Hosting;

namespace TunTelemetry.Supervision;

/// <summary>
/// The failures in a row of one per-device actor, and what the supervisor does about the next one: start the actor
/// again after a backoff delay, or give up on it.
/// </summary>
/// <remarks>
/// Only failures in a row back off. A poller that fails once, polls successfully after its restart and fails again a
/// minute later waits <see cref="BackoffSettings.Min"/> again: intermittent faults, each followed by a good poll, must
/// not add up to a device that goes unwatched for a minute, which is when an operator needs it most. An actor that
/// never says it succeeded (an extension written before <c>PerDeviceActorSucceeded</c>) counts as recovered once it has
/// run <see cref="BackoffSettings.ResetAfter"/> without failing.
/// </remarks>
internal sealed class FailureStreak
{
    /// <summary>Failures since the actor last succeeded; the next restart's place in the doubling.</summary>
    public int Count { get; private set; }

    /// <summary>The actor did its work: the next failure is a first failure again.</summary>
    public void Succeeded() => Count = 0;

    /// <summary>Counts a failure and says how long to wait before the next start, or null to give up.</summary>
    /// <param name="ran">How long the failed incarnation ran before it failed.</param>
    /// <param name="random">Uniform in [0, 1): how much of the random factor stretches this delay.</param>
    public TimeSpan? Failed(BackoffSettings backoff, TimeSpan ran, double random)
    {
        if (ran >= backoff.ResetAfter)
        {
            Count = 0;
        }

        if (backoff.MaxRetries >= 0 && Count >= backoff.MaxRetries)
        {
            Count++;
            return null;
        }

        TimeSpan delay = backoff.DelayBefore(Count, random);
        Count++;
        return delay;
    }
}
