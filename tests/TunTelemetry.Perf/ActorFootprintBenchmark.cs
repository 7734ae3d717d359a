using Akka.Actor;
using TunTelemetry.Devices;
using TunTelemetry.Hosting;
using TunTelemetry.Netlink;
using TunTelemetry.Polling;

namespace TunTelemetry.Perf;

/// <summary>
/// Live managed heap per actor, for the shapes a per-device actor can take: the host has one of each per device, so
/// bytes per actor times 10,000 is what the shape costs at scale. Counted after a full collection, with the agent's
/// scheduler and dispatcher and 15 s ticks. No kernel involved: the poller reads from a reader that returns a fixed
/// reading.
/// </summary>
/// <remarks>
/// Each measurement has an actor system of its own, terminated before the next: a cancelled tick stays registered
/// with its scheduler until its due time and keeps its stopped actor reachable until then, so stopped actors of one
/// measurement would otherwise be freed inside the next one and make it read low.
/// </remarks>
public static class ActorFootprintBenchmark
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    public static int Run(int actors)
    {
        TunTelemetryOptions options = TunTelemetryOptions.Default;
        var shapes = new (string Name, Func<int, IActorRef, Props> Props)[]
        {
            ("receive-actor-with-timers", (_, _) => Props.Create(() => new ReceiveWithTimers()).WithDispatcher(options.NetlinkDispatcher)),
            ("untyped-actor-with-cancelable", (_, _) => Props.Create(() => new UntypedWithCancelable()).WithDispatcher(options.NetlinkDispatcher)),
            ("device-poller", (i, sink) => DevicePollerActor.Props(new TunDevice(i + 1, $"tb{i}", TunDeviceKind.Tun), sink, sink, () => new FixedReader(), Interval)
                .WithDispatcher(options.NetlinkDispatcher)),
        };

        // Twice over, and only the second pass reported: the first also pays for types and JIT, made once a process.
        for (int pass = 0; pass < 2; pass++)
        {
            foreach ((string name, Func<int, IActorRef, Props> props) in shapes)
            {
                long perActor = Measure(options, actors, props);
                if (pass == 1)
                {
                    Console.WriteLine($"footprint_shape={name} actors={actors} live_bytes_per_actor={perActor}");
                }
            }
        }

        return 0;
    }

    private static long Measure(TunTelemetryOptions options, int actors, Func<int, IActorRef, Props> props)
    {
        using ActorSystem system = PerfActorSystem.Create("footprint", options);
        IActorRef sink = system.ActorOf(Props.Create(() => new Sink()));
        Answered(sink); // the system's own actors and the sink exist before the first count

        long before = LiveBytes();
        var refs = new IActorRef[actors];
        for (int i = 0; i < actors; i++)
        {
            refs[i] = system.ActorOf(props(i, sink));
        }

        // Two rounds: the first shows PreStart has run, the second that what PreStart sent itself has been handled.
        Answered(refs);
        Answered(refs);
        long after = LiveBytes();
        if (!system.Terminate().Wait(Patience))
        {
            throw new TimeoutException("the footprint actor system did not terminate");
        }

        return (after - before) / actors;
    }

    private static long LiveBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static void Answered(params IActorRef[] refs)
    {
        if (!Task.WaitAll(refs.Select(r => r.Ask<ActorIdentity>(new Identify(null), Patience)).ToArray(), Patience))
        {
            throw new TimeoutException("an actor did not answer Identify");
        }
    }

    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }

    private sealed class ReceiveWithTimers : ReceiveActor, IWithTimers
    {
        public ReceiveWithTimers() => Receive<Tick>(_ => { });

        public ITimerScheduler Timers { get; set; } = null!;

        protected override void PreStart() => Timers.StartPeriodicTimer(Tick.Instance, Tick.Instance, Interval, Interval);
    }

    private sealed class UntypedWithCancelable : UntypedActor
    {
        private ICancelable? _ticks;

        protected override void PreStart() =>
            _ticks = Context.System.Scheduler.ScheduleTellRepeatedlyCancelable(Interval, Interval, Self, Tick.Instance, Self);

        protected override void PostStop() => _ticks?.Cancel();

        protected override void OnReceive(object message)
        {
            if (message is not Tick)
            {
                Unhandled(message);
            }
        }
    }

    private sealed class Sink : UntypedActor
    {
        protected override void OnReceive(object message)
        {
        }
    }

    private sealed class FixedReader : ILinkStatsReader
    {
        private static readonly ulong[] Counters = new ulong[LinkStats64.MaxFieldCount];

        public LinkStats64 Read(int ifIndex) => LinkStats64.FromCounters(Counters);

        public void Dispose()
        {
        }
    }
}
