namespace TunTelemetry.Hosting;

/// <summary>
/// How a failed per-device actor is restarted (<c>tuntelemetry.backoff</c>). The delay doubles from
/// <see cref="Min"/> up to <see cref="Max"/>, stretched by up to <see cref="RandomFactor"/> so actors that failed together
/// do not retry together. After <see cref="MaxRetries"/> restarts without <see cref="ResetAfter"/> of healthy running
/// in between, the actor gives up (-1: never).
/// </summary>
public sealed record BackoffSettings(TimeSpan Min, TimeSpan Max, double RandomFactor, int MaxRetries, TimeSpan ResetAfter)
{
    public static BackoffSettings Default { get; } = new(
        TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60), 0.2, -1, TimeSpan.FromMinutes(5));
}
