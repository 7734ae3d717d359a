using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using Microsoft.Extensions.Logging;
using TunTelemetry.Agent.Telemetry;
using Xunit;

namespace TunTelemetry.Tests.Agent;

/// <summary>What the agent says about failing exports, decided in virtual time: no clock, no logger, no network.</summary>
public sealed class ExportHealthTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);
    private static readonly ExportFailureCause Refused = new(ExportFailureCause.ConnectionRefused, "connection refused: nothing listens there");

    private static ExportHealth Health(bool cumulative = true) => new("http://collector:4317/", "grpc", cumulative, TimeSpan.FromMinutes(1));

    [Fact]
    public void The_first_failure_is_one_warning_with_endpoint_protocol_cause_and_remedy()
    {
        ExportHealthLine line = Health().Failed(T0, Refused)!;

        Assert.Equal(LogLevel.Warning, line.Level);
        Assert.Equal("OTLP export to http://collector:4317/ (grpc) failed: connection refused: nothing listens there. Check "
            + "OTEL_EXPORTER_OTLP_ENDPOINT and that the collector runs (gRPC on 4317, http/protobuf on 4318 with "
            + "OTEL_EXPORTER_OTLP_PROTOCOL); counting goes on and the totals are sent once an export succeeds", line.Text);
    }

    [Fact]
    public void While_failures_go_on_there_is_at_most_one_line_a_minute_with_the_count_and_the_time_since_the_first()
    {
        ExportHealth health = Health();
        Assert.NotNull(health.Failed(T0, Refused));
        var lines = new List<(TimeSpan At, string Text)>();
        for (int second = 15; second <= 300; second += 15) // an export every 15 s for five minutes
        {
            if (health.Failed(T0.AddSeconds(second), Refused) is { } line)
            {
                lines.Add((TimeSpan.FromSeconds(second), line.Text));
            }
        }

        Assert.Equal([TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(120), TimeSpan.FromSeconds(180), TimeSpan.FromSeconds(240), TimeSpan.FromSeconds(300)],
            lines.Select(l => l.At));
        Assert.Equal("OTLP export to http://collector:4317/ still failing: 5 exports failed in 60 s (since 2026-12-07T12:00:00Z); "
            + "last cause: connection refused: nothing listens there", lines[0].Text);
        Assert.StartsWith("OTLP export to http://collector:4317/ still failing: 21 exports failed in 5 min", lines[^1].Text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_changed_cause_waits_for_the_next_line_and_is_named_there()
    {
        ExportHealth health = Health();
        health.Failed(T0, Refused);
        var unauthenticated = new ExportFailureCause(ExportFailureCause.Unauthenticated, "authentication refused by the collector (HTTP 401 Unauthorized)");
        Assert.Null(health.Failed(T0.AddSeconds(30), unauthenticated));
        Assert.EndsWith("last cause: authentication refused by the collector (HTTP 401 Unauthorized)", health.Failed(T0.AddSeconds(61), unauthenticated)!.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Success_after_failures_is_one_info_line_and_then_silence()
    {
        ExportHealth health = Health();
        Assert.Null(health.Succeeded(T0)); // nothing to recover from
        health.Failed(T0.AddSeconds(10), Refused);
        health.Failed(T0.AddSeconds(25), Refused);
        health.Failed(T0.AddSeconds(40), Refused);

        ExportHealthLine line = health.Succeeded(T0.AddSeconds(130))!;
        Assert.Equal(LogLevel.Information, line.Level);
        Assert.Equal("OTLP export to http://collector:4317/ succeeded again after 2 min of failures (3 failed exports); "
            + "the totals are sent again (cumulative temporality: nothing counted meanwhile is lost)", line.Text);
        Assert.Null(health.Succeeded(T0.AddSeconds(145)));
        Assert.Equal(0, health.FailedInRow);
        Assert.NotNull(health.Failed(T0.AddSeconds(160), Refused)); // a new outage is said again at once
    }

    [Fact]
    public void With_delta_temporality_the_recovery_line_says_the_failed_exports_points_are_lost()
    {
        ExportHealth health = Health(cumulative: false);
        health.Failed(T0, Refused);
        Assert.EndsWith("the points of the failed exports are lost (delta temporality)", health.Succeeded(T0.AddSeconds(20))!.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void The_systemd_status_line_says_whether_exports_go_out()
    {
        ExportHealth health = Health();
        Assert.Equal("exporting to http://collector:4317/: no export yet", health.Status(anySucceeded: false));
        Assert.Equal("exporting to http://collector:4317/: ok", health.Status(anySucceeded: true));
        health.Failed(T0, Refused);
        health.Failed(T0.AddSeconds(15), Refused);
        Assert.Equal("exporting to http://collector:4317/: failing since 2026-12-07T12:00:00Z (2 exports): connection refused: nothing listens there",
            health.Status(anySucceeded: true));
    }

    [Fact]
    public void Authentication_refusals_are_told_apart_and_point_at_the_headers()
    {
        ExportFailureCause cause = ExportFailureCause.Of(new ExportAttempt(null, HttpStatusCode.Forbidden, "Forbidden", null, null), null);
        Assert.Equal(ExportFailureCause.PermissionDenied, cause.ErrorType);
        Assert.True(cause.IsAuthentication);
        Assert.Contains("OTEL_EXPORTER_OTLP_HEADERS", Health().Failed(T0, cause)!.Text, StringComparison.Ordinal);
    }

    private static readonly Dictionary<string, (ExportAttempt? Attempt, string ErrorType, string Words)> Cases = new()
    {
        ["refused"] = (Thrown(new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused (127.0.0.1:1)", new SocketException((int)SocketError.ConnectionRefused))),
            ExportFailureCause.ConnectionRefused, "connection refused: nothing listens there"),
        ["no such name"] = (Thrown(new HttpRequestException(HttpRequestError.NameResolutionError, "Name or service not known (collector.invalid:4317)", new SocketException((int)SocketError.HostNotFound))),
            ExportFailureCause.NameNotResolved, "the collector's host name does not resolve"),
        ["client timeout"] = (Thrown(new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout of 10 seconds elapsing.", new TimeoutException("The operation was canceled."))),
            ExportFailureCause.Timeout, "timed out: no answer within OTEL_EXPORTER_OTLP_TIMEOUT"),
        ["tls"] = (Thrown(new HttpRequestException(HttpRequestError.SecureConnectionError, "The SSL connection could not be established, see inner exception.", new AuthenticationException("The remote certificate is invalid because of errors in the certificate chain: UntrustedRoot"))),
            ExportFailureCause.Tls, "TLS failed: The remote certificate is invalid because of errors in the certificate chain: UntrustedRoot"),
        ["unreachable"] = (Thrown(new HttpRequestException(HttpRequestError.ConnectionError, "No route to host", new SocketException((int)SocketError.HostUnreachable))),
            ExportFailureCause.ConnectionFailed, "cannot reach the collector: No route to host"),
        ["http 401"] = (new ExportAttempt(null, HttpStatusCode.Unauthorized, "Unauthorized", null, null),
            ExportFailureCause.Unauthenticated, "authentication refused by the collector (HTTP 401 Unauthorized)"),
        ["http 503"] = (new ExportAttempt(null, HttpStatusCode.ServiceUnavailable, "Service Unavailable", null, null),
            ExportFailureCause.Rejected, "refused by the collector (HTTP 503 Service Unavailable)"),
        ["grpc unauthenticated"] = (new ExportAttempt(null, HttpStatusCode.OK, "OK", 16, "invalid API key"),
            ExportFailureCause.Unauthenticated, "authentication refused by the collector (gRPC UNAUTHENTICATED (16): invalid API key)"),
        ["grpc permission denied"] = (new ExportAttempt(null, HttpStatusCode.OK, "OK", 7, null),
            ExportFailureCause.PermissionDenied, "authentication refused by the collector (gRPC PERMISSION_DENIED (7): not allowed)"),
        ["grpc unavailable"] = (new ExportAttempt(null, HttpStatusCode.OK, "OK", 14, "overloaded"),
            ExportFailureCause.Rejected, "refused by the collector (gRPC UNAVAILABLE (14): overloaded)"),
        ["grpc ok but export failed"] = (new ExportAttempt(null, HttpStatusCode.OK, "OK", 0, null),
            ExportFailureCause.Other, "the exporter failed: Buffer exceeded"),
        ["no request"] = (null,
            ExportFailureCause.Other, "the exporter failed: Buffer exceeded"),
    };

    public static TheoryData<string> CaseNames() => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Each_failure_is_named_in_words_and_by_a_fixed_error_type(string what)
    {
        (ExportAttempt? attempt, string errorType, string words) = Cases[what];
        ExportFailureCause cause = ExportFailureCause.Of(attempt, "Buffer exceeded\n   at somewhere");
        Assert.True(errorType == cause.ErrorType, $"{what}: {cause}");
        Assert.Equal(words, cause.Description);
    }

    [Fact]
    public void The_endpoint_is_shown_without_user_information_or_query()
    {
        Assert.Equal("https://collector.example:4317/v1", OpenTelemetrySetup.OtlpExport.Shown(new Uri("https://user:s3cret@collector.example:4317/v1?token=abc")));
    }

    private static ExportAttempt Thrown(Exception e) => new(e, null, null, null, null);
}
