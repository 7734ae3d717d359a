using System.Diagnostics;
using TunTelemetry.Devices;
using TunTelemetry.Netlink;
using TunTelemetry.Readers;

namespace TunTelemetry.Perf;

/// <summary>
/// The cost of one <c>/proc</c> reader scan (<see cref="TunReaderScan.Scan"/>) on this host as it is: wall time, CPU
/// time and managed bytes allocated per scan, over <c>rounds</c> scans after one warm-up scan; then what giving the last
/// scan's readers to their devices costs (<see cref="ReaderAttribution"/>, once per scan in the agent), with every device
/// found held watched in its namespace, as <c>--all-namespaces</c> watches them. With <c>ownSockets</c> the benchmark
/// first opens that many netlink sockets itself, as the agent holds one per watched device and per-device actor.
/// </summary>
public static class ReaderScanBenchmark
{
    public static int Run(int rounds, int ownSockets = 0)
    {
        var sockets = new List<RouteSocket>(ownSockets);
        for (int i = 0; i < ownSockets; i++)
        {
            sockets.Add(RouteSocket.Open());
        }

        try
        {
            return Measure(rounds, ownSockets);
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }
    }

    /// <summary>
    /// A steady hour of reader discovery as the agent runs it: one scan every <paramref name="intervalSeconds"/>
    /// (<c>metrics.reader-interval</c>) with the cache of <see cref="TunReaderScan.Incremental"/>, a full one every
    /// <paramref name="fullScanSeconds"/> (<c>metrics.reader-full-scan-interval</c>), after a first full scan that fills
    /// the cache (not counted: the agent does it once at start). The hour is simulated, scans back to back with their
    /// times given; the CPU of the whole process is counted, light and full scans apart.
    /// </summary>
    public static int RunHour(int intervalSeconds, int fullScanSeconds)
    {
        var cache = new ReaderScanCache(TimeSpan.FromSeconds(fullScanSeconds), TunReaderScan.CountsOpenFiles());
        TunReaderTable table = TunReaderScan.Scan(cache, TimeSpan.Zero, deviceAppeared: false);
        int scans = 3600 / intervalSeconds, full = 0;
        double lightCpu = 0, fullCpu = 0;
        long listed = 0;
        var wall = Stopwatch.StartNew();
        for (int i = 1; i <= scans; i++)
        {
            double before = ProcessCpu.SelfMicroseconds();
            table = TunReaderScan.Scan(cache, TimeSpan.FromSeconds(i * intervalSeconds), deviceAppeared: false);
            double cpu = ProcessCpu.SelfMicroseconds() - before;
            if (cache.Full)
            {
                full++;
                fullCpu += cpu;
            }
            else
            {
                lightCpu += cpu;
                listed += cache.Listed;
            }
        }

        wall.Stop();
        int light = scans - full;
        int readers = table.All.Values.Sum(r => r.Count);
        Console.WriteLine($"counts-open-files={TunReaderScan.CountsOpenFiles()} processes={table.Processes} hidden={table.HiddenProcesses} devices-with-readers={table.All.Count} readers={readers}");
        Console.WriteLine($"hour: {scans} scans every {intervalSeconds}s ({full} full every {fullScanSeconds}s), cpu {(lightCpu + fullCpu) / 1000:0.0} ms, wall {wall.Elapsed.TotalMilliseconds:0} ms");
        Console.WriteLine($"light scan: cpu {lightCpu / Math.Max(light, 1) / 1000:0.00} ms, {(double)listed / Math.Max(light, 1):0.0} processes listed; full scan: cpu {fullCpu / Math.Max(full, 1) / 1000:0.00} ms");
        return 0;
    }

    private static int Measure(int rounds, int ownSockets)
    {
        TunReaderTable warm = TunReaderScan.Scan();
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        double cpu = ProcessCpu.SelfMicroseconds();
        var wall = Stopwatch.StartNew();
        TunReaderTable table = warm;
        for (int i = 0; i < rounds; i++)
        {
            table = TunReaderScan.Scan();
        }

        wall.Stop();
        double cpuPerScan = (ProcessCpu.SelfMicroseconds() - cpu) / rounds;
        long bytesPerScan = (GC.GetAllocatedBytesForCurrentThread() - allocated) / rounds;
        int readers = table.All.Values.Sum(r => r.Count);
        Console.WriteLine($"own-sockets={ownSockets} processes={table.Processes} hidden={table.HiddenProcesses} devices-with-readers={table.All.Count} readers={readers}");
        Console.WriteLine($"per scan: wall {wall.Elapsed.TotalMilliseconds / rounds:0.00} ms, cpu {cpuPerScan / 1000:0.00} ms, allocated {bytesPerScan / 1024.0:0.0} KiB ({rounds} scans)");

        var watched = table.All.Keys.Select((k, i) => (k.NetNamespace, new TunDevice(i + 1, k.Device, TunDeviceKind.Tun))).ToList();
        var listed = table.All.Keys.Select(k => k.NetNamespace).ToHashSet();
        _ = ReaderAttribution.Attribute(table, watched, listed);
        const int Attributions = 1000;
        var attribution = Stopwatch.StartNew();
        for (int i = 0; i < Attributions; i++)
        {
            _ = ReaderAttribution.Attribute(table, watched, listed);
        }

        Console.WriteLine($"attribution to {watched.Count} watched devices: {attribution.Elapsed.TotalMicroseconds / Attributions:0.0} µs per scan");
        return 0;
    }
}
