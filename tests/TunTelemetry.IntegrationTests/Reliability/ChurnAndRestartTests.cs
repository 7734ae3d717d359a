using System.Diagnostics.Metrics;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using TunTelemetry.Agent.Demo;
using TunTelemetry.Devices;
using TunTelemetry.Discovery;
using TunTelemetry.Hosting;
using TunTelemetry.IntegrationTests.Support;
using TunTelemetry.Metrics;
using TunTelemetry.Netlink;
using TunTelemetry.Supervision;
using TunTelemetry.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace TunTelemetry.IntegrationTests.Reliability;

/// <summary>Socket counting needs the process to itself: these run after the parallel tests, one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SocketAccountingCollection
{
    public const string Name = "socket accounting";
}

/// <summary>
/// Real devices created and deleted hundreds of times, and real sockets failing hundreds of times, under the real
/// actor system with the real scheduler: no actor, socket or baseline outlives its device, and counts stay exact.
/// </summary>
[Collection(SocketAccountingCollection.Name)]
public sealed class ChurnAndRestartTests : TestKit
{
    private readonly ITestOutputHelper _output;

    public ChurnAndRestartTests(ITestOutputHelper output)
        : base(RealTimeTestConfig.AsShipped, output: output)
    {
        _output = output;
    }

    private static TunTelemetryOptions Options(string prefix) => TunTelemetryOptions.Default with
    {
        PollInterval = TimeSpan.FromMilliseconds(100),
        NetlinkTimeout = TimeSpan.FromMilliseconds(50),
        Devices = new DeviceSelection(include: [$"^{prefix}"]),
        Backoff = new BackoffSettings(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(20), 0, -1, TimeSpan.FromMinutes(5)),
    };

    [NetAdminFact]
    public void Device_churn_leaks_no_actor_socket_or_baseline_and_recounts_recreated_devices()
    {
        string prefix = $"tc{Random.Shared.Next(0, 0xffff):x4}";
        int baselineSockets = NetlinkSockets.OpenRouteSockets();
        using var meter = new Meter($"TunTelemetry.Churn.{Guid.NewGuid():N}");
        using var export = new MeterExport(meter);
        IActorRef aggregator = Sys.ActorOf(MetricsAggregatorActor.Props(new TunDeviceMetrics(meter, detailed: false)));
        TunTelemetryOptions options = Options(prefix);
        var builder = new TunTelemetryBuilder(options);
        IActorRef supervisor = Sys.ActorOf(DeviceSupervisorActor.Props(options, aggregator, builder.Registrations(), builder.LinkEventsFactory(), builder.NameResolver()));
        using DroppingTunDevice steady = DroppingTunDevice.Create(name: prefix + "steady");

        const int Cycles = 200;
        string reused = prefix + "same";
        long reusedExpected = 0;
        for (int cycle = 0; cycle < Cycles; cycle++)
        {
            string name = cycle % 2 == 0 ? reused : $"{prefix}n{cycle}";
            using DroppingTunDevice device = DroppingTunDevice.Create(name: name);
            if (cycle % 20 == 0)
            {
                device.SendPackets(600); // 100 drops, counted before the device goes
                if (name == reused)
                {
                    reusedExpected += 100;
                }

                AwaitAssert(() => Assert.True(export.Export().Value(MetricNames.TxQueueDrops, name) >= (name == reused ? reusedExpected : 100)),
                    TimeSpan.FromSeconds(30));
            }
        }

        // Everything churned is gone: one device watched, one baseline, sockets back to one poller + one link-state
        // socket + the discovery socket.
        AwaitAssert(() =>
        {
            supervisor.Tell(GetWatchedDevices.Instance);
            WatchedDevices watched = ExpectMsg<WatchedDevices>();
            Assert.Equal([steady.Name], watched.Devices.Select(d => d.Name));
            aggregator.Tell(GetDeviceReadings.Instance);
            Assert.Equal([steady.Name], ExpectMsg<DeviceReadings>().Devices.Select(d => d.Name));
            Assert.Equal(baselineSockets + 3, NetlinkSockets.OpenRouteSockets());
        }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(200));
        Assert.Equal(reusedExpected, export.Export().Value(MetricNames.TxQueueDrops, reused));
        _output.WriteLine($"{Cycles} create/delete cycles; netlink sockets: {baselineSockets} before, {NetlinkSockets.OpenRouteSockets()} with one device watched");

        Watch(supervisor);
        Sys.Stop(supervisor);
        ExpectTerminated(supervisor);
        AwaitAssert(() => Assert.Equal(baselineSockets, NetlinkSockets.OpenRouteSockets()), TimeSpan.FromSeconds(30));
    }

    [NetAdminFact]
    public void Hundreds_of_real_socket_failures_keep_exact_totals_and_leak_no_socket()
    {
        string prefix = $"tx{Random.Shared.Next(0, 0xffff):x4}";
        int baselineSockets = NetlinkSockets.OpenRouteSockets();
        using DroppingTunDevice tun = DroppingTunDevice.Create(name: prefix + "a");
        using var meter = new Meter($"TunTelemetry.Faults.{Guid.NewGuid():N}");
        using var export = new MeterExport(meter);
        IActorRef aggregator = Sys.ActorOf(MetricsAggregatorActor.Props(new TunDeviceMetrics(meter, detailed: false)));
        TunTelemetryOptions options = Options(prefix) with { LinkStateMetrics = false };
        int reads = 0;
        var opened = new List<RouteSocket>();
        var builder = new TunTelemetryBuilder(options).UseLinkStatsReader(() =>
        {
            RouteSocket socket = RouteSocket.Open(new NetlinkSocketOptions { ReceiveTimeout = TimeSpan.FromMilliseconds(50) });
            lock (opened)
            {
                opened.Add(socket);
            }

            return new EveryOtherReadFails(socket, () => Interlocked.Increment(ref reads));
        });
        int OpenOfOurs()
        {
            lock (opened)
            {
                return opened.Count(s => !s.IsClosed);
            }
        }

        IActorRef supervisor = Sys.ActorOf(DeviceSupervisorActor.Props(options, aggregator, builder.Registrations()));
        supervisor.Tell(new DevicesListed(DeviceNamespace.Agents, [new TunDevice(tun.IfIndex, tun.Name, TunDeviceKind.Tun)]));

        for (int round = 0; round < 10; round++)
        {
            tun.SendPackets(round == 0 ? 600 : 50);
            Thread.Sleep(60);
        }

        AwaitAssert(() => Assert.True(Volatile.Read(ref reads) >= 400), TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(100));
        AwaitAssert(() => Assert.Equal((long)Sysfs.Statistic(tun.Name, "tx_dropped"), export.Export().Value(MetricNames.TxQueueDrops, tun.Name)), TimeSpan.FromSeconds(30));
        Assert.Equal(550, export.Export().Value(MetricNames.TxQueueDrops, tun.Name));
        Assert.InRange(OpenOfOurs(), 0, 1);
        _output.WriteLine($"{reads} reads, half of them failed and restarted the poller with a new socket; {opened.Count} sockets opened");
        Assert.True(opened.Count >= 150, $"only {opened.Count} restarts");

        Watch(supervisor);
        Sys.Stop(supervisor);
        ExpectTerminated(supervisor);
        AwaitAssert(() => Assert.Equal(0, OpenOfOurs()), TimeSpan.FromSeconds(30));
        // The process as a whole (other tests' runtime listeners included) holds no more route sockets than before.
        AwaitAssert(() => Assert.True(NetlinkSockets.OpenRouteSockets() <= baselineSockets), TimeSpan.FromSeconds(30));
    }

    /// <summary>A real socket whose every second read fails with a timeout after the kernel was asked.</summary>
    private sealed class EveryOtherReadFails(RouteSocket real, Func<int> count) : ILinkStatsReader
    {
        public LinkStats64 Read(int ifIndex)
        {
            int n = count();
            if (n % 2 == 0)
            {
                // Ask for real and leave the answer queued, as a receive that failed after the kernel replied would.
                real.SendStatsRequestWithoutReading(ifIndex);
                throw new NetlinkSocketException("recv", Errno.EAGAIN);
            }

            return real.ReadStats(LinkTarget.Own, ifIndex, name: null);
        }

        public void Dispose() => real.Dispose();
    }
}
