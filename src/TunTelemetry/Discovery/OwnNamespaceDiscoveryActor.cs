using Akka.Actor;
using Akka.Event;
using TunTelemetry.Devices;

namespace TunTelemetry.Discovery;

/// <summary>
/// Asks the discovery of a vanished device's namespace to look for it again: a device deleted and re-created under the
/// same name has a new ifindex, and is watched at once rather than at the next event or listing.
/// </summary>
internal sealed record LookAgain(TunDevice Vanished);

/// <summary>
/// Finds the TUN devices of the agent's own network namespace and tells its parent, the device supervisor: runs
/// <see cref="TunLinkEvents"/> (link events, re-listed on overrun or failure, on a thread of its own) and forwards
/// each <see cref="DeviceEvent"/>; asked to <see cref="LookAgain"/> for a vanished device, looks its name up.
/// The other namespaces' counterpart is <see cref="NamespaceDiscoveryActor"/>.
/// </summary>
internal sealed class OwnNamespaceDiscoveryActor : ReceiveActor
{
    private readonly Func<TunLinkEvents>? _createLinkEvents;
    private readonly CancellationTokenSource _stop = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();

    /// <param name="createLinkEvents">Follows the kernel's devices; null: no events (the caller sends them).</param>
    /// <param name="resolveByName">Looks a device up by name; null: vanished devices are not looked for.</param>
    public OwnNamespaceDiscoveryActor(Func<TunLinkEvents>? createLinkEvents, Func<string, TunDevice?>? resolveByName, DeviceSelection selection)
    {
        _createLinkEvents = createLinkEvents;
        Receive<DiscoveryFailed>(m => _log.Warning("Device discovery failed, retrying in {0:0.0#}s: {1}", m.RetryIn.TotalSeconds, m.Error.Message));
        Receive<DeviceEvent>(e => Context.Parent.Forward(e));
        Receive<LookAgain>(m =>
        {
            if (resolveByName is null)
            {
                return;
            }

            // A netlink request, which can block for netlink-timeout: not on this actor's dispatcher thread.
            IActorRef parent = Context.Parent;
            _ = Task.Run(() =>
            {
                if (resolveByName(m.Vanished.Name) is { } again && again.IfIndex != m.Vanished.IfIndex && selection.Matches(again))
                {
                    parent.Tell(new DeviceAppeared(again)); // watched now, even if its spread start was still to come
                }
            });
        });
    }

    public static Props Props(Func<TunLinkEvents>? createLinkEvents, Func<string, TunDevice?>? resolveByName, DeviceSelection selection) =>
        Akka.Actor.Props.Create(() => new OwnNamespaceDiscoveryActor(createLinkEvents, resolveByName, selection));

    protected override void PreStart()
    {
        if (_createLinkEvents is null)
        {
            return;
        }

        TunLinkEvents links = _createLinkEvents();
        IActorRef self = Self;
        CancellationToken stop = _stop.Token;
        _ = Task.Run(async () =>
        {
            try
            {
                await foreach (DeviceEvent e in links.FollowAsync(stop).ConfigureAwait(false))
                {
                    self.Tell(e); // a failure is said here; the others go to the supervisor
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // stopping
            }
        }, stop);
    }

    protected override void PostStop()
    {
        _stop.Cancel();
        _stop.Dispose();
    }

}
