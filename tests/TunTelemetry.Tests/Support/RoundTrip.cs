using Akka.Actor;

namespace TunTelemetry.Tests.Support;

/// <summary>
/// How a virtual-time spec shows that something did not happen, without waiting a while for it: a round trip to the
/// actor that would have done it. Every actor answers <see cref="Identify"/> in mailbox order, so the answer comes
/// after it has handled everything told to it before (the ticks a <c>TestScheduler.Advance</c> fired included), and
/// what it told a TestProbe meanwhile is already in the probe's queue (probes receive on the sender's thread). Then
/// <c>Assert.False(probe.HasMessages)</c>.
/// </summary>
public static class RoundTrip
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>Returns once <paramref name="actor"/> has handled every message told to it before; fails if it has stopped.</summary>
    public static void AwaitHandled(this IActorRef actor)
    {
        ActorIdentity identity = actor.Ask<ActorIdentity>(new Identify(null), Patience).Result;
        if (identity.Subject is null)
        {
            throw new InvalidOperationException($"{actor.Path} has stopped");
        }
    }
}
