using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;

namespace TunTelemetry.Agent.Telemetry;

/// <summary>
/// The SDK's OTLP metric exporter, sending one collection as several requests of whole metrics, each request holding
/// metrics of at most <see cref="PointsPerRequest"/> data points together (a larger metric goes alone).
/// </summary>
/// <remarks>
/// The SDK serialises a collection into one buffer from <c>ArrayPool&lt;byte&gt;.Shared</c>, grown by doubling, and the
/// pool keeps every smaller size it was handed back on the way: at 10,000 devices (90,000 points, about 9 MB) that was
/// 1 + 2 + 4 + 8 + 16 MiB held for the life of the process. Requests of at most one large metric keep the buffer at the
/// size of the largest metric. They also keep a large host under <see cref="OtlpExporterOptions.MaxRequestSizeBytes"/>
/// (64 MiB by default), past which the SDK drops the whole request: every metric of every device, every export.
/// </remarks>
/// <param name="health">Told when each export starts and how it ended; null for none.</param>
internal sealed class ChunkedOtlpMetricExporter(OtlpExporterOptions options, int pointsPerRequest, ExportHealthReporter? health = null)
    : OtlpMetricExporter(options)
{
    /// <summary>About 100 serialised bytes a point: a request fits the exporter's initial buffer (750,000 bytes).</summary>
    internal const int DefaultPointsPerRequest = 7_000;

    // Reused: Export runs on the reader's thread only, one collection at a time.
    private Metric[] _chunk = new Metric[16];

    public int PointsPerRequest { get; } = pointsPerRequest > 0
        ? pointsPerRequest
        : throw new ArgumentOutOfRangeException(nameof(pointsPerRequest), pointsPerRequest, "must be positive");

    /// <remarks>
    /// The first failed request ends the export: a collector that is down or slow would otherwise cost every request
    /// its full timeout, one export could outlast the interval, and the failure would be reported once per request. The
    /// metrics not sent are in the next export (cumulative temporality carries their totals; with delta, a failed export
    /// loses its points either way).
    /// </remarks>
    public override ExportResult Export(in Batch<Metric> metrics)
    {
        health?.ExportStarting();
        ExportResult result = ExportInChunks(metrics);
        health?.ExportEnded(result == ExportResult.Success);
        return result;
    }

    private ExportResult ExportInChunks(in Batch<Metric> metrics)
    {
        int count = 0;
        long points = 0;
        foreach (Metric metric in metrics)
        {
            int metricPoints = CountPoints(metric);
            if (count > 0 && points + metricPoints > PointsPerRequest)
            {
                if (ExportChunk(count) != ExportResult.Success)
                {
                    return ExportResult.Failure;
                }

                count = 0;
                points = 0;
            }

            if (count == _chunk.Length)
            {
                Array.Resize(ref _chunk, count * 2);
            }

            _chunk[count++] = metric;
            points += metricPoints;
        }

        return count > 0 ? ExportChunk(count) : ExportResult.Success;
    }

    private ExportResult ExportChunk(int count)
    {
        try
        {
            return base.Export(new Batch<Metric>(_chunk, count));
        }
        finally
        {
            Array.Clear(_chunk, 0, count);
        }
    }

    private static int CountPoints(Metric metric)
    {
        int n = 0;
        foreach (ref readonly MetricPoint _ in metric.GetMetricPoints())
        {
            n++;
        }

        return n;
    }
}
