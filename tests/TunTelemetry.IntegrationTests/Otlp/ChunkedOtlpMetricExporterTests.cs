using System.Diagnostics.Metrics;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using TunTelemetry.Agent.Telemetry;
using Xunit;
using ReceivedMetric = TunTelemetry.IntegrationTests.Otlp.Metric;

namespace TunTelemetry.IntegrationTests.Otlp;

/// <summary>The agent's OTLP exporter over a real socket to a local receiver: one collection, several requests.</summary>
public sealed class ChunkedOtlpMetricExporterTests
{
    // Instruments in the order the SDK collects them, with their number of series.
    private static readonly (string Name, int Series)[] Instruments = [("a", 3), ("b", 4), ("big", 25), ("c", 10), ("d", 2)];

    [Fact]
    public async Task AnExportGoesAsRequestsOfWholeMetricsWithinTheBudgetAndALargerMetricAlone()
    {
        await using OtlpTestReceiver receiver = await OtlpTestReceiver.StartAsync();
        string meterName = $"chunking-test-{Guid.NewGuid():N}";
        using var meter = new Meter(meterName);
        var exporter = new ChunkedOtlpMetricExporter(
            new OtlpExporterOptions { Endpoint = receiver.GrpcEndpoint, Protocol = OtlpExportProtocol.Grpc }, pointsPerRequest: 12);
        using MeterProvider provider = Sdk.CreateMeterProviderBuilder()
            .ConfigureResource(r => r.AddService("chunking-test"))
            .AddMeter(meterName)
            .AddReader(new BaseExportingMetricReader(exporter))
            .Build();

        foreach ((string name, int series) in Instruments)
        {
            Counter<long> counter = meter.CreateCounter<long>(name);
            for (int i = 0; i < series; i++)
            {
                counter.Add(100 + i, new KeyValuePair<string, object?>("i", i));
            }
        }

        Assert.True(provider.ForceFlush(10_000), "the export failed");

        IReadOnlyList<IReadOnlyList<ResourceMetrics>> requests = receiver.Received;
        Assert.Equal(
            ["a,b", "big", "c,d"],
            requests.Select(r => string.Join(",", r.SelectMany(m => m.Metrics).Select(m => m.Name))).ToArray());
        Assert.All(requests, r => Assert.Equal("chunking-test", Assert.Single(r).Resource["service.name"]));

        // Every series arrives once, with its value.
        ReceivedMetric[] metrics = requests.SelectMany(r => r).SelectMany(r => r.Metrics).ToArray();
        foreach ((string name, int series) in Instruments)
        {
            ReceivedMetric metric = Assert.Single(metrics, m => m.Name == name);
            Assert.Equal(
                Enumerable.Range(0, series).Select(i => (long)(100 + i)).ToArray(),
                metric.Points.OrderBy(p => (long)p.Attributes["i"]).Select(p => p.AsInt ?? -1).ToArray());
        }
    }

    [Fact]
    public void APointBudgetBelowOneIsRefused()
    {
        var options = new OtlpExporterOptions();
        Assert.Throws<ArgumentOutOfRangeException>(() => new ChunkedOtlpMetricExporter(options, pointsPerRequest: 0));
    }
}
