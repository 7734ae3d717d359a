using Akka.Actor;
using Akka.TestKit;
using TunTelemetry.Actors;
using Xunit;

namespace TunTelemetry.Tests.Support;

/// <summary>
/// The supervisor schedules a restart only once its failed child has terminated, which happens asynchronously.
/// Advancing virtual time before that moment would not count towards the delay, so specs wait for the restart count
/// (incremented exactly when the restart is scheduled) before moving the clock. The deadline is generous because a
/// busy machine can hold the actors back for seconds; a count that is right returns at once.
/// </summary>
public static class BackoffSpecExtensions
{
    public static void AwaitRestartCount(this TestKitBase kit, IActorRef deviceSupervisor, int expected, string kind = "poller")
    {
        kit.AwaitAssert(() =>
        {
            RestartCounts counts = deviceSupervisor.Ask<RestartCounts>(GetRestartCounts.Instance, TimeSpan.FromSeconds(10)).Result;
            Assert.Equal(expected, Assert.Single(counts.Restarts, r => r.Kind == kind).Restarts);
        }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(10));
    }
}
