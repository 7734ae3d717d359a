using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
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
    public async Task AFailedRequestEndsTheExportSoADeadCollectorCostsOneTimeoutNotOnePerRequest()
    {
        // A collector that accepts connections and never answers: every request runs into the exporter's timeout.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var connections = new List<TcpClient>();
        Task accepting = Task.Run(async () =>
        {
            while (true)
            {
                TcpClient client = await silent.AcceptTcpClientAsync();
                lock (connections)
                {
                    connections.Add(client);
                }
            }
        });

        string meterName = $"chunking-test-{Guid.NewGuid():N}";
        using var meter = new Meter(meterName);
        var exporter = new ChunkedOtlpMetricExporter(
            new OtlpExporterOptions
            {
                Endpoint = new Uri($"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}/v1/metrics"),
                Protocol = OtlpExportProtocol.HttpProtobuf,
                TimeoutMilliseconds = 300,
            },
            pointsPerRequest: 1);
        using MeterProvider provider = Sdk.CreateMeterProviderBuilder()
            .AddMeter(meterName)
            .AddReader(new BaseExportingMetricReader(exporter))
            .Build();
        foreach (string name in new[] { "a", "b", "c" })
        {
            meter.CreateCounter<long>(name).Add(1);
        }

        Assert.False(provider.ForceFlush(10_000), "the export should fail");

        // Requests are sent one after another, so every connection the export made is in the listener's queue or
        // accepted by now: wait for the accept loop to take them all.
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (Accepted() == 0 || silent.Pending())
        {
            Assert.True(DateTime.UtcNow < deadline, "the export's connection was not accepted within 30 s");
            await Task.Delay(10);
        }

        lock (connections)
        {
            Assert.Single(connections); // three requests' worth of metrics, one attempt
            connections.ForEach(c => c.Dispose());
        }

        silent.Stop();
        await Assert.ThrowsAnyAsync<Exception>(() => accepting);

        int Accepted()
        {
            lock (connections)
            {
                return connections.Count;
            }
        }
    }

    [Fact]
    public void APointBudgetBelowOneIsRefused()
    {
        var options = new OtlpExporterOptions();
        Assert.Throws<ArgumentOutOfRangeException>(() => new ChunkedOtlpMetricExporter(options, pointsPerRequest: 0));
    }
}
