using TunTelemetry.Dispatch;
using Xunit;

namespace TunTelemetry.Tests.Dispatch;

public sealed class ThreadParkerTests
{
    [Fact]
    public void An_unpark_before_the_park_lets_it_return_at_once()
    {
        var parker = new ThreadParker();
        parker.Unpark();

        parker.Park(Timeout.Infinite); // would never return if the permit were lost
    }

    [Fact]
    public void An_unpark_wakes_a_thread_parked_without_a_timeout()
    {
        var parker = new ThreadParker();
        using var parking = new ManualResetEventSlim();
        var parked = new Thread(() =>
        {
            parking.Set();
            parker.Park(Timeout.Infinite);
        })
        { IsBackground = true };
        parked.Start();
        parking.Wait();

        parker.Unpark();

        Assert.True(parked.Join(TimeSpan.FromSeconds(30)), "the unpark did not wake the parked thread");
    }

    [Fact]
    public void A_park_with_a_timeout_returns_without_an_unpark()
    {
        var parker = new ThreadParker();

        parker.Park(1); // would never return if the timeout were not passed to the kernel
        parker.Park(0);
    }
}
