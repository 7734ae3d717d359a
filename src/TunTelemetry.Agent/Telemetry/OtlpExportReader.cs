using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;

namespace TunTelemetry.Agent.Telemetry;

/// <summary>
/// The OTLP reader: the SDK's periodic reader, sending one collection as requests of at most
/// <see cref="PeriodicExportingMetricReader.MaxExportBatchSize"/> data points (OpenTelemetry 1.21 splits a collection,
/// and a large metric, into batches of points and exports them one after another), which tells
/// <see cref="ExportHealthReporter"/> how each collection's export ended and ends it at its first failed request.
/// </summary>
/// <remarks>
/// Requests of a bounded number of points keep a 10,000-device export within a collector's default 4 MiB gRPC message:
/// at most 3.0 MiB for 7,000 points even with 255-byte namespace names (<c>OtlpExportReaderTests</c>), where whole
/// metrics, as the agent sent before 1.21, made a 20,000-point metric of about 8.5 MB. In the agent's own namespace a
/// request (about 85 bytes a point) also fits the OTLP exporter's first 750,000-byte buffer, which it would otherwise
/// grow by doubling, re-serialising the request each time.
/// The hooks are here, not in the exporter, because the SDK calls the exporter once per batch: a collection is one
/// export to the person reading the log, whatever number of requests it took.
/// </remarks>
/// <param name="health">Told when each collection's export starts and how it ended; null for none.</param>
internal sealed class OtlpExportReader(
    OtlpExportReader.FirstFailureEndsExporter exporter, int exportIntervalMilliseconds, int exportTimeoutMilliseconds,
    int pointsPerRequest, ExportHealthReporter? health)
    : PeriodicExportingMetricReader(exporter, exportIntervalMilliseconds, exportTimeoutMilliseconds, pointsPerRequest)
{
    /// <summary>Under 4 MiB up to about 600 serialised bytes a point; the agent's points take 85 to 450.</summary>
    internal const int DefaultPointsPerRequest = 7_000;

    // Initialisers run before the base constructor, which starts the SDK's export thread.
    private readonly FirstFailureEndsExporter _exporter = exporter;
    private readonly ExportHealthReporter? _health = health;

    /// <exception cref="ArgumentOutOfRangeException"><paramref name="pointsPerRequest"/> is below 1 (the SDK's check).</exception>
    public OtlpExportReader(
        OtlpExporterOptions options, int exportIntervalMilliseconds, int exportTimeoutMilliseconds, int pointsPerRequest,
        ExportHealthReporter? health = null)
        : this(new FirstFailureEndsExporter(options), exportIntervalMilliseconds, exportTimeoutMilliseconds, pointsPerRequest, health)
    {
    }

    /// <remarks>
    /// Every collection comes here, the periodic one, a forced flush and the last at shutdown, alone or through the
    /// provider's composite reader (which calls <c>OnCollect</c> of each reader). The SDK runs one collection at a time.
    /// </remarks>
    protected override bool OnCollect(int timeoutMilliseconds)
    {
        _health?.ExportStarting();
        _exporter.Failed = false;
        bool succeeded = base.OnCollect(timeoutMilliseconds);
        _health?.ExportEnded(succeeded);
        return succeeded;
    }

    /// <summary>
    /// The SDK's OTLP exporter, refusing the rest of a collection's batches once one failed. The SDK sends every batch
    /// whatever the one before met, each with the whole export timeout: a collector that is down or slow would cost
    /// every request its timeout, one export could outlast the interval, and the cause recorded for the export would
    /// be the last request's, not the first failure's. The points not sent are in the next export (cumulative
    /// temporality carries their totals; with delta, a failed export loses its points either way).
    /// </summary>
    internal sealed class FirstFailureEndsExporter(OtlpExporterOptions options) : OtlpMetricExporter(options)
    {
        // Written by OnCollect and read here on the same collection's thread.
        internal bool Failed { get; set; }

        public override ExportResult Export(in Batch<Metric> metrics)
        {
            if (Failed)
            {
                return ExportResult.Failure;
            }

            ExportResult result = base.Export(metrics);
            Failed = result != ExportResult.Success;
            return result;
        }
    }
}
