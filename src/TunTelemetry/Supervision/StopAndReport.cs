using Akka.Actor;
using Akka.Actor.Internal;

namespace TunTelemetry.Supervision;

/// <summary>
/// Stops a failed child and tells the supervisor which one failed (a decider sees only the exception), without the
/// strategy's own stack-trace log: the supervisor logs the failure itself, in one rate-limited line, and starts the
/// child again after its backoff.
/// </summary>
internal sealed class StopAndReport(Action<IActorRef, Exception> onFailure)
    : OneForOneStrategy(-1, -1, _ => Directive.Stop, loggingEnabled: false)
{
    public override void ProcessFailure(
        IActorContext context, bool restart, IActorRef child, Exception cause, ChildRestartStats stats, IReadOnlyCollection<ChildRestartStats> children)
    {
        onFailure(child, cause);
        base.ProcessFailure(context, restart, child, cause, stats, children);
    }
}
