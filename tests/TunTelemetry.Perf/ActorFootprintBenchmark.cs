using Akka.Actor;
using Akka.Configuration;
using TunTelemetry.Actors;
using TunTelemetry.Devices;
using TunTelemetry.Dispatch;
using TunTelemetry.Hosting;
using TunTelemetry.Netlink;

namespace TunTelemetry.Perf;

/// <summary>
/// Live managed heap per actor, for the shapes a per-device actor can take: the host has one of each per device, so
/// bytes per actor times 10,000 is what the shape costs at scale. Counted after a full collection, with the agent's
/// scheduler and dispatcher, 15 s ticks that never fire while measured. No kernel involved: the poller reads from a
/// reader that returns a fixed reading.
/// </summary>
public static class ActorFootprintBenchmark
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(15);

    public static int Run(int actors)
    {
        TunTelemetryOptions options = TunTelemetryOptions.Default;
        Config config = ConfigurationFactory.ParseString($"""
            {options.SchedulerHocon}
            akka.loglevel = WARNING
            """).WithFallback(ConfigurationFactory.ParseString(NetlinkDispatcher.Hocon));
        using ActorSystem system = ActorSystem.Create("footprint", config);
        IActorRef sink = system.ActorOf(Props.Create(() => new Sink()));

        var shapes = new (string Name, Func<int, Props> Props)[]
        {
            ("receive-actor-with-timers", _ => Props.Create(() => new ReceiveWithTimers()).WithDispatcher(options.NetlinkDispatcher)),
            ("untyped-actor-with-cancelable", _ => Props.Create(() => new UntypedWithCancelable()).WithDispatcher(options.NetlinkDispatcher)),
            ("device-poller", i => DevicePollerActor.Props(new TunDevice(i + 1, $"tb{i}", TunDeviceKind.Tun), sink, sink, () => new FixedReader(), Interval)
                .WithDispatcher(options.NetlinkDispatcher)),
        };

        // Twice over, and only the second pass reported: the first also pays for types, JIT and pools made once.
        for (int pass = 0; pass < 2; pass++)
        {
            foreach ((string name, Func<int, Props> props) in shapes)
            {
                long before = LiveBytes();
                var refs = new IActorRef[actors];
                for (int i = 0; i < actors; i++)
                {
                    refs[i] = system.ActorOf(props(i));
                }

                Started(system, refs);
                long after = LiveBytes();
                if (pass == 1)
                {
                    Console.WriteLine($"footprint_shape={name} actors={actors} live_bytes_per_actor={(after - before) / actors}");
                }

                foreach (IActorRef actor in refs)
                {
                    system.Stop(actor);
                }

                Stopped(system, refs);
            }
        }

        return 0;
    }

    private static long LiveBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    // An Identify answered by every actor: each has run PreStart and scheduled its ticks.
    private static void Started(ActorSystem system, IActorRef[] refs) =>
        Task.WaitAll(refs.Select(r => r.Ask<ActorIdentity>(new Identify(null), TimeSpan.FromSeconds(30))).ToArray());

    private static void Stopped(ActorSystem system, IActorRef[] refs) =>
        Task.WaitAll(refs.Select(r => r.WatchAsync()).ToArray(), TimeSpan.FromSeconds(30));

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
