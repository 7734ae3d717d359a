using Akka.Actor;
using Akka.Event;
using TunTelemetry.Devices;
using TunTelemetry.Hosting;
using TunTelemetry.Netlink;
using TunTelemetry.Supervision;
using Xunit;

namespace TunTelemetry.Tests.Supervision;

public sealed class ChildFailuresTests
{
    private static readonly BackoffSettings Backoff = new(
        TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(8), RandomFactor: 0, MaxRetries: 2, ResetAfter: TimeSpan.FromMinutes(5));

    private static readonly DateTimeOffset Now = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Briefly = TimeSpan.FromSeconds(1);
    private static readonly NetlinkSocketException OutOfDescriptors = new("socket", Errno.EMFILE);

    private static PerDeviceChild Child(int ifIndex = 7) =>
        new(new WatchedDevice(new TunDevice(ifIndex, $"tun{ifIndex}", TunDeviceKind.Tun)), "poller", Props.Empty);

    [Fact]
    public void Failures_in_a_row_restart_after_a_doubling_delay_with_one_warning_each_until_the_retries_run_out()
    {
        var failures = new ChildFailures(Backoff);
        PerDeviceChild child = Child();

        ChildFailureOutcome first = failures.Failed(child, new InvalidOperationException("boom"), Now, Briefly, 0);
        ChildFailureOutcome second = failures.Failed(child, new InvalidOperationException("boom"), Now.AddMinutes(2), Briefly, 0);
        ChildFailureOutcome third = failures.Failed(child, new InvalidOperationException("boom"), Now.AddMinutes(4), Briefly, 0);

        Assert.Equal([1.0, 2.0], new[] { first, second }.Select(o => o.RestartIn!.Value.TotalSeconds));
        Assert.Equal(LogLevel.WarningLevel, Assert.Single(first.Lines).Level);
        Assert.Contains("retrying in 1.0s", first.Lines[0].Text);
        Assert.True(child.RestartPending);
        Assert.Null(third.RestartIn);
        Assert.True(child.Entry.GivenUp);
        Assert.Equal(LogLevel.ErrorLevel, Assert.Single(third.Lines).Level);
        Assert.Contains("giving up", third.Lines[0].Text);
    }

    [Fact]
    public void An_actor_short_of_descriptors_waits_in_the_queue_without_a_warning_and_never_gives_up()
    {
        var failures = new ChildFailures(Backoff);
        PerDeviceChild child = Child();

        ChildFailureOutcome[] outcomes = Enumerable.Range(0, 5)
            .Select(i => failures.Failed(child, OutOfDescriptors, Now.AddSeconds(i), Briefly, 0)).ToArray();

        Assert.All(outcomes, o => Assert.NotNull(o.RestartIn));
        Assert.All(outcomes, o => Assert.Equal(LogLevel.DebugLevel, Assert.Single(o.Lines).Level));
        Assert.Equal(new WaitingChange(WasWaiting: true, Changed: true), outcomes[0].Waiting); // its device begins to wait
        Assert.Equal(new WaitingChange(WasWaiting: true, Changed: false), outcomes[1].Waiting);
        Assert.Equal(1, failures.Waiting.DevicesWaiting);
        Assert.Same(child, failures.Waiting.TakeNext());
        Assert.Null(failures.Waiting.TakeNext());

        // It opened its socket and succeeded: its device waits no more.
        Assert.Equal(new WaitingChange(WasWaiting: true, Changed: true), failures.Succeeded(child));
        Assert.Equal(0, failures.Waiting.DevicesWaiting);
        Assert.Equal(default, failures.Succeeded(child));
    }

    [Fact]
    public void The_waiting_actor_taken_first_is_the_oldest_that_still_waits_for_its_restart()
    {
        var failures = new ChildFailures(Backoff);
        PerDeviceChild retired = Child(7), started = Child(8), waiting = Child(9);
        foreach (PerDeviceChild child in new[] { retired, started, waiting })
        {
            failures.Failed(child, OutOfDescriptors, Now, Briefly, 0);
        }

        retired.Entry.Retiring = true;
        Assert.Equal(new WaitingChange(WasWaiting: true, Changed: true), failures.Retired(retired));
        started.RestartPending = false; // its backoff ended and it started meanwhile

        Assert.Same(waiting, failures.Waiting.TakeNext());
        Assert.Equal(2, failures.Waiting.DevicesWaiting); // started still waits until it succeeds
    }
}
