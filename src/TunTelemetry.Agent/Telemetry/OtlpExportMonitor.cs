using System.Diagnostics.Tracing;

namespace TunTelemetry.Agent.Telemetry;

/// <summary>
/// The OTLP exporter's own error events (its EventSource): the last one's text is the cause of a failed export that
/// sent no request, or whose requests went through a client the agent does not see into
/// (<see cref="ExportHealthReporter"/>, <see cref="ExportFailureCause.Of"/>).
/// </summary>
internal sealed class OtlpExportMonitor : EventListener
{
    private const string ExporterEventSource = "OpenTelemetry-Exporter-OpenTelemetryProtocol";

    private string? _lastError;

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

        // Payloads are (endpoint, exception text) for transport errors: the exception's first line says why.
        string? detail = eventData.Payload?.LastOrDefault(p => p is string) as string;
        Volatile.Write(ref _lastError, detail?.Split('\n')[0] ?? eventData.EventName);
    }
}
