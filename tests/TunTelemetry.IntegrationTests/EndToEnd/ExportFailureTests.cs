using System.Globalization;
using System.Text.RegularExpressions;
using TunTelemetry.IntegrationTests.Otlp;
using TunTelemetry.IntegrationTests.Support;
using Xunit;
using Xunit.Abstractions;

namespace TunTelemetry.IntegrationTests.EndToEnd;

/// <summary>
/// The agent as systemd and the DaemonSet run it, with exports that fail for real: a port nobody listens on, a
/// receiver that refuses its key over gRPC (UNAUTHENTICATED) and over HTTP (401) and then accepts. The log says it once
/// with the cause and once when it is over, the failures are counted by cause on the Prometheus endpoint and in the
/// next good export, and systemd's status line follows.
/// </summary>
public sealed class ExportFailureTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private const string Secret = "k3y-9f31c0de";

    [Theory]
    [InlineData("grpc", false)]
    [InlineData("grpc", true)]
    [InlineData("http/protobuf", false)]
    [InlineData("http/protobuf", true)]
    public async Task Exports_to_a_port_nobody_listens_on_are_said_once_with_the_cause_counted_and_shown_to_systemd(string protocol, bool console)
    {
        using var notify = new NotifySocket();
        int prometheusPort = PrometheusServer.FreeLoopbackPort();
        DateTime started = DateTime.UtcNow;
        using AgentProcess agent = Start(notify, "http://127.0.0.1:1", protocol, console, "--prometheus-listen", $"127.0.0.1:{prometheusPort}");
        try
        {
            using var http = new HttpClient();
            await WaitAsync(async () => await FailuresAsync(http, prometheusPort, "connection_refused") >= 6, "six refused exports on /metrics");

            string line = $"OTLP export to http://127.0.0.1:1/ ({protocol}) failed: connection refused: nothing listens there.";
            Assert.Single(Lines(agent.Output), l => l.Contains(line, StringComparison.Ordinal));
            // At most one line a minute while it goes on.
            int minutes = (int)((DateTime.UtcNow - started).TotalSeconds / 60);
            Assert.True(Lines(agent.Output).Count(l => l.Contains("still failing", StringComparison.Ordinal)) <= minutes, agent.Output);
            Assert.DoesNotContain(Secret, agent.Output, StringComparison.Ordinal);
            if (console)
            {
                await agent.WaitForAsync(a => Regex.IsMatch(a.Output, @"\[OTLP export failed \d+x in a row: connection refused"), Patience, "the console view's count");
            }

            await notify.WaitForAsync(m => Regex.IsMatch(m, @"^STATUS=exporting to http://127\.0\.0\.1:1/: failing since \S+Z \(\d+ exports\): connection refused"),
                Patience, "saying exports fail");
            // Exports start before the actors do; a stop while the actor system still starts fails the host's start.
            await WaitAsync(async () => (await http.GetStringAsync(new Uri($"http://127.0.0.1:{prometheusPort}/metrics"))).Contains("tuntelemetry_devices_watched", StringComparison.Ordinal),
                "the agent's actors started");
            Assert.Equal(0, agent.Terminate(Patience));
        }
        finally
        {
            output.WriteLine(agent.Output);
        }
    }

    [Theory]
    [InlineData("grpc", false, "authentication refused by the collector (gRPC UNAUTHENTICATED (16): invalid API key)")]
    [InlineData("http/protobuf", true, "authentication refused by the collector (HTTP 401 Unauthorized)")]
    public async Task A_collector_that_refuses_the_key_then_accepts_it_gets_one_line_each_way_and_the_count_arrives_with_the_next_export(
        string protocol, bool console, string cause)
    {
        using var notify = new NotifySocket();
        await using OtlpTestReceiver receiver = await OtlpTestReceiver.StartAsync();
        receiver.Refuse(httpStatus: 401, grpcStatus: 16, grpcMessage: "invalid API key");
        Uri endpoint = protocol == "grpc" ? receiver.GrpcEndpoint : receiver.HttpEndpoint;
        using AgentProcess agent = Start(notify, endpoint.ToString().TrimEnd('/'), protocol, console);
        try
        {
            await receiver.WaitForAsync(r => r.Refused >= 4, Patience, "four refused exports");
            await agent.WaitForOutputAsync(cause, Patience);
            // One log line (the console view's header repeats the cause in each block: it is not the log).
            Assert.Single(Lines(agent.Output), l => l.Contains(" warn: ", StringComparison.Ordinal) && l.Contains(cause, StringComparison.Ordinal));
            Assert.Contains("Check the credentials the collector expects (OTEL_EXPORTER_OTLP_HEADERS", agent.Output, StringComparison.Ordinal);
            Assert.DoesNotContain(Secret, agent.Output, StringComparison.Ordinal);
            await notify.WaitForAsync(m => m.StartsWith("STATUS=exporting to ", StringComparison.Ordinal) && m.EndsWith(cause, StringComparison.Ordinal),
                Patience, "saying exports fail and why");

            receiver.Accept();
            await receiver.WaitForAsync(r => r.Latest("tuntelemetry.export.failures", ("error.type", "unauthenticated")) is not null,
                Patience, "the failure count in the first good export");
            long counted = receiver.Latest("tuntelemetry.export.failures", ("error.type", "unauthenticated"))!.AsInt!.Value;
            Assert.InRange(counted, 4, receiver.Refused); // every refused export, counted once

            await agent.WaitForOutputAsync("succeeded again after", Patience);
            string recovery = Assert.Single(Lines(agent.Output), l => l.Contains("succeeded again after", StringComparison.Ordinal));
            Assert.Contains("failed exports); the totals are sent again (cumulative temporality", recovery, StringComparison.Ordinal);
            Assert.Matches(@"\((\d+) failed exports\)", recovery);
            Assert.True(int.Parse(Regex.Match(recovery, @"\((\d+) failed exports\)").Groups[1].Value, CultureInfo.InvariantCulture) >= 4, recovery);
            await notify.WaitForAsync(m => m == $"STATUS=exporting to {endpoint}: ok", Patience, "saying exports go out again");
            Assert.True(receiver.Headers.Contains($"api-key: {Secret}"), "the header reached the collector");
            // Exports start before the actors do; a stop while the actor system still starts fails the host's start.
            await receiver.WaitForAsync(r => r.Latest("tuntelemetry.devices.watched") is not null, Patience, "the agent's actors started");
            Assert.Equal(0, agent.Terminate(Patience));
        }
        finally
        {
            output.WriteLine(agent.Output);
        }
    }

    private static AgentProcess Start(NotifySocket notify, string endpoint, string protocol, bool console, params string[] more)
    {
        var environment = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = protocol,
            ["OTEL_EXPORTER_OTLP_HEADERS"] = $"api-key={Secret}",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "300",
            ["NOTIFY_SOCKET"] = notify.Path,
        };
        // No device of the host's: an export still carries the agent's own metrics.
        return AgentProcess.Start(environment,
            ["run", console ? "--console" : "--no-console", "--poll-interval", "300ms", "--include", "^tt-no-such-device$", .. more]);
    }

    private static string[] Lines(string text) => text.Split('\n');

    private static async Task<long> FailuresAsync(HttpClient http, int port, string errorType)
    {
        try
        {
            string text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
            Match found = Regex.Match(text, $@"^tuntelemetry_export_failures_total\{{[^}}]*error_type=""{errorType}""[^}}]*\}} (\d+)", RegexOptions.Multiline);
            return found.Success ? long.Parse(found.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        }
        catch (HttpRequestException)
        {
            return 0; // not listening yet
        }
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, string what)
    {
        DateTime deadline = DateTime.UtcNow + Patience;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"waited {Patience} for {what}");
            }

            await Task.Delay(100);
        }
    }
}
