using TunTelemetry.Supervision;
using Xunit;

namespace TunTelemetry.Tests.Supervision;

public sealed class DescriptorShortageTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 4, 6, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_shortage_is_said_once_when_it_begins_however_often_its_devices_retry()
    {
        var shortage = DescriptorShortage<string>.PerMinute();
        Assert.Null(shortage.ReportDue(T0, starting: false));

        Assert.True(shortage.ActorWaits("tb1", T0));
        Assert.False(shortage.ActorWaits("tb1", T0)); // its second actor
        Assert.True(shortage.ActorWaits("tb2", T0));

        Assert.Equal(T0 + DescriptorShortage<string>.Settle, shortage.ReportDue(T0, starting: false));
        Assert.Null(shortage.Report(T0, starting: false));
        DescriptorShortageReport first = shortage.Report(T0.AddSeconds(1), starting: false)!.Value;
        Assert.True(first.Began);
        Assert.Equal((0, 2, 3), (first.WasWaiting, first.Waiting, first.WaitingActors));

        // Retries that fail again change nothing: nothing more to say.
        for (int s = 2; s < 600; s += 7)
        {
            Assert.Null(shortage.Report(T0.AddSeconds(s), starting: false));
        }
    }

    [Fact]
    public void Changes_are_said_at_most_once_a_minute_and_the_end_once()
    {
        var shortage = DescriptorShortage<string>.PerMinute();
        shortage.ActorWaits("tb1", T0);
        Assert.True(shortage.Report(T0.AddSeconds(1), starting: false)!.Value.Began);

        shortage.ActorWaits("tb2", T0.AddSeconds(5));
        shortage.ActorWaits("tb3", T0.AddSeconds(6));
        Assert.Equal(T0.AddSeconds(61), shortage.ReportDue(T0.AddSeconds(6), starting: false));
        Assert.Null(shortage.Report(T0.AddSeconds(30), starting: false));
        DescriptorShortageReport more = shortage.Report(T0.AddSeconds(61), starting: false)!.Value;
        Assert.Equal((1, 3, false, false), (more.WasWaiting, more.Waiting, more.Began, more.Ended));

        Assert.True(shortage.ActorDone("tb1"));
        Assert.True(shortage.ActorDone("tb2"));
        Assert.True(shortage.ActorDone("tb3"));
        Assert.False(shortage.ActorDone("tb3")); // retired after it got its descriptor: nothing waits
        Assert.Null(shortage.Report(T0.AddSeconds(100), starting: false));
        DescriptorShortageReport ended = shortage.Report(T0.AddSeconds(121), starting: false)!.Value;
        Assert.True(ended.Ended);
        Assert.Equal(3, ended.WasWaiting);
        Assert.Null(shortage.ReportDue(T0.AddSeconds(500), starting: false));
    }

    [Fact]
    public void The_first_line_waits_for_devices_still_starting_but_not_beyond_a_minute()
    {
        var shortage = DescriptorShortage<string>.PerMinute();
        shortage.ActorWaits("tb1", T0);

        Assert.Null(shortage.Report(T0.AddSeconds(1), starting: true));
        Assert.Equal(T0.AddSeconds(31), shortage.ReportDue(T0.AddSeconds(30), starting: true));
        shortage.ActorWaits("tb2", T0.AddSeconds(30));
        DescriptorShortageReport first = shortage.Report(T0.AddSeconds(60), starting: true)!.Value;
        Assert.Equal(2, first.Waiting);
    }

    [Fact]
    public void A_shortage_that_ends_before_it_was_said_is_not_said()
    {
        var shortage = DescriptorShortage<string>.PerMinute();
        shortage.ActorWaits("tb1", T0);
        shortage.ActorDone("tb1");

        Assert.Null(shortage.ReportDue(T0.AddSeconds(1), starting: false));
        Assert.Null(shortage.Report(T0.AddSeconds(1), starting: false));
    }
}
