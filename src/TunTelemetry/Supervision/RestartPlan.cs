using TunTelemetry.Hosting;

namespace TunTelemetry.Supervision;

/// <summary>
/// What follows a per-device actor's failure: start it again after <see cref="Delay"/>, or give up on it (null). An
/// actor that could not open a socket for want of a file descriptor (<see cref="OutOfDescriptors"/>) is not broken:
/// it waits for a descriptor, and that never counts towards giving up.
/// </summary>
internal readonly record struct RestartPlan(TimeSpan? Delay, bool OutOfDescriptors)
{
    /// <param name="ran">How long the failed incarnation ran (the scheduler's clock: a clock step only changes how soon one restart comes).</param>
    /// <param name="random">Uniform in [0, 1): how much of the random factor stretches the delay.</param>
    public static RestartPlan For(PerDeviceChild child, Exception failure, BackoffSettings backoff, TimeSpan ran, double random)
    {
        bool outOfDescriptors = FailureCause.IsOutOfDescriptors(failure);
        return new RestartPlan(child.Failures.Failed(outOfDescriptors ? backoff with { MaxRetries = -1 } : backoff, ran, random), outOfDescriptors);
    }
}
