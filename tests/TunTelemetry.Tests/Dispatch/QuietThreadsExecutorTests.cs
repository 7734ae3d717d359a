using Akka.Dispatch;
using TunTelemetry.Dispatch;
using Xunit;

namespace TunTelemetry.Tests.Dispatch;

public sealed class QuietThreadsExecutorTests
{
    [Fact]
    public void Every_item_runs_exactly_once_when_bursts_come_from_many_threads()
    {
        var executor = new QuietThreadsExecutor("test-burst", threadCount: 2);
        const int Producers = 4;
        const int Bursts = 200;
        const int PerBurst = 50;
        int[] runs = new int[Producers * Bursts * PerBurst];
        using var done = new CountdownEvent(runs.Length);
        try
        {
            Parallel.For(0, Producers, p =>
            {
                for (int b = 0; b < Bursts; b++)
                {
                    for (int i = 0; i < PerBurst; i++)
                    {
                        int slot = (((p * Bursts) + b) * PerBurst) + i;
                        executor.Execute(new ActionRunnable(() =>
                        {
                            Interlocked.Increment(ref runs[slot]);
                            done.Signal();
                        }));
                    }

                    if (b % 20 == 0)
                    {
                        Thread.Sleep(2); // let the threads drain and go to sleep, so wake-ups are exercised
                    }
                }
            });

            Assert.True(done.Wait(TimeSpan.FromSeconds(30)), $"{done.CurrentCount} items never ran");
            Assert.All(runs, r => Assert.Equal(1, r));
        }
        finally
        {
            executor.Shutdown();
        }
    }

    [Fact]
    public void Work_queued_behind_a_blocked_thread_is_taken_by_another_one()
    {
        var executor = new QuietThreadsExecutor("test-stall", threadCount: 2);
        using var blocked = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        using var ranMeanwhile = new ManualResetEventSlim();
        try
        {
            executor.Execute(new ActionRunnable(() =>
            {
                blocked.Set();
                release.Wait(TimeSpan.FromSeconds(30)); // like a netlink receive waiting for its timeout
            }));
            Assert.True(blocked.Wait(TimeSpan.FromSeconds(10)));
            Thread.Sleep(QuietThreadsExecutor.StallMilliseconds * 3);

            executor.Execute(new ActionRunnable(ranMeanwhile.Set));

            Assert.True(ranMeanwhile.Wait(TimeSpan.FromSeconds(10)), "the second item waited for the blocked one");
            Assert.False(release.IsSet);
        }
        finally
        {
            release.Set();
            executor.Shutdown();
        }
    }

    [Fact]
    public void After_shutdown_new_work_is_rejected_not_lost_silently()
    {
        var executor = new QuietThreadsExecutor("test-shutdown", threadCount: 1);
        executor.Shutdown();

        Assert.Throws<RejectedExecutionException>(() => executor.Execute(new ActionRunnable(() => { })));
    }
}
