using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;

namespace TunTelemetry.Agent.Telemetry;

/// <summary>
/// What the exporter's last HTTP request met: an exception (no answer), or the collector's answer, with the gRPC
/// status of a gRPC call (from its headers, or its trailers once read). Null fields were not seen.
/// </summary>
internal sealed record ExportAttempt(Exception? Error, HttpStatusCode? HttpStatus, string? HttpReason, int? GrpcStatus, string? GrpcMessage);

/// <summary>
/// Why an export failed, in words an operator acts on, and as <c>error.type</c> (a short, fixed set, so that the
/// failure counter's series stay few): a collector that is not there, a name that does not resolve, a timeout, TLS,
/// authentication (which needs a different fix: the key, not the network) or another refusal by the collector.
/// </summary>
internal sealed record ExportFailureCause(string ErrorType, string Description)
{
    public const string ConnectionRefused = "connection_refused";
    public const string NameNotResolved = "name_not_resolved";
    public const string Timeout = "timeout";
    public const string Tls = "tls";
    public const string ConnectionFailed = "connection_failed";
    public const string Unauthenticated = "unauthenticated";
    public const string PermissionDenied = "permission_denied";
    public const string Rejected = "rejected";

    /// <summary>As OpenTelemetry's semantic conventions name a failure of no known kind.</summary>
    public const string Other = "_OTHER";

    // gRPC status codes (grpc/doc/statuscodes.md) by number, as gRPC names them.
    private static readonly string[] GrpcCodeNames =
    [
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
        "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
        "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
    ];

    /// <summary>Refused for who we are, not for where we send: the fix is the credentials (OTLP headers).</summary>
    public bool IsAuthentication => ErrorType is Unauthenticated or PermissionDenied;

    /// <summary>
    /// The cause of a failed export from its last request (<paramref name="attempt"/>), or, when no request was seen
    /// (the exporter failed before sending), from the exporter's own last error message.
    /// </summary>
    public static ExportFailureCause Of(ExportAttempt? attempt, string? exporterMessage)
    {
        if (attempt?.Error is { } error)
        {
            return OfException(error);
        }

        if (attempt?.HttpStatus is { } status && (int)status is < 200 or > 299)
        {
            return OfHttpStatus(status, attempt.HttpReason);
        }

        if (attempt?.GrpcStatus is { } code and not 0)
        {
            return OfGrpcStatus(code, attempt.GrpcMessage);
        }

        return new ExportFailureCause(Other, exporterMessage is { Length: > 0 } message
            ? $"the exporter failed: {FirstLine(message)}"
            : "the exporter failed without saying why");
    }

    private static ExportFailureCause OfException(Exception error)
    {
        // HttpClient's own timeout: a TaskCanceledException around a TimeoutException.
        if (Find<TimeoutException>(error) is not null)
        {
            return new ExportFailureCause(Timeout, "timed out: no answer within OTEL_EXPORTER_OTLP_TIMEOUT");
        }

        if (Find<AuthenticationException>(error) is { } tls)
        {
            return new ExportFailureCause(Tls, $"TLS failed: {FirstLine(tls.Message)}");
        }

        SocketException? socket = Find<SocketException>(error);
        HttpRequestError kind = Find<HttpRequestException>(error)?.HttpRequestError ?? HttpRequestError.Unknown;
        if (kind == HttpRequestError.NameResolutionError || socket?.SocketErrorCode is SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData)
        {
            return new ExportFailureCause(NameNotResolved, "the collector's host name does not resolve");
        }

        return socket?.SocketErrorCode switch
        {
            SocketError.ConnectionRefused => new ExportFailureCause(ConnectionRefused, "connection refused: nothing listens there"),
            SocketError.TimedOut => new ExportFailureCause(Timeout, "timed out connecting"),
            SocketError.HostUnreachable or SocketError.NetworkUnreachable =>
                new ExportFailureCause(ConnectionFailed, $"cannot reach the collector: {FirstLine(socket.Message)}"),
            _ when kind == HttpRequestError.SecureConnectionError => new ExportFailureCause(Tls, $"TLS failed: {FirstLine(Innermost(error).Message)}"),
            _ when kind is HttpRequestError.ConnectionError or HttpRequestError.ProxyTunnelError =>
                new ExportFailureCause(ConnectionFailed, $"cannot connect: {FirstLine(Innermost(error).Message)}"),
            _ when kind is HttpRequestError.HttpProtocolError or HttpRequestError.VersionNegotiationError or HttpRequestError.ResponseEnded =>
                new ExportFailureCause(ConnectionFailed, $"the collector's end broke the protocol (is it the right port and protocol?): {FirstLine(Innermost(error).Message)}"),
            _ => new ExportFailureCause(Other, $"{error.GetType().Name}: {FirstLine(Innermost(error).Message)}"),
        };
    }

    private static ExportFailureCause OfHttpStatus(HttpStatusCode status, string? reason)
    {
        string said = string.Create(CultureInfo.InvariantCulture, $"HTTP {(int)status}{(reason is { Length: > 0 } r ? " " + r : string.Empty)}");
        return status switch
        {
            HttpStatusCode.Unauthorized => new ExportFailureCause(Unauthenticated, $"authentication refused by the collector ({said})"),
            HttpStatusCode.Forbidden => new ExportFailureCause(PermissionDenied, $"authentication refused by the collector ({said}: not allowed)"),
            HttpStatusCode.RequestTimeout or HttpStatusCode.GatewayTimeout => new ExportFailureCause(Timeout, $"timed out at the collector ({said})"),
            _ => new ExportFailureCause(Rejected, $"refused by the collector ({said})"),
        };
    }

    private static ExportFailureCause OfGrpcStatus(int code, string? message)
    {
        string name = code >= 0 && code < GrpcCodeNames.Length ? GrpcCodeNames[code] : "UNKNOWN";
        string said = string.Create(CultureInfo.InvariantCulture,
            $"gRPC {name} ({code}){(message is { Length: > 0 } m ? ": " + FirstLine(m) : string.Empty)}");
        return code switch
        {
            16 => new ExportFailureCause(Unauthenticated, $"authentication refused by the collector ({said})"),
            7 => new ExportFailureCause(PermissionDenied, $"authentication refused by the collector ({said}: not allowed)"),
            4 => new ExportFailureCause(Timeout, $"timed out at the collector ({said})"),
            _ => new ExportFailureCause(Rejected, $"refused by the collector ({said})"),
        };
    }

    private static T? Find<T>(Exception error)
        where T : Exception
    {
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            if (e is T found)
            {
                return found;
            }
        }

        return null;
    }

    private static Exception Innermost(Exception error)
    {
        while (error.InnerException is { } inner)
        {
            error = inner;
        }

        return error;
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();
}
