using TunTelemetry.Agent.Demo;
using TunTelemetry.IntegrationTests.Otlp;
using TunTelemetry.IntegrationTests.Support;
using TunTelemetry.Metrics;
using Xunit;
using Xunit.Abstractions;

namespace TunTelemetry.IntegrationTests.EndToEnd;

/// <summary>The agent as users run it: a deleted device's series leave the export after the grace period.</summary>
public sealed class SeriesLifecycleTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly string _config = Path.Combine(Path.GetTempPath(), $"tt-{Guid.NewGuid():N}.conf");

    [NetAdminFact]
    public async Task A_deleted_devices_series_leave_the_export_after_retain_deleted_and_a_live_ones_stay()
    {
        File.WriteAllText(_config, "tuntelemetry.metrics.retain-deleted = 2s");
        string prefix = $"tl{Random.Shared.Next(0, 0xffffff):x6}";
        await using OtlpTestReceiver receiver = await OtlpTestReceiver.StartAsync();
        using DroppingTunDevice keep = DroppingTunDevice.Create(name: prefix + "keep");
        DroppingTunDevice gone = DroppingTunDevice.Create(name: prefix + "gone");
        var environment = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.GrpcEndpoint.ToString().TrimEnd('/'),
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
        };
        using AgentProcess agent = AgentProcess.Start(environment,
            "run", "--no-console", "--config", _config, "--poll-interval", "500ms", "--include", $"^{prefix}");
        try
        {
            gone.SendPackets(600);
            keep.SendPackets(520);
            await receiver.WaitForAsync(r => r.Exports > 0 && Drops(r.Received[^1], gone.Name) == 100 && Drops(r.Received[^1], keep.Name) == 20,
                Patience, $"100 drops of {gone.Name} and 20 of {keep.Name} in one export");

            gone.Dispose();
            await agent.WaitForOutputAsync($"Stopped watching {gone.Name}", Patience);
            int before = receiver.Exports;
            await receiver.WaitForAsync(r => r.Exports > before && Drops(r.Received[^1], gone.Name) is null, Patience,
                $"an export without {gone.Name}");

            IReadOnlyList<ResourceMetrics> last = receiver.Received[^1];
            foreach (Metric metric in last.SelectMany(r => r.Metrics))
            {
                Assert.DoesNotContain(metric.Points, p => Equals(p.Attributes.GetValueOrDefault(MetricNames.InterfaceName), gone.Name));
            }

            Assert.Equal(20, Drops(last, keep.Name));
            Assert.Equal(1, receiver.Latest(MetricNames.DevicesWatched)?.AsInt);
        }
        finally
        {
            gone.Dispose();
            output.WriteLine(agent.Output);
        }
    }

    [NetAdminFact]
    public async Task A_thousand_uniquely_named_real_devices_leave_only_the_live_ones_in_the_export_and_none_overflow()
    {
        // Room for 60 devices per stream, so the churn passes max-devices many times over: only renewal of the
        // per-device instruments keeps new names out of the SDK's overflow series.
        File.WriteAllText(_config, "tuntelemetry.metrics { retain-deleted = 1s, max-devices = 60 }");
        string prefix = $"tc{Random.Shared.Next(0, 0xffffff):x6}";
        await using OtlpTestReceiver receiver = await OtlpTestReceiver.StartAsync();
        using DroppingTunDevice steady = DroppingTunDevice.Create(name: prefix + "steady");
        var environment = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.GrpcEndpoint.ToString().TrimEnd('/'),
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
        };
        using AgentProcess agent = AgentProcess.Start(environment,
            "run", "--no-console", "--config", _config, "--poll-interval", "500ms", "--include", $"^{prefix}");
        try
        {
            const int Batches = 40, PerBatch = 25; // at most 26 names kept at a time, well within max-devices
            for (int batch = 0; batch < Batches; batch++)
            {
                var devices = Enumerable.Range(0, PerBatch)
                    .Select(i => DroppingTunDevice.Create(name: $"{prefix}{(batch * PerBatch) + i:x3}")).ToList();
                try
                {
                    // Every device of the batch polled: its series in one export, beside the steady device.
                    await receiver.WaitForAsync(r => r.Exports > 0 && devices.All(d => Drops(r.Received[^1], d.Name) == 0),
                        Patience, $"batch {batch}: all {PerBatch} devices in one export");
                }
                finally
                {
                    devices.ForEach(d => d.Dispose());
                }

                int exports = receiver.Exports;
                await receiver.WaitForAsync(r => r.Exports > exports && !DevicesIn(r.Received[^1]).Overlaps(devices.Select(d => d.Name)),
                    Patience, $"batch {batch}: an export after its grace period, without its devices");
            }

            int before = receiver.Exports;
            await receiver.WaitForAsync(r => r.Exports > before && DevicesIn(r.Received[^1]).SetEquals([steady.Name]), Patience,
                "an export with the steady device's series alone");
            Assert.Empty(receiver.Received.SelectMany(e => e).SelectMany(r => r.Metrics)
                .Where(m => m.Points.Any(p => p.Attributes.ContainsKey("otel.metric.overflow"))).Select(m => m.Name).Distinct());
            Assert.Contains("Renewed the per-device instruments", agent.Output);
        }
        finally
        {
            output.WriteLine(agent.Output.Length > 20_000 ? agent.Output[^20_000..] : agent.Output);
        }
    }

    private static HashSet<string> DevicesIn(IReadOnlyList<ResourceMetrics> export) => export.SelectMany(r => r.Metrics)
        .SelectMany(m => m.Points).Select(p => p.Attributes.GetValueOrDefault(MetricNames.InterfaceName) as string)
        .OfType<string>().ToHashSet();

    public void Dispose() => File.Delete(_config);

    private static long? Drops(IReadOnlyList<ResourceMetrics> export, string device) => export.SelectMany(r => r.Metrics)
        .Where(m => m.Name == MetricNames.TxQueueDrops).SelectMany(m => m.Points)
        .FirstOrDefault(p => Equals(p.Attributes.GetValueOrDefault(MetricNames.InterfaceName), device))?.AsInt;
}
