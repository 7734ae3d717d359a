using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using TunTelemetry.Agent.Telemetry;
using TunTelemetry.Devices;
using TunTelemetry.Metrics;
using TunTelemetry.Netlink;
using Xunit;
using Xunit.Abstractions;
using ReceivedMetric = TunTelemetry.IntegrationTests.Otlp.Metric;

namespace TunTelemetry.IntegrationTests.Otlp;

/// <summary>The agent's OTLP reader over a real socket to a local receiver: one collection, several requests.</summary>
public sealed class OtlpExportReaderTests(ITestOutputHelper output)
{
    private const int Hour = 3_600_000; // an interval no test waits for: only ForceFlush exports

    // Instruments in the order the SDK collects them, with their number of series.
    private static readonly (string Name, int Series)[] Instruments = [("a", 3), ("b", 4), ("big", 25), ("c", 10), ("d", 2)];

    [Fact]
    public async Task AnExportGoesAsRequestsOfAtMostTheBudgetInPointsALargerMetricSplit()
    {
        await using OtlpTestReceiver receiver = await OtlpTestReceiver.StartAsync();
        string meterName = $"chunking-test-{Guid.NewGuid():N}";
        using var meter = new Meter(meterName);
        using MeterProvider provider = Sdk.CreateMeterProviderBuilder()
            .ConfigureResource(r => r.AddService("chunking-test"))
            .AddMeter(meterName)
            .AddReader(new OtlpExportReader(
                new OtlpExporterOptions { Endpoint = receiver.GrpcEndpoint, Protocol = OtlpExportProtocol.Grpc }, Hour, 30_000, pointsPerRequest: 12))
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

        // 44 points: 12, 12, 12 and 8, in the order the SDK collects them; "big" (25) spans three requests.
        IReadOnlyList<IReadOnlyList<ResourceMetrics>> requests = receiver.Received;
        Assert.Equal(
            [12, 12, 12, 8],
            requests.Select(r => r.SelectMany(m => m.Metrics).Sum(m => m.Points.Count)).ToArray());
        Assert.Equal(
            ["a,b,big", "big", "big,c", "c,d"],
            requests.Select(r => string.Join(",", r.SelectMany(m => m.Metrics).Select(m => m.Name))).ToArray());
        Assert.All(requests, r => Assert.Equal("chunking-test", Assert.Single(r).Resource["service.name"]));

        // Every series arrives once, with its value.
        ReceivedMetric[] metrics = requests.SelectMany(r => r).SelectMany(r => r.Metrics).ToArray();
        foreach ((string name, int series) in Instruments)
        {
            Assert.Equal(
                Enumerable.Range(0, series).Select(i => (long)(100 + i)).ToArray(),
                metrics.Where(m => m.Name == name).SelectMany(m => m.Points).OrderBy(p => (long)p.Attributes["i"]).Select(p => p.AsInt ?? -1).ToArray());
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
        var options = new OtlpExporterOptions
        {
            Endpoint = new Uri($"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}/v1/metrics"),
            Protocol = OtlpExportProtocol.HttpProtobuf,
            TimeoutMilliseconds = 300,
        };
        using MeterProvider provider = Sdk.CreateMeterProviderBuilder()
            .AddMeter(meterName)
            .AddReader(new OtlpExportReader(options, Hour, 30_000, pointsPerRequest: 1))
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
        Assert.Throws<ArgumentOutOfRangeException>(() => new OtlpExportReader(options, Hour, 30_000, pointsPerRequest: 0));
    }

    /// <summary>
    /// The agent's own instruments (detailed: every counter) for 10,000 devices in namespaces with the longest names
    /// Linux allows (255 bytes), through the agent's reader at its default budget, over gRPC: every request within a
    /// collector's default 4 MiB message limit, every series sent once.
    /// </summary>
    [Fact]
    public async Task TenThousandDevicesInTheLongestNamesGoWithinACollectorsDefaultGrpcMessageLimit()
    {
        const int Devices = 10_000;
        const int GrpcDefaultLimit = 4 * 1024 * 1024;
        await using OtlpTestReceiver receiver = await OtlpTestReceiver.StartAsync();
        string meterName = $"chunking-test-{Guid.NewGuid():N}";
        using var meter = new Meter(meterName);
        using var metrics = new TunDeviceMetrics(meter, detailed: true, maxDevices: Devices);
        ulong[] counters = Enumerable.Range(0, LinkStats64.MaxFieldCount).Select(i => ulong.MaxValue / 4 + (ulong)i).ToArray();
        for (int i = 0; i < Devices; i++)
        {
            var ns = new DeviceNamespace(4_026_532_000UL + (ulong)i, $"{i:D5}".PadRight(255, 'n'));
            var device = new TunDevice(i + 1, $"tun{i:D12}", TunDeviceKind.Tun) { Namespace = ns };
            metrics.SeriesFor(device).Add(LinkStats64.FromCounters(counters));
            metrics.LinkStates.Set(device, new LinkStateObservation(1500, 500, LinkOperState.Up, Up: true, Queues: (4, 0)), metrics.DeviceTags(device));
        }

        using MeterProvider provider = Sdk.CreateMeterProviderBuilder()
            .ConfigureResource(r => r.AddService("chunking-test"))
            .AddMeter(meterName)
            .AddView(instrument => instrument.Meter.Name == meterName
                ? new MetricStreamConfiguration { CardinalityLimit = TunDeviceMetrics.CardinalityLimit(instrument.Name, Devices) }
                : null)
            .AddReader(new OtlpExportReader(
                new OtlpExporterOptions { Endpoint = receiver.GrpcEndpoint, Protocol = OtlpExportProtocol.Grpc, TimeoutMilliseconds = 60_000 },
                Hour, 120_000, OtlpExportReader.DefaultPointsPerRequest))
            .Build();

        Assert.True(provider.ForceFlush(120_000), "the export failed");

        IReadOnlyList<int> sizes = receiver.GrpcMessageSizes;
        int[] points = receiver.Received.Select(r => r.SelectMany(m => m.Metrics).Sum(m => m.Points.Count)).ToArray();
        output.WriteLine($"{points.Sum()} points in {sizes.Count} requests; largest {sizes.Max()} bytes, "
            + $"{(double)sizes.Sum() / points.Sum():F0} bytes a point");
        Assert.All(sizes, size => Assert.InRange(size, 1, GrpcDefaultLimit));
        Assert.All(points, n => Assert.InRange(n, 1, OtlpExportReader.DefaultPointsPerRequest));

        // Every device's every counter arrived once.
        ReceivedMetric[] received = receiver.Received.SelectMany(r => r).SelectMany(r => r.Metrics).ToArray();
        foreach (string name in received.Select(m => m.Name).Distinct().Where(n => n.StartsWith("system.network.", StringComparison.Ordinal)))
        {
            DataPoint[] series = received.Where(m => m.Name == name).SelectMany(m => m.Points).ToArray();
            Assert.Equal(series.Length, series.Select(p => string.Join(",", p.Attributes.OrderBy(a => a.Key).Select(a => $"{a.Key}={a.Value}"))).Distinct().Count());
            Assert.Equal(Devices, series.Select(p => p.Attributes[MetricNames.InterfaceName]).Distinct().Count());
        }
    }
}
