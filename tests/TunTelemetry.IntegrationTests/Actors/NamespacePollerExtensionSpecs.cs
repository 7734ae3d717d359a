using Akka.Actor;
using Akka.Event;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using TunTelemetry.Actors;
using TunTelemetry.Devices;
using TunTelemetry.Hosting;
using TunTelemetry.IntegrationTests.Support;
using TunTelemetry.Namespaces;
using Xunit;
using Xunit.Abstractions;

namespace TunTelemetry.IntegrationTests.Actors;

/// <summary>
/// The real <see cref="NamespacePollerActor"/> reading a real namespace made by the test, telling the real
/// <see cref="DeviceSupervisorActor"/> its devices: the supervisor's extension actors follow what the poller's dumps
/// find, and stop with the poller.
/// </summary>
public sealed class NamespacePollerExtensionSpecs(ITestOutputHelper output) : TestKit(RealTimeTestConfig.AsShipped, output: output)
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

    /// <summary>The namespace as the watcher would hand it to its poller: found by its file, named by its name.</summary>
    private static (DiscoveredNamespace Discovered, DeviceNamespace Namespace) Discovered(TestNetworkNamespace ns)
    {
        Assert.True(NetworkNamespaceId.TryOf(ns.Path, out NetworkNamespaceId id, out int errno), $"errno {errno}");
        return (new DiscoveredNamespace(id, [ns.Path], LowestPid: null, ProcessCount: 0), new DeviceNamespace(id.Inode, ns.Name!));
    }

    [NetAdminFact]
    public void Extension_actors_start_for_the_devices_a_namespace_poller_finds_and_stop_when_they_leave_or_the_poller_stops()
    {
        (string first, string second) = ($"tx{Random.Shared.Next(0, 0xffffff):x6}", $"ty{Random.Shared.Next(0, 0xffffff):x6}");
        using TestNetworkNamespace ns = TestNetworkNamespace.CreateNamed();
        ns.AddTun(first);
        (DiscoveredNamespace discovered, DeviceNamespace deviceNamespace) = Discovered(ns);
        TunTelemetryOptions options = TunTelemetryOptions.Default with
        {
            LinkStateMetrics = false,
            PollInterval = TimeSpan.FromMinutes(10), // reads come from the spec's re-read requests only, after the first
            NetlinkDispatcher = "akka.actor.default-dispatcher",
        };
        TestProbe report = CreateTestProbe();
        var builder = new TunTelemetryBuilder(options)
            .WithoutKernelDiscovery()
            .AddPerDeviceActor("reporter", context => Props.Create(() => new Reporter(context, report)));
        TestProbe aggregator = CreateTestProbe();
        IActorRef supervisor = Sys.ActorOf(DeviceSupervisorActor.Props(options, aggregator, builder.Registrations()));
        IActorRef poller = Sys.ActorOf(NamespacePollerActor.Props(
            discovered, deviceNamespace, aggregator, options, supervisor: supervisor));

        TunDevice firstSeen = report.ExpectMsg<Started>(Patience).Device;
        Assert.Equal((ns.IfIndex(first), first, deviceNamespace), (firstSeen.IfIndex, firstSeen.Name, firstSeen.Namespace));

        ns.AddTun(second);
        poller.Tell(RereadNamespace.Instance);
        TunDevice secondSeen = report.ExpectMsg<Started>(Patience).Device;
        Assert.Equal((second, deviceNamespace), (secondSeen.Name, secondSeen.Namespace));

        // Deleted: the next dump no longer has it.
        ns.Ip("link", "del", first);
        poller.Tell(RereadNamespace.Instance);
        Assert.Equal(firstSeen, report.ExpectMsg<Stopped>(Patience).Device);
        aggregator.FishForMessage(m => m is DeviceRetired r && r.Device == firstSeen && r.ActorsStopped, Patience);

        // The poller stops (its namespace went): the device it still had goes with it.
        Sys.Stop(poller);
        Assert.Equal(secondSeen, report.ExpectMsg<Stopped>(Patience).Device);
        aggregator.FishForMessage(m => m is DeviceRetired r && r.Device == secondSeen && r.ActorsStopped, Patience);
        report.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [NetAdminFact]
    public void Every_device_stays_listed_across_idle_polls_and_link_state_reads_are_handled()
    {
        (string first, string second) = ($"tx{Random.Shared.Next(0, 0xffffff):x6}", $"ty{Random.Shared.Next(0, 0xffffff):x6}");
        using TestNetworkNamespace ns = TestNetworkNamespace.CreateNamed();
        ns.AddTun(first);
        (DiscoveredNamespace discovered, DeviceNamespace deviceNamespace) = Discovered(ns);
        TunTelemetryOptions options = TunTelemetryOptions.Default with
        {
            PollInterval = TimeSpan.FromMinutes(10),
            LinkStateInterval = TimeSpan.FromMinutes(10),
            NetlinkDispatcher = "akka.actor.default-dispatcher",
        };
        TestProbe unhandled = CreateTestProbe();
        Sys.EventStream.Subscribe(unhandled, typeof(UnhandledMessage));
        TestProbe readers = CreateTestProbe();
        TestProbe aggregator = CreateTestProbe();
        IActorRef poller = Sys.ActorOf(NamespacePollerActor.Props(
            discovered, deviceNamespace, aggregator, options, readerScanner: readers));

        Assert.Equal([first], readers.ExpectMsg<NamespaceDevicesListed>(Patience).Devices.Select(d => d.Name));
        aggregator.FishForMessage(m => m is LinkStateObserved o && o.Device.Name == first, Patience); // the first link-state read ran

        // The first device is idle (its reading unchanged), the second new: both are still this namespace's devices.
        ns.AddTun(second);
        poller.Tell(RereadNamespace.Instance);
        Assert.Equal([first, second], readers.ExpectMsg<NamespaceDevicesListed>(Patience).Devices.Select(d => d.Name).Order());

        // Handled in order before the re-read, the link-state read left nothing unhandled behind.
        Assert.False(unhandled.HasMessages, "a message to the namespace poller was unhandled");
    }
}
