using TunTelemetry.Agent.Demo;
using TunTelemetry.IntegrationTests.Support;
using TunTelemetry.Netlink;
using TunTelemetry.Readers;
using Xunit;

namespace TunTelemetry.IntegrationTests.Readers;

/// <summary>The /proc scan against real processes holding real devices (python3 running Support/tun_holder.py).</summary>
public sealed class TunReaderScanTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static readonly ulong OwnNetns = TunReaderScan.OwnNetNamespace() ?? throw new InvalidOperationException("no /proc/self/ns/net");

    [NetAdminFact]
    public async Task A_single_queue_devices_reader_is_named_and_seen_stopped_after_SIGSTOP()
    {
        using TunHolder holder = await TunHolder.StartAsync(NewName());

        TunReader reader = Assert.Single(TunReaderScan.Scan().Readers(OwnNetns, holder.Name));
        Assert.Equal(new TunReader(holder.Pid, "python3", 'S'), reader);

        holder.Stop(holder.Pid);
        TunReader stopped = await ScanUntilAsync(holder.Name, r => r.Count == 1 && r[0].IsStopped);
        Assert.Equal("stopped", stopped.StateName);

        holder.Continue(holder.Pid);
        await ScanUntilAsync(holder.Name, r => r.Count == 1 && !r[0].IsStopped);
    }

    [NetAdminFact]
    public async Task A_forked_multi_queue_holder_is_two_readers_one_each_however_many_queues()
    {
        using TunHolder holder = await TunHolder.StartAsync(NewName(), null, "--queues", "3", "--fork");

        IReadOnlyList<TunReader> readers = TunReaderScan.Scan().Readers(OwnNetns, holder.Name);

        Assert.Equal(holder.Pids.Order(), readers.Select(r => r.Pid));
        Assert.All(readers, r => Assert.Equal("python3", r.Name));
    }

    [NetAdminFact]
    public async Task A_reader_that_exits_is_gone_from_the_next_scan_and_the_one_left_stays()
    {
        using TunHolder holder = await TunHolder.StartAsync(NewName(), null, "--fork");
        Assert.Equal(2, TunReaderScan.Scan().Readers(OwnNetns, holder.Name).Count);

        holder.Kill(holder.Pids[1]);

        TunReader left = await ScanUntilAsync(holder.Name, r => r.Count == 1);
        Assert.Equal(holder.Pid, left.Pid);
    }

    [NetAdminFact]
    public async Task Readers_of_same_named_devices_in_two_namespaces_are_told_apart()
    {
        string name = NewName();
        using TestNetworkNamespace netns = TestNetworkNamespace.CreateNamed();
        using TunHolder here = await TunHolder.StartAsync(name);
        using TunHolder there = await TunHolder.StartAsync(name, netns.Name);

        TunReaderTable table = TunReaderScan.Scan();

        Assert.Equal(here.Pid, Assert.Single(table.Readers(OwnNetns, name)).Pid);
        NetnsDevice other = Assert.Single(table.All.Keys, k => k.Device == name && k.NetNamespace != OwnNetns);
        Assert.Equal(there.Pid, Assert.Single(table.All[other]).Pid);
    }

    [NetAdminFact]
    public void A_device_the_scanning_process_holds_itself_has_that_process_as_its_one_reader()
    {
        // The scan skips its own process's descriptors unless the process holds devices itself: this one holds the
        // device's queue, a netlink socket and its other files, and only the queue makes it a reader.
        using DroppingTunDevice tun = DroppingTunDevice.Create();
        using RouteSocket socket = RouteSocket.Open();

        TunReader reader = Assert.Single(TunReaderScan.Scan().Readers(OwnNetns, tun.Name));

        Assert.Equal(Environment.ProcessId, reader.Pid);
        Assert.Equal(File.ReadAllText("/proc/self/comm").TrimEnd('\n'), reader.Name);
    }

    [NetAdminFact]
    public void A_device_nobody_holds_has_no_readers()
    {
        string name = NewName();
        Command.Run("ip", "tuntap", "add", "dev", name, "mode", "tun");
        try
        {
            TunReaderTable table = TunReaderScan.Scan();
            Assert.Empty(table.Readers(OwnNetns, name));
            Assert.True(table.Processes > 1);
            Assert.Equal(0, table.HiddenProcesses); // root sees every process
        }
        finally
        {
            Command.Run("ip", "tuntap", "del", "dev", name, "mode", "tun");
        }
    }

    private static string NewName() => $"ttr{Random.Shared.Next():x8}";

    private static async Task<TunReader> ScanUntilAsync(string device, Func<IReadOnlyList<TunReader>, bool> done)
    {
        DateTime deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            IReadOnlyList<TunReader> readers = TunReaderScan.Scan().Readers(OwnNetns, device);
            if (done(readers))
            {
                return readers[0];
            }

            Assert.True(DateTime.UtcNow < deadline, $"readers of {device} still {string.Join(", ", readers.Select(r => $"{r} {r.StateName}"))}");
            await Task.Delay(50);
        }
    }
}
