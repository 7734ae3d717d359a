using Akka.Actor;

namespace TunTelemetry.Actors;

/// <summary>
/// Makes an actor by calling a plain delegate, for <see cref="Props.CreateBy(IIndirectActorProducer, object[])"/>.
/// <c>Props.Create(() =&gt; new T(...))</c> takes an expression tree, which the compiler builds with
/// System.Linq.Expressions on every call and Akka then walks to find the constructor's arguments: that loads and
/// runs System.Linq.Expressions (2.3 MB resident in an agent on 3 devices, docs/performance.md "Fixed cost per
/// host") and builds a tree per device, for what a delegate does directly.
/// </summary>
internal sealed class FactoryActorProducer<TActor>(Func<TActor> create) : IIndirectActorProducer
    where TActor : ActorBase
{
    public Type ActorType => typeof(TActor);

    public ActorBase Produce() => create();

    public void Release(ActorBase actor)
    {
        // Nothing to release: the actor owns its resources and frees them in PostStop.
    }

    /// <summary>Props that make a <typeparamref name="TActor"/> with <paramref name="create"/>.</summary>
    public static Props Props(Func<TActor> create) => Akka.Actor.Props.CreateBy(new FactoryActorProducer<TActor>(create));
}
