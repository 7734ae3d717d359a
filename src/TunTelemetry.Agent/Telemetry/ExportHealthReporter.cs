using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using TunTelemetry.Agent.Os;

namespace TunTelemetry.Agent.Telemetry;

/// <summary>
/// Tells whether OTLP exports go out: the reader reports each export's outcome here
/// (<see cref="OtlpExportReader"/>), the HTTP client it sends with records what its requests met
/// (<see cref="CreateHandler"/>), and this turns both into <see cref="ExportHealth"/>'s log lines, the systemd status
/// line and the failure counter <c>tuntelemetry.export.failures</c> by <c>error.type</c>. That counter is served on the
/// Prometheus endpoint while OTLP fails, and sent with the next export that succeeds.
/// </summary>
internal sealed class ExportHealthReporter : IDisposable
{
    public const string MeterName = "TunTelemetry.Agent";
    public const string FailuresMetric = "tuntelemetry.export.failures";

    private readonly object _gate = new();
    private readonly ExportHealth _health;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly SystemdStatus _systemd;
    private readonly OtlpExportMonitor _exporterEvents;
    private readonly Meter _meter;
    private readonly Counter<long> _failures;
    private object? _lastAttempt; // the last request's exception or answer (HttpResponseMessage)
    private bool _anySucceeded;
    private string? _lastStatus;

    public ExportHealthReporter(ExportHealth health, ILogger logger, TimeProvider time, SystemdStatus systemd, OtlpExportMonitor exporterEvents)
    {
        _health = health;
        _logger = logger;
        _time = time;
        _systemd = systemd;
        _exporterEvents = exporterEvents;
        // A meter per reporter (per host), disposed with it: the instrument lives exactly as long as the agent's host.
        _meter = new Meter(MeterName, OpenTelemetrySetup.ServiceVersion);
        _failures = _meter.CreateCounter<long>(FailuresMetric, "{export}",
            "OTLP exports that failed, by error.type: connection_refused, name_not_resolved, timeout, tls, connection_failed, unauthenticated, permission_denied, rejected, _OTHER.");
        SetStatus();
    }

    /// <summary>Failed exports in a row, for the console view; 0 while exports succeed.</summary>
    public long FailedInRow
    {
        get { lock (_gate) { return _health.FailedInRow; } }
    }

    /// <summary>The last failure's cause in words, for the console view.</summary>
    public string? LastCause
    {
        get { lock (_gate) { return _health.LastCause?.Description; } }
    }

    /// <summary>A handler for the exporter's HTTP client that records what each request met.</summary>
    public DelegatingHandler CreateHandler(HttpMessageHandler inner) => new AttemptRecorder(this) { InnerHandler = inner };

    /// <summary>An export begins: what earlier exports' requests met is no longer its cause.</summary>
    public void ExportStarting() => Volatile.Write(ref _lastAttempt, null);

    /// <summary>An export ended, sent or not.</summary>
    public void ExportEnded(bool succeeded)
    {
        ExportHealthLine? line;
        lock (_gate)
        {
            DateTimeOffset now = _time.GetUtcNow();
            if (succeeded)
            {
                _anySucceeded = true;
                line = _health.Succeeded(now);
            }
            else
            {
                ExportFailureCause cause = ExportFailureCause.Of(Read(Volatile.Read(ref _lastAttempt)), _exporterEvents.LastError);
                _failures.Add(1, new KeyValuePair<string, object?>("error.type", cause.ErrorType));
                line = _health.Failed(now, cause);
            }

            SetStatus();
        }

        if (line is not null)
        {
#pragma warning disable CA2254 // the text is ExportHealth's, decided and tested there; names in it are escaped by the log provider
            _logger.Log(line.Level, line.Text);
#pragma warning restore CA2254
        }
    }

    public void Dispose()
    {
        _meter.Dispose();
        _systemd.Dispose();
    }

    private void SetStatus()
    {
        string status = _health.Status(_anySucceeded);
        if (status != _lastStatus)
        {
            _lastStatus = status;
            _systemd.Set(status);
        }
    }

    /// <summary>
    /// What the last request met, read when its export has ended: by then the exporter has read the answer's body, so a
    /// gRPC status sent in trailers (after a body) is there as well as one sent as a trailers-only answer (headers).
    /// </summary>
    private static ExportAttempt? Read(object? last)
    {
        switch (last)
        {
            case Exception e:
                return new ExportAttempt(e, null, null, null, null);
            case HttpResponseMessage response:
                (int? status, string? message) = GrpcStatusOf(response.Headers);
                if (status is null)
                {
                    (status, message) = GrpcStatusOf(response.TrailingHeaders);
                }

                return new ExportAttempt(null, response.StatusCode, response.ReasonPhrase, status, message);
            default:
                return null;
        }
    }

    /// <summary>Records the exception or the answer of each request the exporter sends (retries included: the last one counts).</summary>
    private sealed class AttemptRecorder(ExportHealthReporter reporter) : DelegatingHandler
    {
        protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            try
            {
                return Recorded(base.Send(request, cancellationToken));
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
            {
                Volatile.Write(ref reporter._lastAttempt, e);
                throw;
            }
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            try
            {
                return Recorded(await base.SendAsync(request, cancellationToken).ConfigureAwait(false));
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
            {
                Volatile.Write(ref reporter._lastAttempt, e);
                throw;
            }
        }

        private HttpResponseMessage Recorded(HttpResponseMessage response)
        {
            Volatile.Write(ref reporter._lastAttempt, response);
            return response;
        }
    }

    private static (int? Status, string? Message) GrpcStatusOf(System.Net.Http.Headers.HttpHeaders headers)
    {
        if (!headers.TryGetValues("grpc-status", out IEnumerable<string>? values)
            || !int.TryParse(values.FirstOrDefault(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int status))
        {
            return (null, null);
        }

        // grpc-message is percent-encoded (gRPC over HTTP/2, "Responses").
        string? message = headers.TryGetValues("grpc-message", out IEnumerable<string>? m) ? Uri.UnescapeDataString(m.FirstOrDefault() ?? string.Empty) : null;
        return (status, message);
    }
}
