namespace TunTelemetry.Hosting;

/// <summary>
/// How a failed per-device actor is restarted (<c>tuntelemetry.backoff</c>). Only failures in a row back off: the delay
/// doubles from <see cref="Min"/> up to <see cref="Max"/> with each failure since the actor last succeeded (a poller: a
/// good poll), stretched by up to <see cref="RandomFactor"/> so actors that failed together do not retry together.
/// After <see cref="MaxRetries"/> restarts with no success between them the actor gives up (-1: never). An actor that
/// never reports success counts as recovered after running <see cref="ResetAfter"/> without failing.
/// </summary>
public sealed record BackoffSettings(TimeSpan Min, TimeSpan Max, double RandomFactor, int MaxRetries, TimeSpan ResetAfter)
{
    public static BackoffSettings Default { get; } = new(
        TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60), 0.2, -1, TimeSpan.FromMinutes(5));

    /// <summary>The wait before restart number <paramref name="restart"/> of a streak (0 for the first failure after a success).</summary>
    /// <param name="random">Uniform in [0, 1): how much of <see cref="RandomFactor"/> this restart is stretched by.</param>
    internal TimeSpan DelayBefore(int restart, double random)
    {
        double doubled = Min.Ticks * Math.Pow(2, Math.Min(restart, 62));
        double ticks = Math.Min(Max.Ticks, doubled) * (1 + (random * RandomFactor));
        return ticks >= TimeSpan.MaxValue.Ticks ? TimeSpan.MaxValue : TimeSpan.FromTicks((long)ticks);
    }
}
