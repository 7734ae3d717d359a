using Akka.Actor;
using TunTelemetry.Actors;
using TunTelemetry.Metrics;

namespace TunTelemetry.Extensions.Tests;

/// <summary>
/// A sample per-device extension, built on the public API only: every interval it reads its device's TX queues and
/// exports how many there are (a gauge) and each queue's timeouts (a counter, reported as the kernel's cumulative
/// value; the aggregator counts its growth exactly, across this actor's restarts).
/// </summary>
/// <remarks>
/// It reads <c>/sys/class/net</c>, which shows only the agent's own network namespace: with <c>--all-namespaces</c> the
/// supervisor starts it for the devices of other namespaces too, and for those (<see cref="TunTelemetry.Devices.TunDevice.Namespace"/>
/// set) it reads and reports nothing, rather than read a device of the same name in the agent's namespace.
/// </remarks>
public sealed class TxQueueWatchActor : UntypedActor
{
    public const string RegistrationName = "tx-queue-watch";

    // snippet: instruments
    /// <summary>The instruments to declare with <c>AddPerDeviceActor</c>.</summary>
    public static readonly DeviceInstrument Queues = DeviceInstrument.Gauge("sample.tun.tx_queues", "{queue}", "TX queues of the device.");

    public static readonly DeviceInstrument Timeouts = DeviceInstrument.Counter(
        "sample.tun.tx_timeouts", "{timeout}", "TX queue timeouts, by queue.", seriesPerDevice: 16);
    // end snippet

    private readonly PerDeviceActorContext _context;
    private readonly ITxQueueSource _source;
    private readonly TimeSpan _interval;
    private ICancelable? _ticks;
    private bool _succeeded;

    public TxQueueWatchActor(PerDeviceActorContext context, ITxQueueSource source, TimeSpan interval)
    {
        _context = context;
        _source = source;
        _interval = interval;
    }

    public static Props Props(PerDeviceActorContext context, ITxQueueSource source, TimeSpan interval) =>
        Akka.Actor.Props.Create(() => new TxQueueWatchActor(context, source, interval));

    // snippet: lifecycle
    // The shape of the built-in pollers: a first read at once, then one cancellable repeated tell, cancelled on stop
    // and before a restart.
    protected override void PreStart()
    {
        if (_context.Device.Namespace is not null)
        {
            return; // the agent's sysfs shows its own namespace only: not this device's to read
        }

        Self.Tell(Read.Instance);
        _ticks = Context.System.Scheduler.ScheduleTellRepeatedlyCancelable(_interval, _interval, Self, Read.Instance, Self);
    }

    protected override void PostStop() => _ticks?.Cancel();
    // end snippet

    // snippet: publish
    protected override void OnReceive(object message)
    {
        if (message is not Read)
        {
            Unhandled(message);
            return;
        }

        // An IOException here restarts the actor after the configured backoff.
        IReadOnlyList<TxQueue> queues = _source.Read(_context.Device.Name);
        _context.Aggregator.Tell(new DeviceMeasured(_context.Device, Queues.Name, queues.Count));
        foreach (TxQueue queue in queues)
        {
            _context.Aggregator.Tell(new DeviceMeasured(_context.Device, Timeouts.Name, queue.Timeouts, [new("queue", queue.Name)]));
        }

        if (!_succeeded)
        {
            _succeeded = true; // ends the failure streak: a later failure waits backoff.min again
            _context.Supervisor.Tell(PerDeviceActorSucceeded.Instance, Self);
        }
    }
    // end snippet

    private sealed class Read
    {
        public static readonly Read Instance = new();

        private Read()
        {
        }
    }
}
