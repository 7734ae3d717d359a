using System.Runtime.InteropServices;
using TunTelemetry.IntegrationTests.Support;
using TunTelemetry.Readers;
using Xunit;

namespace TunTelemetry.IntegrationTests.Readers;

/// <summary>
/// The scan that lists only what changed (<see cref="ReaderScanCache"/>) against real processes (python3 running
/// Support/tun_holder.py) that hold, open, move and swap queues of persistent multi-queue devices while it runs.
/// Scans are given their time, so which are full is the test's choice; the host's other processes come and go as
/// they like and are not asserted on.
/// </summary>
public sealed class ReaderDiscoveryTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan FullEvery = TimeSpan.FromMinutes(15);
    private static readonly ulong OwnNetns = TunReaderScan.OwnNetNamespace() ?? throw new InvalidOperationException("no /proc/self/ns/net");

    private readonly List<string> _devices = [];
    private readonly ReaderScanCache _cache = new(FullEvery, TunReaderScan.CountsOpenFiles());

    public ReaderDiscoveryTests()
    {
        Assert.True(TunReaderScan.CountsOpenFiles(), "this kernel does not report open-file counts in /proc/PID/fd (Linux >= 6.2 does)");
    }

    [NetAdminFact]
    public async Task At_steady_state_only_holders_are_listed_and_a_holders_state_is_still_read_each_scan()
    {
        string device = PersistentDevice();
        using TunHolder reader = await TunHolder.StartAsync(device, null, "--queues", "1", "--multi-queue", "--no-up");
        using TunHolder plain = await TunHolder.StartAsync(device, null, "--queues", "0", "--no-up");

        TunReaderTable first = Scan(minute: 0);
        Assert.True(_cache.Full);
        Assert.Equal([reader.Pid], first.Readers(OwnNetns, device).Select(r => r.Pid));

        TunReaderTable second = Scan(minute: 1);
        Assert.False(_cache.Full);
        Assert.True(_cache.WasListed(reader.Pid));
        Assert.False(_cache.WasListed(plain.Pid));
        Assert.Equal([new TunReader(reader.Pid, "python3", 'S')], second.Readers(OwnNetns, device));

        reader.Stop(reader.Pid);
        await ScanUntilAsync(device, r => r is [{ IsStopped: true }]);
        reader.Continue(reader.Pid);
        await ScanUntilAsync(device, r => r is [{ IsStopped: false }]);
    }

    [NetAdminFact]
    public async Task A_process_that_opens_a_queue_of_an_existing_device_is_named_by_the_next_scan_without_a_full_one()
    {
        string device = PersistentDevice();
        using TunHolder process = await TunHolder.StartAsync(device, null, "--queues", "0", "--multi-queue", "--no-up", "--commands");
        Assert.Empty(Scan(minute: 0).Readers(OwnNetns, device));

        await process.CommandAsync($"open {device}");

        TunReaderTable next = Scan(minute: 1);
        Assert.False(_cache.Full);
        Assert.Equal([process.Pid], next.Readers(OwnNetns, device).Select(r => r.Pid));
    }

    [NetAdminFact]
    public async Task A_reader_that_moves_its_queue_to_another_device_with_the_same_count_is_seen_by_the_next_scan()
    {
        string from = PersistentDevice();
        string to = PersistentDevice();
        using TunHolder reader = await TunHolder.StartAsync(from, null, "--queues", "1", "--multi-queue", "--no-up", "--commands");
        Assert.Equal([reader.Pid], Scan(minute: 0).Readers(OwnNetns, from).Select(r => r.Pid));
        long before = OpenFiles(reader.Pid);

        await reader.CommandAsync($"move {to}");

        Assert.Equal(before, OpenFiles(reader.Pid)); // what the scan is tested for: a count that did not change
        TunReaderTable next = Scan(minute: 1);
        Assert.False(_cache.Full);
        Assert.Empty(next.Readers(OwnNetns, from));
        Assert.Equal([reader.Pid], next.Readers(OwnNetns, to).Select(r => r.Pid));
    }

    [NetAdminFact]
    public async Task A_reader_that_exits_leaves_at_the_next_scan_without_a_full_one_and_the_one_left_stays()
    {
        string device = PersistentDevice();
        using TunHolder holder = await TunHolder.StartAsync(device, null, "--queues", "1", "--multi-queue", "--no-up", "--fork");
        Assert.Equal(holder.Pids.Order(), Scan(minute: 0).Readers(OwnNetns, device).Select(r => r.Pid));

        holder.Kill(holder.Pids[1]);

        // The kill takes effect when it does; every scan until then is a light one (the same minute).
        await ScanUntilAsync(device, r => r.Count == 1);
        Assert.Equal([holder.Pid], Scan(minute: 1).Readers(OwnNetns, device).Select(r => r.Pid));
        Assert.False(_cache.Full);
    }

    [NetAdminTheory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_process_that_swaps_one_file_for_a_queue_is_named_by_the_scan_after_a_device_appears_or_the_full_scan(bool deviceAppears)
    {
        string device = PersistentDevice();
        using TunHolder process = await TunHolder.StartAsync(device, null, "--queues", "0", "--multi-queue", "--no-up", "--spare", "--commands");
        Assert.Empty(Scan(minute: 0).Readers(OwnNetns, device));
        long before = OpenFiles(process.Pid);

        await process.CommandAsync($"swap {device}");

        // The limit the full scans are for: the same count, so the next light scan does not list it.
        Assert.Equal(before, OpenFiles(process.Pid));
        Assert.Empty(Scan(minute: 1).Readers(OwnNetns, device));
        Assert.False(_cache.WasListed(process.Pid));

        TunReaderTable table = deviceAppears ? Scan(minute: 2, deviceAppeared: true) : Scan(minute: 15);
        Assert.True(_cache.Full);
        Assert.Equal([process.Pid], table.Readers(OwnNetns, device).Select(r => r.Pid));
    }

    public void Dispose()
    {
        foreach (string device in _devices)
        {
            Command.Run("ip", "tuntap", "del", "dev", device, "mode", "tun", "multi_queue");
        }
    }

    private TunReaderTable Scan(int minute, bool deviceAppeared = false) =>
        TunReaderScan.Scan(_cache, TimeSpan.FromMinutes(minute), deviceAppeared);

    /// <summary>A persistent multi-queue TUN device nobody holds yet: processes attach and detach as the test says.</summary>
    private string PersistentDevice()
    {
        string name = $"ttd{Random.Shared.Next():x8}";
        Command.Run("ip", "tuntap", "add", "dev", name, "mode", "tun", "multi_queue");
        _devices.Add(name);
        return name;
    }

    /// <summary>Light scans (all in the same minute after the first) until <paramref name="done"/>.</summary>
    private async Task ScanUntilAsync(string device, Func<IReadOnlyList<TunReader>, bool> done)
    {
        DateTime deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            IReadOnlyList<TunReader> readers = Scan(minute: 1).Readers(OwnNetns, device);
            Assert.False(_cache.Full);
            if (done(readers))
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"readers of {device} still {string.Join(", ", readers.Select(r => $"{r} {r.StateName}"))}");
            await Task.Delay(50);
        }
    }

    /// <summary>The open-file count the kernel reports for <paramref name="pid"/> (the size of its fd directory).</summary>
    private static long OpenFiles(int pid)
    {
        Assert.Equal(0, Stat($"/proc/{pid}/fd", out StatBuffer buffer));
        return buffer.Size;
    }

    [DllImport("libc", EntryPoint = "stat", SetLastError = true)]
    private static extern int Stat(string path, out StatBuffer buffer);

    /// <summary><c>struct stat</c> on x86-64 and arm64 as far as <c>st_size</c> (offset 48), and room for the rest.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct StatBuffer
    {
        [FieldOffset(48)]
        public long Size;
    }
}
