using Akka.Actor;
using Akka.Pattern;
using Akka.TestKit;
using Xunit;

namespace TunTelemetry.Tests.Support;

/// <summary>
/// A backoff supervisor schedules a restart only once its failed child has terminated, which happens asynchronously.
/// Advancing virtual time before that moment would not count towards the delay, so specs wait for the restart count
/// (incremented exactly when the restart is scheduled) before moving the clock.
/// </summary>
public static class BackoffSpecExtensions
{
    public static void AwaitRestartCount(this TestKitBase kit, IActorRef deviceSupervisor, int expected, string kind = "poller")
    {
        ActorSelection backoff = kit.Sys.ActorSelection($"{deviceSupervisor.Path}/{kind}-*");
        kit.AwaitAssert(() =>
        {
            var count = backoff.Ask<BackoffSupervisor.RestartCount>(BackoffSupervisor.GetRestartCount.Instance, TimeSpan.FromSeconds(1)).Result;
            Assert.Equal(expected, count.Count);
        }, TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(10));
    }
}
