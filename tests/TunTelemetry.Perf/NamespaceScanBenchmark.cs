using System.Diagnostics;
using TunTelemetry.Discovery;

namespace TunTelemetry.Perf;

/// <summary>
/// The cost of one namespace discovery scan (the netns directories and every process in /proc): what the watcher pays
/// every rescan interval, off the poll path. Prints processes seen, namespaces found, CPU and wall time per scan, and
/// the allocation per scan.
/// </summary>
public static class NamespaceScanBenchmark
{
    public static int Run(int scans)
    {
        var scanner = new NamespaceScanner(NamespaceScanner.DefaultDirectories);
        NamespaceScan warm = scanner.Scan();
        int processes = Directory.EnumerateDirectories("/proc").Count(d => char.IsAsciiDigit(Path.GetFileName(d)[0]));

        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        double cpuBefore = ProcessCpu.SelfMicroseconds();
        var wall = Stopwatch.StartNew();
        NamespaceScan last = warm;
        for (int i = 0; i < scans; i++)
        {
            last = scanner.Scan();
        }

        wall.Stop();
        double cpuPerScan = (ProcessCpu.SelfMicroseconds() - cpuBefore) / scans;
        long bytesPerScan = (GC.GetAllocatedBytesForCurrentThread() - allocatedBefore) / scans;
        Console.WriteLine($"netns-scan processes={processes} namespaces={last.Namespaces.Count} denied={last.ProcessesDenied} " +
            $"cpu_us_per_scan={cpuPerScan:0} wall_us_per_scan={wall.Elapsed.TotalMicroseconds / scans:0} bytes_per_scan={bytesPerScan}");
        return 0;
    }
}
