using System.Globalization;
using Microsoft.Extensions.Logging;

namespace TunTelemetry.Agent.Telemetry;

/// <summary>A line for the log, as <see cref="ExportHealth"/> decides it.</summary>
internal sealed record ExportHealthLine(LogLevel Level, string Text);

/// <summary>
/// Whether exports are going out, decided from each export's outcome and the time, with no clock or logger of its
/// own (tested in virtual time): one warning when exports start failing, then at most one line per
/// <see cref="RepeatEvery"/> while they go on, one line when an export succeeds again; and the status line systemd
/// shows. A headless agent whose collector is wrong, down or refusing its key would otherwise run on and say nothing.
/// </summary>
/// <remarks>
/// The endpoint is shown as the exporter uses it, without user information; headers (API keys) are never shown.
/// Not thread-safe: the exporter's thread is the only one that reports outcomes.
/// </remarks>
internal sealed class ExportHealth(string endpoint, string protocol, bool cumulative, TimeSpan repeatEvery)
{
    private DateTimeOffset? _failingSince;
    private DateTimeOffset _lastLine;

    /// <summary>The one-a-minute cap on lines while exports keep failing.</summary>
    public TimeSpan RepeatEvery { get; } = repeatEvery;

    public string Endpoint { get; } = endpoint;

    public string Protocol { get; } = protocol;

    /// <summary>Failed exports in a row; 0 while exports succeed.</summary>
    public long FailedInRow { get; private set; }

    public ExportFailureCause? LastCause { get; private set; }

    /// <summary>An export failed at <paramref name="now"/>: the line to log, if one is due.</summary>
    public ExportHealthLine? Failed(DateTimeOffset now, ExportFailureCause cause)
    {
        FailedInRow++;
        LastCause = cause;
        if (_failingSince is not { } since)
        {
            _failingSince = now;
            _lastLine = now;
            return new ExportHealthLine(LogLevel.Warning,
                $"OTLP export to {Endpoint} ({Protocol}) failed: {cause.Description}. {Remedy(cause)}; "
                + "counting goes on and the totals are sent once an export succeeds");
        }

        if (now - _lastLine < RepeatEvery)
        {
            return null;
        }

        _lastLine = now;
        return new ExportHealthLine(LogLevel.Warning, string.Create(CultureInfo.InvariantCulture,
            $"OTLP export to {Endpoint} still failing: {FailedInRow} exports failed in {Duration(now - since)} (since {since:yyyy-MM-dd'T'HH:mm:ss'Z'}); last cause: {cause.Description}"));
    }

    /// <summary>An export succeeded at <paramref name="now"/>: the recovery line, when exports had been failing.</summary>
    public ExportHealthLine? Succeeded(DateTimeOffset now)
    {
        if (_failingSince is not { } since)
        {
            return null;
        }

        long failed = FailedInRow;
        _failingSince = null;
        FailedInRow = 0;
        string totals = cumulative
            ? "the totals are sent again (cumulative temporality: nothing counted meanwhile is lost)"
            : "the points of the failed exports are lost (delta temporality)";
        return new ExportHealthLine(LogLevel.Information, string.Create(CultureInfo.InvariantCulture,
            $"OTLP export to {Endpoint} succeeded again after {Duration(now - since)} of failures ({failed} failed exports); {totals}"));
    }

    /// <summary>What <c>systemctl status</c> shows (sd_notify <c>STATUS=</c>): whether exports go out, and if not since when and why.</summary>
    public string Status(bool anySucceeded) => _failingSince is { } since
        ? string.Create(CultureInfo.InvariantCulture,
            $"exporting to {Endpoint}: failing since {since:yyyy-MM-dd'T'HH:mm:ss'Z'} ({FailedInRow} exports): {LastCause?.Description}")
        : anySucceeded ? $"exporting to {Endpoint}: ok" : $"exporting to {Endpoint}: no export yet";

    private static string Remedy(ExportFailureCause cause) => cause.ErrorType switch
    {
        _ when cause.IsAuthentication =>
            "Check the credentials the collector expects (OTEL_EXPORTER_OTLP_HEADERS, e.g. its API key)",
        ExportFailureCause.ConnectionRefused or ExportFailureCause.NameNotResolved or ExportFailureCause.ConnectionFailed =>
            "Check OTEL_EXPORTER_OTLP_ENDPOINT and that the collector runs (gRPC on 4317, http/protobuf on 4318 with OTEL_EXPORTER_OTLP_PROTOCOL)",
        ExportFailureCause.Tls => "Check the collector's certificate and that this host trusts it (SSL_CERT_FILE, OTEL_EXPORTER_OTLP_CERTIFICATE)",
        ExportFailureCause.Timeout => "Check the network to the collector and its load (OTEL_EXPORTER_OTLP_TIMEOUT sets the wait)",
        _ => "Check the collector's log",
    };

    private static string Duration(TimeSpan span) => span.TotalSeconds < 90
        ? string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0} s")
        : span.TotalMinutes < 90
            ? string.Create(CultureInfo.InvariantCulture, $"{span.TotalMinutes:0} min")
            : string.Create(CultureInfo.InvariantCulture, $"{span.TotalHours:0.#} h");
}
