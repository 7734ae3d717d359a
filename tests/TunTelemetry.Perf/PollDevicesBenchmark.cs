using TunTelemetry.Devices;
using TunTelemetry.Netlink;

namespace TunTelemetry.Perf;

/// <summary>
/// The raw poll as the pipeline does it: one socket per device, every device polled in turn, on one thread with no
/// actors. Each poll touches a different socket and device than the one before, which the single-device loop of
/// <see cref="PollBenchmark"/> never does. With a pause after each round it is the pipeline's pattern without the
/// actors: a burst of polls every tick and nothing in between, so the kernel's and the process's caches go cold.
/// </summary>
public static class PollDevicesBenchmark
{
    public static int Run(string prefix, int rounds, int pauseMs = 0)
    {
        TunDevice[] devices = PerfDevices.List(prefix);

        RouteSocket[] sockets = devices.Select(_ => RouteSocket.Open()).ToArray();
        try
        {
            ulong sink = 0;
            for (int r = 0; r < Math.Max(10, rounds / 10); r++)
            {
                sink += PollAll(devices, sockets); // warm-up
            }

            long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            double cpuBefore = ProcessCpu.SelfMicroseconds();
            for (int r = 0; r < rounds; r++)
            {
                sink += PollAll(devices, sockets);
                if (pauseMs > 0)
                {
                    Thread.Sleep(pauseMs);
                }
            }

            double cpu = ProcessCpu.SelfMicroseconds() - cpuBefore;
            long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            long polls = (long)rounds * devices.Length;
            Console.WriteLine($"poll_devices={devices.Length} poll_devices_cpu_ns={cpu * 1000 / polls:0} "
                + $"poll_devices_bytes_per_poll={(double)allocated / polls:0.###} (sink {sink % 7})");
            return 0;
        }
        finally
        {
            foreach (RouteSocket socket in sockets)
            {
                socket.Dispose();
            }
        }
    }

    private static ulong PollAll(TunDevice[] devices, RouteSocket[] sockets)
    {
        ulong sum = 0;
        for (int i = 0; i < devices.Length; i++)
        {
            sum += sockets[i].ReadStats(LinkTarget.Own, devices[i].IfIndex, devices[i].Name).TxDropped;
        }

        return sum;
    }
}
