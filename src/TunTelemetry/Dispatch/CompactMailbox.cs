using Akka.Actor;
using Akka.Configuration;
using Akka.Dispatch;
using Akka.Dispatch.MessageQueues;

namespace TunTelemetry.Dispatch;

/// <summary>
/// The mailbox type behind <see cref="CompactMessageQueue"/>: <c>mailbox-type =
/// "TunTelemetry.Dispatch.CompactMailbox, TunTelemetry"</c> on a dispatcher or a mailbox definition.
/// </summary>
internal sealed class CompactMailbox(Settings settings, Config config)
    : MailboxType(settings, config), IProducesMessageQueue<CompactMessageQueue>
{
    public override IMessageQueue Create(IActorRef owner, ActorSystem system) => new CompactMessageQueue();
}
