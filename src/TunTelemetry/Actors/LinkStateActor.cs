using Akka.Actor;
using Akka.Event;
using TunTelemetry.Devices;
using TunTelemetry.Metrics;
using TunTelemetry.Netlink;

namespace TunTelemetry.Actors;

/// <summary>
/// The shipped per-device extension: reads a device's MTU, TX queue length and operational state (RTM_GETLINK for
/// its ifindex) every <c>metrics.link-state-interval</c>, for the <c>tundev.link.*</c> gauges. A txqueuelen shrunk by a misconfiguration is
/// a common cause of TX queue drops; this puts the two side by side.
/// </summary>
public sealed class LinkStateActor : ReceiveActor, IWithTimers
{
    /// <summary>The registration name (and actor name prefix).</summary>
    public const string RegistrationName = "link-state";

    private readonly PerDeviceActorContext _context;
    private readonly Func<NetlinkRouteSocket> _openSocket;
    private NetlinkRouteSocket? _socket;

    public LinkStateActor(PerDeviceActorContext context, Func<NetlinkRouteSocket> openSocket)
    {
        _context = context;
        _openSocket = openSocket;
        Receive<Observe>(_ => OnObserve());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(PerDeviceActorContext context, Func<NetlinkRouteSocket>? openSocket = null)
    {
        Func<NetlinkRouteSocket> open = openSocket ?? (() => NetlinkRouteSocket.Open(context.Options.RequestSocket));
        return Akka.Actor.Props.Create(() => new LinkStateActor(context, open)).WithDispatcher(context.Options.NetlinkDispatcher);
    }

    /// <summary>The registration to add with the builder (the host adds it when <c>metrics.link-state = on</c>).</summary>
    public static PerDeviceActorRegistration Registration { get; } = new(RegistrationName, context => Props(context));

    protected override void PreStart()
    {
        _socket = _openSocket();
        Self.Tell(Observe.Instance);
        Timers.StartPeriodicTimer(Observe.Instance, Observe.Instance, _context.Options.LinkStateInterval, _context.Options.LinkStateInterval);
    }

    protected override void PostStop() => _socket?.Dispose();

    private void OnObserve()
    {
        if (_socket is null)
        {
            return;
        }

        LinkDescription? link = _socket.GetLink(_context.Device.IfIndex);
        if (link is null || link.Name != _context.Device.Name)
        {
            Context.GetLogger().Info("{0} is gone or renamed; link-state stops", _context.Device);
            Timers.CancelAll();
            _context.Supervisor.Tell(new DeviceVanished(_context.Device));
            return;
        }

        _context.Aggregator.Tell(new LinkStateObserved(_context.Device, new LinkStateObservation(link.Mtu, link.TxQueueLength, link.OperState)));
    }

    private sealed class Observe
    {
        public static readonly Observe Instance = new();

        private Observe()
        {
        }
    }
}
