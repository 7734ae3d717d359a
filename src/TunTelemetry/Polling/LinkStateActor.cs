using Akka.Actor;
using Akka.Event;
using TunTelemetry.Actors;
using TunTelemetry.Metrics;
using TunTelemetry.Netlink;

namespace TunTelemetry.Polling;

/// <summary>
/// The shipped per-device extension: reads a device's MTU, TX queue length, operational state, up-with-carrier and
/// (multi-queue TUN) queue counts (RTM_GETLINK for its ifindex) every <c>metrics.link-state-interval</c>, for the
/// <c>tundev.link.*</c> gauges. A txqueuelen shrunk by a misconfiguration is
/// a common cause of TX queue drops; this puts the two side by side.
/// </summary>
/// <remarks>
/// One per device, so shaped like <see cref="DevicePollerActor"/> (see its remarks): an untyped actor with one
/// cancellable repeated tell, not a <see cref="ReceiveActor"/> with <see cref="IWithTimers"/>.
/// </remarks>
internal sealed class LinkStateActor : UntypedActor
{
    /// <summary>The registration name (and actor name prefix).</summary>
    public const string RegistrationName = "link-state";

    private readonly PerDeviceActorContext _context;
    private readonly Func<DeviceLinkReader> _openSocket;
    private DeviceLinkReader? _socket;
    private ICancelable? _ticks;
    private bool _succeeded;

    internal LinkStateActor(PerDeviceActorContext context, Func<DeviceLinkReader> openSocket)
    {
        _context = context;
        _openSocket = openSocket;
    }

    public static Props Props(PerDeviceActorContext context)
    {
        Func<DeviceLinkReader> open = () => DeviceLinkReader.Open(context.Options.RequestSocket, context.Device.Target, context.Device.Name);
        // A producer, not Props.Create(() => new ...): Akka's activator finds public constructors only, and this one
        // takes an internal type.
        return Akka.Actor.Props.CreateBy(new Producer(() => new LinkStateActor(context, open))).WithDispatcher(context.Options.NetlinkDispatcher);
    }

    /// <summary>The registration to add with the builder (the host adds it when <c>metrics.link-state = on</c>).</summary>
    public static PerDeviceActorRegistration Registration { get; } = new(RegistrationName, context => Props(context));

    protected override void PreStart()
    {
        _socket = _openSocket();
        Self.Tell(Observe.Instance);
        TimeSpan interval = _context.Options.LinkStateInterval;
        _ticks = Context.System.Scheduler.ScheduleTellRepeatedlyCancelable(interval, interval, Self, Observe.Instance, Self);
    }

    // Runs on every stop and, through PreRestart, before every restart.
    protected override void PostStop()
    {
        _ticks?.Cancel();
        _socket?.Dispose();
    }

    protected override void OnReceive(object message)
    {
        if (message is Observe)
        {
            OnObserve();
        }
        else
        {
            Unhandled(message);
        }
    }

    private void OnObserve()
    {
        if (_socket is null)
        {
            return;
        }

        LinkDescription? link = _socket.GetLink(_context.Device.IfIndex);
        if (link is null || link.Name != _context.Device.Name)
        {
            Context.GetLogger().Debug("{0} is gone or renamed; link-state stops", _context.Device);
            _ticks?.Cancel();
            _socket.Dispose();
            _socket = null; // a tick queued before the cancel finds no socket, instead of reporting the device again
            _context.Supervisor.Tell(new DeviceVanished(_context.Device));
            return;
        }

        (uint, uint)? queues = link.Tun is { MultiQueue: true, Queues: { } enabled } tun ? (enabled, tun.DisabledQueues ?? 0) : null;
        _context.Aggregator.Tell(new LinkStateObserved(_context.Device,
            new LinkStateObservation(link.Mtu, link.TxQueueLength, link.OperState, link.IsUpWithCarrier, queues)));
        if (!_succeeded)
        {
            _succeeded = true;
            _context.Supervisor.Tell(PerDeviceActorSucceeded.Instance, Self);
        }
    }

    private sealed class Producer(Func<LinkStateActor> create) : IIndirectActorProducer
    {
        public Type ActorType => typeof(LinkStateActor);

        public ActorBase Produce() => create();

        public void Release(ActorBase actor)
        {
        }
    }

    private sealed class Observe
    {
        public static readonly Observe Instance = new();

        private Observe()
        {
        }
    }
}
