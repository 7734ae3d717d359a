using System.Diagnostics;
using TunTelemetry.Devices;

namespace TunTelemetry.Perf;

/// <summary>
/// The cost of one <c>/proc</c> reader scan (<see cref="TunReaderScan.Scan"/>) on this host as it is: wall time, CPU
/// time and managed bytes allocated per scan, over <c>rounds</c> scans after one warm-up scan.
/// </summary>
public static class ReaderScanBenchmark
{
    public static int Run(int rounds)
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
        Console.WriteLine($"processes={table.Processes} hidden={table.HiddenProcesses} devices-with-readers={table.All.Count} readers={readers}");
        Console.WriteLine($"per scan: wall {wall.Elapsed.TotalMilliseconds / rounds:0.00} ms, cpu {cpuPerScan / 1000:0.00} ms, allocated {bytesPerScan / 1024.0:0.0} KiB ({rounds} scans)");
        return 0;
    }
}
