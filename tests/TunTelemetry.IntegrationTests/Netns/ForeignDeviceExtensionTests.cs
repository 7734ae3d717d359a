using Akka.Actor;
using Akka.Configuration;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Exporter;
using TunTelemetry.Actors;
using TunTelemetry.Agent;
using TunTelemetry.Devices;
using TunTelemetry.Hosting;
using TunTelemetry.IntegrationTests.Otlp;
using TunTelemetry.IntegrationTests.Support;
using TunTelemetry.Metrics;
using Xunit;

namespace TunTelemetry.IntegrationTests.Netns;

/// <summary>
/// A per-device extension under the full host in this process with <c>--all-namespaces</c>, a TUN device in a real
/// namespace made by the test, and a real OTLP receiver: the extension runs for the foreign device, knows its
/// namespace, and its series carry the namespace and leave with the device.
/// </summary>
[Collection(InProcessAgentHostCollection.Name)]
public sealed class ForeignDeviceExtensionTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>Reports the ifindex its device has in its own namespace, negated when the device has no namespace.</summary>
    private static readonly DeviceInstrument SeenIfIndex = DeviceInstrument.Gauge(
        "test.extension.ifindex", "1", "The device's ifindex, negative for a device of the agent's own namespace.");

    private sealed class IfIndexReporter(PerDeviceActorContext context) : UntypedActor
    {
        protected override void PreStart()
        {
            TunDevice device = context.Device;
            context.Aggregator.Tell(new DeviceMeasured(device, SeenIfIndex.Name, device.Namespace is null ? -device.IfIndex : device.IfIndex));
        }

        protected override void OnReceive(object message) => Unhandled(message);
    }

    [NetAdminFact]
    public async Task An_extension_runs_for_a_device_of_another_namespace_its_series_carry_the_namespace_and_leave_with_the_device_or_namespace()
    {
        string device = $"te{Random.Shared.Next(0, 0xffffff):x6}";
        using TestNetworkNamespace ns = TestNetworkNamespace.CreateNamed();
        using TestNetworkNamespace going = TestNetworkNamespace.CreateNamed();
        ns.AddTun(device);
        going.AddTun(device); // the same name in a second namespace: a series of its own
        int ifIndex = ns.IfIndex(device);
        ulong goingInode = going.Inode; // read before it is deleted
        await using OtlpTestReceiver receiver = await OtlpTestReceiver.StartAsync();
        TunTelemetryOptions options = TunTelemetryOptions.Default with
        {
            AllNamespaces = true,
            PollInterval = TimeSpan.FromSeconds(1),
            RetainDeleted = TimeSpan.Zero,
            Devices = new DeviceSelection(include: [$"^{device}$"]),
        };
        using IHost host = AgentHost.Build(Config.Empty, options, console: false,
            t => t.AddPerDeviceActor("ifindex-reporter", context => Props.Create(() => new IfIndexReporter(context)), SeenIfIndex),
            new Dictionary<string, string?> { ["OTEL_METRIC_EXPORT_INTERVAL"] = "300" },
            exporter =>
            {
                exporter.Endpoint = receiver.GrpcEndpoint;
                exporter.Protocol = OtlpExportProtocol.Grpc;
            });
        await host.StartAsync();
        try
        {
            // Positive: the extension was told the device is in another namespace; the ifindex is the one it has there.
            await receiver.WaitForAsync(r => r.Latest(SeenIfIndex.Name, (MetricNames.InterfaceName, device), (MetricNames.NetnsInode, (long)ns.Inode))?.AsInt == ifIndex,
                Patience, $"{SeenIfIndex.Name} of {device} in {ns.Name} to be its ifindex there, {ifIndex}");
            DataPoint point = receiver.Latest(SeenIfIndex.Name, (MetricNames.InterfaceName, device), (MetricNames.NetnsInode, (long)ns.Inode))!;
            Assert.Equal(ns.Name, point.Attributes[MetricNames.NetnsName]);
            Assert.Equal((long)ns.Inode, point.Attributes[MetricNames.NetnsInode]);
            await receiver.WaitForAsync(r => InLatestExport(r, device, goingInode), Patience, $"the series of {device} in {going.Name}");

            ns.Ip("link", "del", device);
            await receiver.WaitForAsync(r => !InLatestExport(r, device, ns.Inode) && InLatestExport(r, device, goingInode), Patience,
                $"the extension's series of {device}, deleted in {ns.Name}, to leave (retain-deleted 0s) and the other's to stay");

            // The whole namespace goes: its poller stops, and with it its devices' extensions and their series.
            going.Delete();
            await receiver.WaitForAsync(r => !InLatestExport(r, device, goingInode) && r.Received.Count > 0, Patience,
                $"the extension's series of {device} in {going.Name}, deleted, to leave");
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private static bool InLatestExport(OtlpTestReceiver receiver, string device, ulong netns) =>
        (receiver.Received.LastOrDefault() ?? []).SelectMany(r => r.Metrics).Where(m => m.Name == SeenIfIndex.Name).SelectMany(m => m.Points)
            .Any(p => Equals(p.Attributes.GetValueOrDefault(MetricNames.InterfaceName), device)
                && Equals(p.Attributes.GetValueOrDefault(MetricNames.NetnsInode), (long)netns));
}
