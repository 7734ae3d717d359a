using Akka.Actor;
using Akka.Event;
using Akka.TestKit;

namespace TunTelemetry.Testing;

/// <summary>
/// An actor that schedules its own ticks must cancel them when it stops: a tick still scheduled would be told to the
/// stopped actor and published as a dead letter, which is what this looks for after moving virtual time on.
/// </summary>
public static class TickSpecExtensions
{
    public static void StopAndExpectNoTicks(this TestKitBase kit, IActorRef actor, TimeSpan advance)
    {
        kit.Watch(actor);
        kit.Sys.Stop(actor);
        kit.ExpectTerminated(actor);
        TestProbe deadLetters = kit.CreateTestProbe();
        kit.Sys.EventStream.Subscribe(deadLetters, typeof(DeadLetter));
        ((TestScheduler)kit.Sys.Scheduler).Advance(advance);

        // No wait needed: Advance tells each due tick on this thread, a tell to a stopped actor is published as a dead
        // letter at once, and a probe receives on the publisher's thread: a leaked tick is in the probe already.
        deadLetters.ExpectNoMsg(TimeSpan.Zero);
    }
}
