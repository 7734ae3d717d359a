using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using TunTelemetry.Actors;
using TunTelemetry.Devices;
using TunTelemetry.Discovery;
using TunTelemetry.Hosting;
using TunTelemetry.IntegrationTests.Support;
using TunTelemetry.Metrics;
using TunTelemetry.Netlink;
using TunTelemetry.Polling;
using TunTelemetry.Readers;
using TunTelemetry.Supervision;
using Xunit;
using Xunit.Abstractions;

namespace TunTelemetry.IntegrationTests.Discovery;

/// <summary>
/// The real <see cref="NamespaceDiscoveryActor"/> listing a real namespace made by the test to the real
/// <see cref="DeviceSupervisorActor"/>: each device found gets its own <see cref="DevicePollerActor"/>, reading it by
/// the namespace's id, the link-state actor and the extensions, as a device of the agent's own namespace does; they
/// stop when the device leaves or the discovery stops.
/// </summary>
public sealed class NamespaceDiscoverySpecs(ITestOutputHelper output) : TestKit(RealTimeTestConfig.AsShipped, output: output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private sealed record Started(TunDevice Device);

    private sealed record Stopped(TunDevice Device);

    private sealed class Reporter(PerDeviceActorContext context, IActorRef report) : UntypedActor
    {
        protected override void PreStart() => report.Tell(new Started(context.Device));

        protected override void PostStop() => report.Tell(new Stopped(context.Device));

        protected override void OnReceive(object message) => Unhandled(message);
    }

    /// <summary>The namespace as the watcher would hand it to its discovery: found by its file, named by its name.</summary>
    private static (DiscoveredNamespace Discovered, DeviceNamespace Namespace) Discovered(TestNetworkNamespace ns)
    {
        Assert.True(NetworkNamespaceId.TryOf(ns.Path, out NetworkNamespaceId id, out int errno), $"errno {errno}");
        return (new DiscoveredNamespace(id, [ns.Path], LowestPid: null, ProcessCount: 0), new DeviceNamespace(id.Inode, ns.Name!));
    }

    private static TunTelemetryOptions Options(bool linkState) => TunTelemetryOptions.Default with
    {
        LinkStateMetrics = linkState,
        PollInterval = TimeSpan.FromMinutes(10), // one poll when each poller starts
        LinkStateInterval = TimeSpan.FromMinutes(10),
        NetlinkDispatcher = "akka.actor.default-dispatcher",
    };

    [NetAdminFact]
    public void Each_device_a_namespace_lists_gets_a_poller_reading_it_by_namespace_id_and_its_actors_stop_when_it_leaves_or_the_namespace_goes()
    {
        (string first, string second) = ($"tx{Random.Shared.Next(0, 0xffffff):x6}", $"ty{Random.Shared.Next(0, 0xffffff):x6}");
        using TestNetworkNamespace ns = TestNetworkNamespace.CreateNamed();
        ns.AddTun(first);
        ns.DropPackets(first, 3); // counters of its own, so the poller's reading is this device's
        (DiscoveredNamespace discovered, DeviceNamespace deviceNamespace) = Discovered(ns);
        TunTelemetryOptions options = Options(linkState: false);
        TestProbe report = CreateTestProbe();
        TestProbe readers = CreateTestProbe();
        var builder = new TunTelemetryBuilder(options)
            .WithoutKernelDiscovery()
            .AddPerDeviceActor("reporter", context => Props.Create(() => new Reporter(context, report)));
        TestProbe aggregator = CreateTestProbe();
        IActorRef supervisor = Sys.ActorOf(DeviceSupervisorActor.Props(options, aggregator, builder.Registrations(), readerScanner: readers));
        IActorRef discovery = Sys.ActorOf(NamespaceDiscoveryActor.Props(discovered, deviceNamespace, supervisor, options, TimeSpan.FromMinutes(10)));

        TunDevice firstSeen = report.ExpectMsg<Started>(Patience).Device;
        Assert.Equal((ns.IfIndex(first), first, deviceNamespace.Inode), (firstSeen.IfIndex, firstSeen.Name, firstSeen.Namespace!.Inode));
        Assert.Equal(new NamespaceListing(deviceNamespace.Inode, Listed: true), readers.ExpectMsg<NamespaceListing>(Patience));
        Assert.Equal(firstSeen, readers.ExpectMsg<DeviceWatchStarted>(Patience).Device);

        // Its own poller read it through the namespace's id in ours: the kernel's counters of that device.
        var reading = (LinkStatsReady)aggregator.FishForMessage(m => m is LinkStatsReady r && r.Slot.Device == firstSeen, Patience);
        Assert.True(reading.Slot.TryTake(out LinkStats64 stats, out _));
        Assert.Equal(ns.Statistic(first, "tx", "dropped"), stats.TxDropped);
        Assert.Equal(3UL, stats.TxDropped);

        ns.AddTun(second);
        discovery.Tell(RereadNamespace.Instance);
        TunDevice secondSeen = report.ExpectMsg<Started>(Patience).Device;
        Assert.Equal((second, deviceNamespace.Inode), (secondSeen.Name, secondSeen.Namespace!.Inode));

        // Deleted: the next listing no longer has it (or its poller found it gone first).
        ns.Ip("link", "del", first);
        discovery.Tell(RereadNamespace.Instance);
        Assert.Equal(firstSeen, report.ExpectMsg<Stopped>(Patience).Device);
        aggregator.FishForMessage(m => m is DeviceRetired r && r.Device == firstSeen, Patience);

        // The discovery stops (its namespace went): the device it still had goes with it, and the namespace is unlisted.
        Sys.Stop(discovery);
        Assert.Equal(secondSeen, report.ExpectMsg<Stopped>(Patience).Device);
        aggregator.FishForMessage(m => m is DeviceRetired r && r.Device == secondSeen, Patience);
        readers.FishForMessage(m => m is NamespaceListing { Listed: false } u && u.Netns == deviceNamespace.Inode, Patience);
    }

    [NetAdminFact]
    public void A_device_of_another_namespace_gets_the_link_state_gauges_from_its_own_link_state_actor()
    {
        string name = $"tx{Random.Shared.Next(0, 0xffffff):x6}";
        using TestNetworkNamespace ns = TestNetworkNamespace.CreateNamed();
        ns.AddTun(name);
        ns.Ip("link", "set", name, "mtu", "1280");
        (DiscoveredNamespace discovered, DeviceNamespace deviceNamespace) = Discovered(ns);
        TunTelemetryOptions options = Options(linkState: true);
        TestProbe aggregator = CreateTestProbe();
        var builder = new TunTelemetryBuilder(options).WithoutKernelDiscovery();
        IActorRef supervisor = Sys.ActorOf(DeviceSupervisorActor.Props(options, aggregator, builder.Registrations()));
        Sys.ActorOf(NamespaceDiscoveryActor.Props(discovered, deviceNamespace, supervisor, options, TimeSpan.FromMinutes(10)));

        var observed = (LinkStateObserved)aggregator.FishForMessage(m => m is LinkStateObserved o && o.Device.Name == name, Patience);
        Assert.Equal(deviceNamespace.Inode, observed.Device.Namespace!.Inode);
        Assert.Equal(1280U, observed.State.Mtu);
    }
}
