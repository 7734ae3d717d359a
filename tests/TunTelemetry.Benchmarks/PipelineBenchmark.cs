using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;
using Akka.Actor;
using Akka.Configuration;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using TunTelemetry.Actors;
using TunTelemetry.Demo;
using TunTelemetry.Devices;
using TunTelemetry.Hosting;
using TunTelemetry.Metrics;
using TunTelemetry.Netlink;

namespace TunTelemetry.Benchmarks;

/// <summary>
/// The whole in-process pipeline without export: a real ActorSystem configured from hocon.conf, the
/// <see cref="MetricsAggregatorActor"/> over <c>new TunDeviceMetrics(new Meter("bench"), detailed: false)</c>, and the
/// <see cref="DeviceSupervisorActor"/> with the builder's registrations (poller + link state) over K real TUN devices,
/// each polled every interval. Measured in two windows: idle devices (counters unchanged: a syscall per tick, no
/// message) and busy devices (a generator thread writes a packet into every device twice per interval, so nearly every
/// tick carries a changed reading to the aggregator and the instruments). The generator's own CPU and allocations are
/// measured on its thread and subtracted. Ticks are counted exactly by wrapping the stats reader
/// (<see cref="TunTelemetryBuilder.UseLinkStatsReader"/>). The instruments are consumed by the OpenTelemetry SDK's
/// aggregation (a MeterProvider whose reader is never collected: the per-Add cost the agent pays, export excluded),
/// or with <c>--listener meterlistener</c> by a bare MeterListener that counts measurements.
/// </summary>
internal static class PipelineBenchmark
{
    public static int Run(Options options)
    {
        int deviceCount = options.Int("devices", 100);
        var interval = TimeSpan.FromMilliseconds(options.Int("interval-ms", 100));
        int seconds = options.Int("seconds", 20);
        string listenerKind = options.Get("listener", "sdk");
        string hoconPath = options.Get("hocon") ?? FindHocon();

        Console.WriteLine($"pipeline: {deviceCount} TUN devices, poll every {interval.TotalMilliseconds} ms, {seconds} s measured " +
            $"({seconds / 2} s idle + {seconds - (seconds / 2)} s busy), instruments consumed by {listenerKind}, config {hoconPath}");

        var devices = new List<DroppingTunDevice>();
        try
        {
            var created = Stopwatch.StartNew();
            for (int i = 0; i < deviceCount; i++)
            {
                devices.Add(DroppingTunDevice.Create());
            }

            Console.WriteLine($"created {deviceCount} TUN devices in {created.Elapsed.TotalSeconds:F1} s");
            return Measure(devices, interval, seconds, listenerKind, hoconPath);
        }
        finally
        {
            foreach (DroppingTunDevice device in devices)
            {
                device.Dispose();
            }
        }
    }

    private static int Measure(List<DroppingTunDevice> devices, TimeSpan interval, int seconds, string listenerKind, string hoconPath)
    {
        int k = devices.Count;
        using var meter = new Meter("bench");
        long measurements = 0;
        using var listener = new MeterListener();
        MeterProvider? provider = null;
        if (listenerKind == "meterlistener")
        {
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter, meter))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            listener.SetMeasurementEventCallback<long>((_, _, _, _) => Interlocked.Increment(ref measurements));
            listener.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref measurements));
            listener.Start();
        }
        else
        {
            provider = Sdk.CreateMeterProviderBuilder()
                .AddMeter("bench")
                .AddReader(new BaseExportingMetricReader(new DiscardingExporter()))
                .Build();
        }

        var metrics = new TunDeviceMetrics(meter, detailed: false);
        Config config = ConfigurationFactory.ParseString(File.ReadAllText(hoconPath))
            .WithFallback(ConfigurationFactory.ParseString("akka.loglevel = WARNING"));
        config = ConfigurationFactory.ParseString("akka.loglevel = WARNING\nakka.stdout-loglevel = WARNING").WithFallback(config);
        using ActorSystem system = ActorSystem.Create("bench", config);

        var options = TunTelemetryOptions.Default with { PollInterval = interval, NetlinkTimeout = interval / 2 };
        var builder = new TunTelemetryBuilder(options).UseLinkStatsReader(() =>
            new CountingReader(NetlinkRouteSocket.Open(new NetlinkSocketOptions { ReceiveTimeout = options.NetlinkTimeout })));
        var registrations = (IReadOnlyList<PerDeviceActorRegistration>)typeof(TunTelemetryBuilder)
            .GetMethod("Registrations", BindingFlags.Instance | BindingFlags.NonPublic)!
            .Invoke(builder, null)!;
        Console.WriteLine($"registrations: {string.Join(", ", registrations.Select(r => r.Name))}");

        IActorRef aggregator = system.ActorOf(MetricsAggregatorActor.Props(metrics), "metrics");
        IActorRef supervisor = system.ActorOf(
            DeviceSupervisorActor.Props(options, aggregator, registrations).WithDispatcher(options.NetlinkDispatcher), "devices");
        supervisor.Tell(new TunDevicesListed(devices.Select(d => new TunDevice(d.IfIndex, d.Name, d.Kind)).ToArray()));

        // Warm-up: every device polled a few times (pollers start spread over one interval), link state read once.
        var warm = Stopwatch.StartNew();
        while (Interlocked.Read(ref CountingReader.Reads) < k * 5L && warm.Elapsed < TimeSpan.FromSeconds(30))
        {
            Thread.Sleep(50);
        }

        Thread.Sleep(1000);
        Console.WriteLine($"warm-up: {CountingReader.Reads} polls in {warm.Elapsed.TotalSeconds:F1} s");

        int idleSeconds = seconds / 2;
        Window idle = MeasureWindow("idle", k, TimeSpan.FromSeconds(idleSeconds), devices: null, interval, ref measurements);
        Window busy = MeasureWindow("busy", k, TimeSpan.FromSeconds(seconds - idleSeconds), devices, interval, ref measurements);

        // The raw poll on the same kind of device, measured in this process right after, for the ratio.
        double rawNs = PollBenchmark.Measure("tun-inproc", devices[0].IfIndex, 50_000, 5_000, report: false);
        Console.WriteLine($"raw poll on {devices[0].Name}: {rawNs:F0} ns CPU");
        Results.Put("pipeline.devices", k);
        Results.Put("pipeline.interval_ms", (long)interval.TotalMilliseconds);
        Results.Put("pipeline.raw_poll_cpu_ns", rawNs, "F0");
        foreach (Window w in new[] { idle, busy })
        {
            Results.Put($"pipeline.{w.Name}.ticks", w.Ticks);
            Results.Put($"pipeline.{w.Name}.changed_ticks", w.ChangedTicks);
            Results.Put($"pipeline.{w.Name}.cpu_ns_per_tick", w.CpuNsPerTick, "F0");
            Results.Put($"pipeline.{w.Name}.bytes_per_tick", w.BytesPerTick, "F1");
            Results.Put($"pipeline.{w.Name}.ratio_to_raw", w.CpuNsPerTick / rawNs, "F2");
        }

        system.Terminate().Wait(TimeSpan.FromSeconds(10));
        provider?.Dispose();
        GC.KeepAlive(metrics);
        return 0;
    }

    private sealed record Window(string Name, long Ticks, long ChangedTicks, double CpuNsPerTick, double BytesPerTick);

    private static Window MeasureWindow(string name, int k, TimeSpan length, List<DroppingTunDevice>? devices, TimeSpan interval, ref long measurements)
    {
        using var generator = devices is null ? null : new TrafficGenerator(devices, interval / 2);
        Thread.Sleep(interval * 3); // let the generator's first packets turn idle devices busy before the window opens
        generator?.ResetCounters();

        long reads0 = Interlocked.Read(ref CountingReader.Reads);
        long changed0 = Interlocked.Read(ref CountingReader.Changed);
        long measured0 = Interlocked.Read(ref measurements);
        long cpu0 = Native.ProcessCpuNs();
        long alloc0 = GC.GetTotalAllocatedBytes(precise: true);
        int gen0 = GC.CollectionCount(0);
        var clock = Stopwatch.StartNew();

        Thread.Sleep(length);

        long cpu = Native.ProcessCpuNs() - cpu0;
        long alloc = GC.GetTotalAllocatedBytes(precise: true) - alloc0;
        TimeSpan elapsed = clock.Elapsed;
        long ticks = Interlocked.Read(ref CountingReader.Reads) - reads0;
        long changed = Interlocked.Read(ref CountingReader.Changed) - changed0;
        long measured = Interlocked.Read(ref measurements) - measured0;
        (long genCpu, long genAlloc, long packets) = generator?.Stop() ?? (0, 0, 0);

        double expected = k * elapsed.TotalMilliseconds / interval.TotalMilliseconds;
        double cpuPerTick = (double)(cpu - genCpu) / ticks;
        double bytesPerTick = (double)(alloc - genAlloc) / ticks;
        Console.WriteLine($"{name}: {elapsed.TotalSeconds:F1} s, {ticks} ticks ({expected:F0} expected), {changed} with changed counters, " +
            $"{measured} measurements counted, {GC.CollectionCount(0) - gen0} gen0 GCs");
        Console.WriteLine($"{name}: process CPU {cpu / 1e6:F1} ms, generator thread {genCpu / 1e6:F1} ms ({packets} packets, {genAlloc} bytes); " +
            $"allocated {alloc} bytes");
        Console.WriteLine($"{name}: {cpuPerTick:F0} ns CPU per device per tick, {bytesPerTick:F1} bytes allocated per device per tick");
        return new Window(name, ticks, changed, cpuPerTick, bytesPerTick);
    }

    private static string FindHocon()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "hocon.conf");
            if (File.Exists(candidate) && Directory.Exists(Path.Combine(dir.FullName, "src")))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("hocon.conf not found above the binary; pass --hocon PATH");
    }

    /// <summary>Counts polls and polls whose reading differs from the socket's previous one.</summary>
    private sealed class CountingReader(ILinkStatsReader inner) : ILinkStatsReader
    {
        public static long Reads;
        public static long Changed;
        private LinkStats64? _last;

        public LinkStats64 Read(int ifIndex)
        {
            LinkStats64 stats = inner.Read(ifIndex);
            Interlocked.Increment(ref Reads);
            if (_last is not { } last || last != stats)
            {
                Interlocked.Increment(ref Changed);
            }

            _last = stats;
            return stats;
        }

        public void Dispose() => inner.Dispose();
    }

    /// <summary>
    /// Writes one packet into every device each period, on its own thread, and measures its own cost. Keeps one
    /// AF_PACKET socket per device open (closing one waits for an RCU grace period, ~10 ms), and first fills every
    /// device's ring: a TUN device's first txqueuelen packets wait there unseen by any counter, later ones count as
    /// tx_dropped at once.
    /// </summary>
    private sealed unsafe class TrafficGenerator : IDisposable
    {
        private const int AfPacket = 17;
        private const int SockDgram = 2;
        private const ushort EthPIpNetworkOrder = 0x0008; // htons(0x0800)

        private readonly Thread _thread;
        private readonly int[] _sockets;
        private readonly int[] _ifIndexes;
        private volatile bool _stop;
        private volatile bool _reset;
        private long _cpu;
        private long _alloc;
        private long _packets;
        private long _rounds;

        public TrafficGenerator(List<DroppingTunDevice> devices, TimeSpan period)
        {
            _ifIndexes = devices.Select(d => d.IfIndex).ToArray();
            _sockets = new int[devices.Count];
            for (int i = 0; i < _sockets.Length; i++)
            {
                _sockets[i] = Native.Socket(AfPacket, SockDgram | 0x80000 /* SOCK_CLOEXEC */, EthPIpNetworkOrder);
                if (_sockets[i] < 0)
                {
                    throw new IOException($"socket(AF_PACKET) failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
                }
            }

            for (int i = 0; i < _sockets.Length; i++)
            {
                Send(i, 600);
            }

            _thread = new Thread(() => Loop(period)) { IsBackground = true, Name = "traffic" };
            _thread.Start();
        }

        public void ResetCounters()
        {
            _reset = true;
            while (_reset)
            {
                Thread.Sleep(1);
            }
        }

        public (long Cpu, long Alloc, long Packets) Stop()
        {
            if (!_stop)
            {
                _stop = true;
                _thread.Join();
                Console.WriteLine($"traffic: {_rounds} rounds, {_packets} packets");
            }

            return (_cpu, _alloc, _packets);
        }

        public void Dispose()
        {
            Stop();
            foreach (int socket in _sockets)
            {
                _ = Native.Close(socket);
            }
        }

        private long Send(int device, int count)
        {
            // IPv4/UDP 10.255.255.1 -> 10.255.255.2, header checksum left 0: it never leaves the device anyway.
            byte* packet = stackalloc byte[28];
            new Span<byte>(packet, 28).Clear();
            packet[0] = 0x45;
            packet[3] = 28;
            packet[8] = 64;
            packet[9] = 17;
            packet[12] = 10; packet[13] = 255; packet[14] = 255; packet[15] = 1;
            packet[16] = 10; packet[17] = 255; packet[18] = 255; packet[19] = 2;
            var address = new Native.SockAddrLl { Family = AfPacket, Protocol = EthPIpNetworkOrder, IfIndex = _ifIndexes[device] };
            long sent = 0;
            for (int i = 0; i < count; i++)
            {
                if (Native.SendTo(_sockets[device], packet, 28, 0, &address, sizeof(Native.SockAddrLl)) == 28)
                {
                    sent++;
                }
            }

            return sent;
        }

        private void Loop(TimeSpan period)
        {
            long cpu0 = Native.ThreadCpuNs();
            long alloc0 = GC.GetAllocatedBytesForCurrentThread();
            long packets = 0;
            long rounds = 0;
            long next = Stopwatch.GetTimestamp();
            while (!_stop)
            {
                if (_reset)
                {
                    cpu0 = Native.ThreadCpuNs();
                    alloc0 = GC.GetAllocatedBytesForCurrentThread();
                    packets = 0;
                    rounds = 0;
                    _reset = false;
                }

                for (int i = 0; i < _sockets.Length; i++)
                {
                    packets += Send(i, 1);
                }

                rounds++;
                next += (long)(period.TotalSeconds * Stopwatch.Frequency);
                long wait = next - Stopwatch.GetTimestamp();
                if (wait > 0)
                {
                    Thread.Sleep(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency));
                }
            }

            _cpu = Native.ThreadCpuNs() - cpu0;
            _alloc = GC.GetAllocatedBytesForCurrentThread() - alloc0;
            _packets = packets;
            _rounds = rounds;
        }
    }

    private sealed class DiscardingExporter : BaseExporter<Metric>
    {
        public override ExportResult Export(in Batch<Metric> batch) => ExportResult.Success;
    }
}
