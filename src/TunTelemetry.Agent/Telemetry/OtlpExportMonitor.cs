using System.Diagnostics.Tracing;

namespace TunTelemetry.Agent.Telemetry;

/// <summary>
/// The OTLP exporter reports failed exports only through its EventSource. This listens to it so the console view can
/// say, in one line, that the collector is unreachable, instead of the terminal filling with errors or saying nothing.
/// </summary>
internal sealed class OtlpExportMonitor : EventListener
{
    private const string ExporterEventSource = "OpenTelemetry-Exporter-OpenTelemetryProtocol";

    private long _failures;
    private string? _lastError;

    public long Failures => Interlocked.Read(ref _failures);

    public string? LastError => Volatile.Read(ref _lastError);

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == ExporterEventSource)
        {
            EnableEvents(eventSource, EventLevel.Warning);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (eventData.Level > EventLevel.Warning)
        {
            return;
        }

        Interlocked.Increment(ref _failures);
        // Payloads are (endpoint, exception text) for transport errors: the exception's first line says why.
        string? detail = eventData.Payload?.LastOrDefault(p => p is string) as string;
        Volatile.Write(ref _lastError, detail?.Split('\n')[0] ?? eventData.EventName);
    }
}
