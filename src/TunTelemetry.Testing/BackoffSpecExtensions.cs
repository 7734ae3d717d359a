using Akka.Actor;
using Akka.TestKit;
using TunTelemetry.Supervision;

namespace TunTelemetry.Testing;

/// <summary>
/// The supervisor schedules a restart only once its failed child has terminated, which happens asynchronously.
/// Advancing virtual time before that moment would not count towards the delay, so specs wait for the restart count
/// (incremented exactly when the restart is scheduled) before moving the clock. The deadline is generous because a
/// busy machine can hold the actors back for seconds; a count that is right returns at once.
/// </summary>
public static class BackoffSpecExtensions
{
    /// <param name="kind">The per-device actor's registration name (<c>poller</c> for the built-in poller).</param>
    public static void AwaitRestartCount(this TestKitBase kit, IActorRef deviceSupervisor, int expected, string kind = "poller")
    {
        ArgumentNullException.ThrowIfNull(kit);
        ArgumentNullException.ThrowIfNull(deviceSupervisor);
        int? last = null;
        kit.AwaitCondition(() =>
        {
            RestartCounts counts = deviceSupervisor.Ask<RestartCounts>(GetRestartCounts.Instance, TimeSpan.FromSeconds(10)).Result;
            last = counts.Restarts.Where(r => r.Kind == kind).Sum(r => r.Restarts);
            return last == expected;
        }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(10), $"{expected} restart(s) of '{kind}' scheduled (last seen: {last})");
    }
}
