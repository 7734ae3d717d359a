using TunTelemetry.Supervision;
using Xunit;

namespace TunTelemetry.Tests.Supervision;

public sealed class FailureLogLimiterTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Writes_one_line_per_key_per_window_and_counts_the_rest_in_the_next_line()
    {
        var limiter = FailureLogLimiter<string>.PerMinute(linesPerMinute: 100);

        Assert.True(limiter.Failed("tun0", T0).Write);
        for (int s = 1; s <= 59; s++)
        {
            Assert.False(limiter.Failed("tun0", T0.AddSeconds(s)).Write);
        }

        FailureLogDecision next = limiter.Failed("tun0", T0.AddSeconds(60));
        Assert.True(next.Write);
        Assert.Equal(59, next.NotWrittenBefore);
        Assert.Equal(0, limiter.Failed("tun0", T0.AddSeconds(121)).NotWrittenBefore);
    }

    [Fact]
    public void Keys_are_limited_separately()
    {
        var limiter = FailureLogLimiter<string>.PerMinute(linesPerMinute: 100);

        Assert.True(limiter.Failed("tun0", T0).Write);
        Assert.True(limiter.Failed("tun1", T0).Write);
        Assert.False(limiter.Failed("tun0", T0.AddSeconds(1)).Write);
    }

    [Fact]
    public void Ten_thousand_failing_keys_write_the_budget_and_one_summary_per_window()
    {
        var limiter = FailureLogLimiter<int>.PerMinute(linesPerMinute: 30);
        int lines = 0;
        var summaries = new List<FailureLogDecision>();

        for (int minute = 0; minute < 3; minute++)
        {
            for (int key = 0; key < 10_000; key++)
            {
                FailureLogDecision d = limiter.Failed(key, T0.AddMinutes(minute).AddMilliseconds(key));
                lines += d.Write ? 1 : 0;
                if (d.HeldBackFailures > 0)
                {
                    summaries.Add(d);
                }
            }
        }

        Assert.Equal(90, lines);
        Assert.Equal(2, summaries.Count); // when the second and the third window opened
        Assert.Equal(10_000 - 30, summaries[0].HeldBackFailures);
        Assert.Equal(10_000 - 30, summaries[0].HeldBackKeys);
    }

    [Fact]
    public void Forgetting_a_key_frees_it()
    {
        var limiter = FailureLogLimiter<string>.PerMinute(linesPerMinute: 30);
        limiter.Failed("tun0", T0);
        limiter.Failed("tun1", T0);

        limiter.Forget("tun0");

        Assert.Equal(1, limiter.Tracked);
        Assert.True(limiter.Failed("tun0", T0.AddSeconds(1)).Write); // a new device of that name starts afresh
    }
}
