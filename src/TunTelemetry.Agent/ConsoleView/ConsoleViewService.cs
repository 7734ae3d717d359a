using System.Globalization;
using System.Text;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.Hosting;
using TunTelemetry.Agent.Telemetry;
using TunTelemetry.Devices;
using TunTelemetry.Hosting;
using TunTelemetry.Metrics;
using TunTelemetry.Netlink;
using TunTelemetry.Readers;

namespace TunTelemetry.Agent.ConsoleView;

/// <summary>
/// The first-run view: every poll interval, one compact block with each device's main counters and their growth
/// since the last block, the processes reading it (<c>name[pid]</c>), plus where metrics go. Reads the aggregator's
/// last readings and the reader scan's last result, so it shows exactly what is exported. A device whose drops grew
/// while its reader is stopped (or nothing holds it) is flagged on its row: that is why it drops.
/// </summary>
internal sealed class ConsoleViewService(
    IRequiredActor<MetricsAggregatorActor> aggregator,
    IRequiredActor<ReaderScanActor> readerScanner,
    TunTelemetryOptions options,
    MetricsExporters exporters,
    TextWriter output,
    ExportHealthReporter? exportHealth = null) : BackgroundService
{
    private static readonly (string Header, LinkStats64Field Field)[] Columns =
    [
        ("rx_packets", LinkStats64Field.RxPackets),
        ("tx_packets", LinkStats64Field.TxPackets),
        ("tx_dropped", LinkStats64Field.TxDropped),
        ("rx_dropped", LinkStats64Field.RxDropped),
        ("errors", LinkStats64Field.RxErrors),
    ];

    private readonly Dictionary<(int, string), LinkStats64> _previous = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        output.WriteLine(EndpointHint(exporters));
        // The first block right after the immediate first polls, then one per interval.
        TimeSpan delay = TimeSpan.FromMilliseconds(Math.Min(1000, options.PollInterval.TotalMilliseconds));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(delay, stoppingToken).ConfigureAwait(false);
                IActorRef actor = await aggregator.GetAsync(stoppingToken).ConfigureAwait(false);
                DeviceReadings readings = await actor.Ask<DeviceReadings>(GetDeviceReadings.Instance, TimeSpan.FromSeconds(5), stoppingToken).ConfigureAwait(false);
                IActorRef scanner = await readerScanner.GetAsync(stoppingToken).ConfigureAwait(false);
                ReadersObserved readers = await scanner.Ask<ReadersObserved>(GetReaders.Instance, TimeSpan.FromSeconds(5), stoppingToken).ConfigureAwait(false);
                output.Write(Render(DateTime.Now, readings, readers, exportHealth?.FailedInRow ?? 0, exportHealth?.LastCause, _previous));
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (AskTimeoutException)
            {
                // the actor system is shutting down or overloaded; skip this block
            }

            delay = options.PollInterval;
        }
    }

    internal static string EndpointHint(MetricsExporters exporters)
    {
        if (exporters.None)
        {
            return "tuntelemetry: OTEL_METRICS_EXPORTER=none: metrics are not exported, only shown here.";
        }

        string? prometheus = exporters.Prometheus switch
        {
            null => null,
            var listen when listen == MetricsExporters.EnvironmentDefault =>
                "serving Prometheus metrics at /metrics on OTEL_EXPORTER_PROMETHEUS_HOST:OTEL_EXPORTER_PROMETHEUS_PORT (default localhost:9464)",
            var listen => $"serving Prometheus metrics at http://{listen}/metrics",
        };
        if (!exporters.Otlp)
        {
            return $"tuntelemetry: {prometheus}.";
        }

        string? endpoint = Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT");
        string otlp = string.IsNullOrEmpty(endpoint)
            ? "no collector configured; trying OTLP at http://localhost:4317. Point it at yours with OTEL_EXPORTER_OTLP_ENDPOINT=http://HOST:4317 (or 4318 with OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf)"
            : $"exporting OTLP to {endpoint}";
        return prometheus is null ? $"tuntelemetry: {otlp}." : $"tuntelemetry: {prometheus}; {otlp}.";
    }

    /// <summary>
    /// Why a device drops, when the readers tell: a stopped reader is flagged whether or not this block's drops grew,
    /// because the scan that saw it stop may come a reader-interval after the drops began.
    /// </summary>
    internal static string Flag(IReadOnlyList<TunReader>? readers, bool dropsGrew) => readers switch
    {
        null => string.Empty,
        [] when dropsGrew => "  <- drops grow and no process holds the device",
        _ when readers.Any(r => r.IsNotRunning) => dropsGrew ? "  <- drops grow and its reader is not running" : "  <- its reader is not running",
        _ => string.Empty,
    };

    /// <summary>
    /// One block of the view: the time, the devices with their growth since <paramref name="previous"/> (which it
    /// updates, forgetting devices that are gone) and their readers. Every name in it passes through
    /// <see cref="HumanText.Escape"/>: device, namespace and process names are anyone's to choose.
    /// </summary>
    internal static string Render(DateTime time, DeviceReadings readings, ReadersObserved readers, long exportFailures, string? lastExportError,
        Dictionary<(int, string), LinkStats64> previous)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{time:HH:mm:ss}  {readings.Devices.Count} device(s)");
        if (exportFailures > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"  [OTLP export failed {exportFailures}x in a row: {HumanText.Escape(lastExportError ?? "")}; totals are kept and sent when it is back]");
        }

        // Forget devices that are gone, so months of device churn do not grow this view's memory.
        var current = readings.Devices.Select(d => (d.IfIndex, d.DisplayName)).ToHashSet();
        foreach ((int, string) gone in previous.Keys.Where(k => !current.Contains(k)).ToArray())
        {
            previous.Remove(gone);
        }

        text.AppendLine();
        if (readings.Devices.Count == 0)
        {
            return text.ToString();
        }

        // Names as a person may see them (HumanText): device and namespace names are anyone's to choose.
        int nameWidth = Math.Max(6, readings.Devices.Max(d => HumanText.Escape(d.DisplayName).Length));
        text.Append("  ").Append("device".PadRight(nameWidth));
        foreach ((string header, _) in Columns)
        {
            text.Append("  ").Append(header.PadLeft(20));
        }

        if (readers.Scanned)
        {
            text.Append("  readers");
        }

        // By (namespace, ifindex): with --all-namespaces ifindexes repeat across namespaces.
        Dictionary<DeviceId, IReadOnlyList<TunReader>> readersByDevice = readers.ByIdentity();

        text.AppendLine();
        foreach (DeviceReading device in readings.Devices)
        {
            previous.TryGetValue((device.IfIndex, device.DisplayName), out LinkStats64 before);
            bool hasBefore = previous.ContainsKey((device.IfIndex, device.DisplayName));
            text.Append("  ").Append(HumanText.Escape(device.DisplayName).PadRight(nameWidth));
            foreach ((_, LinkStats64Field field) in Columns)
            {
                ulong now = field == LinkStats64Field.RxErrors ? device.Last.RxErrors + device.Last.TxErrors : device.Last[field];
                ulong then = field == LinkStats64Field.RxErrors ? before.RxErrors + before.TxErrors : before[field];
                string cell = hasBefore && now >= then ? $"{now} (+{now - then})" : now.ToString(CultureInfo.InvariantCulture);
                text.Append("  ").Append(cell.PadLeft(20));
            }

            if (readers.Scanned)
            {
                IReadOnlyList<TunReader>? deviceReaders = readersByDevice.GetValueOrDefault(new DeviceId(device.Home.Inode, device.IfIndex));
                text.Append("  ").Append(deviceReaders is null ? "-" : Snapshot.SnapshotTable.Readers(deviceReaders));
                text.Append(Flag(deviceReaders, hasBefore && (device.Last.TxDropped > before.TxDropped || device.Last.RxDropped > before.RxDropped)));
            }

            text.AppendLine();
            previous[(device.IfIndex, device.DisplayName)] = device.Last;
        }

        return text.ToString();
    }
}
