using TunTelemetry.Hosting;
using TunTelemetry.Supervision;
using Xunit;

namespace TunTelemetry.Tests.Supervision;

public sealed class FailureStreakTests
{
    private static readonly BackoffSettings Backoff = new(
        TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(8), RandomFactor: 0, MaxRetries: -1, ResetAfter: TimeSpan.FromMinutes(5));

    private static readonly TimeSpan Briefly = TimeSpan.FromSeconds(1);

    [Fact]
    public void Failures_in_a_row_double_the_delay_up_to_the_maximum()
    {
        var streak = new FailureStreak();

        TimeSpan?[] delays = Enumerable.Range(0, 6).Select(_ => streak.Failed(Backoff, Briefly, 0)).ToArray();

        Assert.Equal([1, 2, 4, 8, 8, 8], delays.Select(d => d!.Value.TotalSeconds));
        Assert.Equal(6, streak.Count);
    }

    [Fact]
    public void A_success_makes_the_next_failure_a_first_failure()
    {
        var streak = new FailureStreak();
        streak.Failed(Backoff, Briefly, 0);
        streak.Failed(Backoff, Briefly, 0);

        streak.Succeeded();

        Assert.Equal(0, streak.Count);
        Assert.Equal(TimeSpan.FromSeconds(1), streak.Failed(Backoff, Briefly, 0));
    }

    [Fact]
    public void An_actor_that_never_reports_success_counts_as_recovered_after_reset_after_of_running()
    {
        var streak = new FailureStreak();
        streak.Failed(Backoff, Briefly, 0);
        streak.Failed(Backoff, Briefly, 0);

        Assert.Equal(TimeSpan.FromSeconds(4), streak.Failed(Backoff, TimeSpan.FromMinutes(4.9), 0));
        Assert.Equal(TimeSpan.FromSeconds(1), streak.Failed(Backoff, TimeSpan.FromMinutes(5), 0));
    }

    [Fact]
    public void Gives_up_when_failures_in_a_row_exceed_max_retries()
    {
        var streak = new FailureStreak();
        BackoffSettings twoRetries = Backoff with { MaxRetries = 2 };

        Assert.NotNull(streak.Failed(twoRetries, Briefly, 0));
        Assert.NotNull(streak.Failed(twoRetries, Briefly, 0));
        Assert.Null(streak.Failed(twoRetries, Briefly, 0));
        Assert.Equal(3, streak.Count); // the log line says how many failures in a row ended it
    }

    [Fact]
    public void Successes_between_failures_keep_an_actor_from_giving_up()
    {
        var streak = new FailureStreak();
        BackoffSettings oneRetry = Backoff with { MaxRetries = 1 };

        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(TimeSpan.FromSeconds(1), streak.Failed(oneRetry, Briefly, 0));
            streak.Succeeded();
        }
    }

    [Fact]
    public void The_random_factor_stretches_a_delay_by_at_most_its_share()
    {
        var streak = new FailureStreak();

        TimeSpan? delay = streak.Failed(Backoff with { RandomFactor = 0.2 }, Briefly, random: 0.5);

        Assert.Equal(TimeSpan.FromSeconds(1.1), delay);
    }
}
