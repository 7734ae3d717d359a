using System.IO.Compression;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace TunTelemetry.IntegrationTests.Otlp;

/// <summary>
/// A real OTLP/metrics receiver on loopback (Kestrel): gRPC (HTTP/2 cleartext, prior knowledge, on its own port, since
/// Kestrel speaks h2c only on an HTTP/2-only endpoint) and HTTP/protobuf on another. It decodes every export and can
/// be stopped and started again on the same ports to play a collector outage.
/// </summary>
public sealed class OtlpTestReceiver : IAsyncDisposable
{
    private const string GrpcPath = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
    private readonly object _gate = new();
    private readonly List<IReadOnlyList<ResourceMetrics>> _received = [];
    private readonly HashSet<string> _headers = [];
    private readonly List<int> _grpcMessageSizes = [];
    private readonly X509Certificate2? _certificate;
    private readonly IPAddress _address;
    private (int HttpStatus, int GrpcStatus, string GrpcMessage)? _refusal;
    private int _refused;
    private WebApplication? _app;
    private int _grpcPort;
    private int _httpPort;

    private OtlpTestReceiver(X509Certificate2? certificate, IPAddress address)
    {
        _certificate = certificate;
        _address = address;
    }

    /// <summary>With TLS the endpoints are https://localhost:PORT (the certificate's name); without, http://ADDRESS:PORT.</summary>
    public Uri GrpcEndpoint => new(_certificate is null ? $"http://{_address}:{_grpcPort}" : $"https://localhost:{_grpcPort}");

    public Uri HttpEndpoint => new(_certificate is null ? $"http://{_address}:{_httpPort}" : $"https://localhost:{_httpPort}");

    public int Exports
    {
        get { lock (_gate) { return _received.Count; } }
    }

    /// <param name="certificate">Serve TLS with this certificate (HTTP/2 through ALPN on the gRPC port).</param>
    /// <param name="address">
    /// Where to listen: loopback unless given (an agent in a test namespace reaches the receiver over a veth pair).
    /// </param>
    public static async Task<OtlpTestReceiver> StartAsync(X509Certificate2? certificate = null, IPAddress? address = null)
    {
        var receiver = new OtlpTestReceiver(certificate, address ?? IPAddress.Loopback);
        // Ports below the kernel's ephemeral range, so that while a test has the receiver stopped (an outage) no
        // outgoing connection on the host can take them before it starts again; another suite may take one between
        // the probe and the bind, so a few tries.
        for (int attempt = 1; ; attempt++)
        {
            receiver._grpcPort = Support.PrometheusServer.FreeLoopbackPort();
            receiver._httpPort = Support.PrometheusServer.FreeLoopbackPort();
            try
            {
                await receiver.StartAgainAsync().ConfigureAwait(false);
                return receiver;
            }
            catch (IOException) when (attempt < 5)
            {
                // taken meanwhile: other ports
            }
        }
    }

    /// <summary>Starts again on the same ports as before (after <see cref="StopAsync"/>).</summary>
    public async Task StartAgainAsync()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(_address, _grpcPort, o =>
            {
                o.Protocols = HttpProtocols.Http2;
                if (_certificate is not null)
                {
                    o.UseHttps(_certificate);
                }
            });
            kestrel.Listen(_address, _httpPort, o =>
            {
                o.Protocols = HttpProtocols.Http1AndHttp2;
                if (_certificate is not null)
                {
                    o.UseHttps(_certificate);
                }
            });
        });
        WebApplication app = builder.Build();
        app.MapPost(GrpcPath, HandleGrpcAsync);
        app.MapPost("/v1/metrics", HandleHttpAsync);
        await app.StartAsync().ConfigureAwait(false);
        var addresses = app.Urls.Select(u => new Uri(u).Port).ToArray();
        _grpcPort = addresses[0];
        _httpPort = addresses[1];
        _app = app;
    }

    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync().ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Answers every export with an error until <see cref="Accept"/>, as a collector that refuses the agent's key does:
    /// over HTTP with <paramref name="httpStatus"/>, over gRPC with a trailers-only answer carrying
    /// <paramref name="grpcStatus"/> and <paramref name="grpcMessage"/> (as gRPC servers send errors).
    /// </summary>
    public void Refuse(int httpStatus, int grpcStatus, string grpcMessage)
    {
        lock (_gate)
        {
            _refusal = (httpStatus, grpcStatus, grpcMessage);
        }
    }

    public void Accept()
    {
        lock (_gate)
        {
            _refusal = null;
        }
    }

    /// <summary>Exports refused so far (<see cref="Refuse"/>).</summary>
    public int Refused
    {
        get { lock (_gate) { return _refused; } }
    }

    public IReadOnlyList<IReadOnlyList<ResourceMetrics>> Received
    {
        get { lock (_gate) { return _received.ToArray(); } }
    }

    /// <summary>
    /// The length of every gRPC message received, as sent (before decompression): what a collector's
    /// <c>max_recv_msg_size_mib</c> (4 MiB by default) is compared with.
    /// </summary>
    public IReadOnlyList<int> GrpcMessageSizes
    {
        get { lock (_gate) { return _grpcMessageSizes.ToArray(); } }
    }

    /// <summary>The newest data point of a metric whose attributes include all of <paramref name="attributes"/>.</summary>
    public DataPoint? Latest(string metric, params (string Key, object Value)[] attributes)
    {
        foreach (IReadOnlyList<ResourceMetrics> export in Received.Reverse())
        {
            DataPoint? found = export.SelectMany(r => r.Metrics).Where(m => m.Name == metric).SelectMany(m => m.Points)
                .Where(p => attributes.All(a => p.Attributes.TryGetValue(a.Key, out object? v) && Equals(v, a.Value)))
                .OrderByDescending(p => p.TimeUnixNano).FirstOrDefault();
            if (found is not null)
            {
                return found;
            }
        }

        return null;
    }

    /// <summary>Every "name: value" request header seen on an export (to check OTEL_EXPORTER_OTLP_HEADERS arrives).</summary>
    public IReadOnlySet<string> Headers
    {
        get { lock (_gate) { return _headers.ToHashSet(); } }
    }

    public IReadOnlyDictionary<string, object>? LatestResource => Received.LastOrDefault()?.FirstOrDefault()?.Resource;

    public IEnumerable<string> DevicesOf(string metric) => Received.SelectMany(e => e).SelectMany(r => r.Metrics)
        .Where(m => m.Name == metric).SelectMany(m => m.Points)
        .Select(p => p.Attributes.TryGetValue("network.interface.name", out object? d) ? d as string : null).OfType<string>().Distinct();

    /// <summary>Polls until <paramref name="condition"/> holds, or fails with what was received.</summary>
    public async Task WaitForAsync(Func<OtlpTestReceiver, bool> condition, TimeSpan timeout, string what)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (!condition(this))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"waited {timeout.TotalSeconds:0}s for {what}; {Exports} exports received, metrics: "
                    + string.Join(", ", Received.SelectMany(e => e).SelectMany(r => r.Metrics).Select(m => m.Name).Distinct())
                    + "; the last export: " + DescribeLatestExport());
            }

            await Task.Delay(50).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Every data point of the last export, one per line, so a timed-out wait shows the state the agent was in rather
    /// than only which metrics exist.
    /// </summary>
    private string DescribeLatestExport()
    {
        IEnumerable<string> lines = (Received.LastOrDefault() ?? []).SelectMany(r => r.Metrics).SelectMany(m => m.Points.Select(p =>
            $"{m.Name}{{{string.Join(",", p.Attributes.Select(a => $"{a.Key}={a.Value}"))}}} = {p.AsInt?.ToString() ?? p.AsDouble?.ToString() ?? $"count {p.Count}"}"));
        return Environment.NewLine + string.Join(Environment.NewLine, lines.Take(200));
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    private (int HttpStatus, int GrpcStatus, string GrpcMessage)? TakeRefusal()
    {
        lock (_gate)
        {
            if (_refusal is { } refusal)
            {
                _refused++;
                return refusal;
            }

            return null;
        }
    }

    private async Task HandleGrpcAsync(HttpContext context)
    {
        RecordHeaders(context);
        byte[] body = await ReadAsync(context.Request.Body).ConfigureAwait(false);
        if (TakeRefusal() is { } refusal)
        {
            // Trailers-only: the status in the one HEADERS frame, no message (gRPC over HTTP/2, "Responses").
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["grpc-status"] = refusal.GrpcStatus.ToString(System.Globalization.CultureInfo.InvariantCulture);
            context.Response.Headers["grpc-message"] = Uri.EscapeDataString(refusal.GrpcMessage);
            return;
        }

        int offset = 0;
        while (offset + 5 <= body.Length)
        {
            bool compressed = body[offset] == 1;
            int length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(offset + 1));
            byte[] message = body.AsSpan(offset + 5, length).ToArray();
            lock (_gate)
            {
                _grpcMessageSizes.Add(length);
            }

            Record(compressed ? Gunzip(message) : message);
            offset += 5 + length;
        }

        context.Response.ContentType = "application/grpc";
        await context.Response.Body.WriteAsync(new byte[5]).ConfigureAwait(false); // one empty ExportMetricsServiceResponse
        context.Response.AppendTrailer("grpc-status", "0");
    }

    private async Task HandleHttpAsync(HttpContext context)
    {
        RecordHeaders(context);
        byte[] body = await ReadAsync(context.Request.Body).ConfigureAwait(false);
        if (TakeRefusal() is { } refusal)
        {
            context.Response.StatusCode = refusal.HttpStatus;
            return;
        }

        Record(context.Request.Headers.ContentEncoding == "gzip" ? Gunzip(body) : body);
        context.Response.ContentType = "application/x-protobuf";
    }

    private void RecordHeaders(HttpContext context)
    {
        lock (_gate)
        {
            foreach (KeyValuePair<string, Microsoft.Extensions.Primitives.StringValues> header in context.Request.Headers)
            {
                _headers.Add($"{header.Key.ToLowerInvariant()}: {header.Value}");
            }
        }
    }

    private void Record(byte[] message)
    {
        IReadOnlyList<ResourceMetrics> decoded = OtlpMetricsDecoder.Decode(message);
        lock (_gate)
        {
            _received.Add(decoded);
        }
    }

    private static async Task<byte[]> ReadAsync(Stream body)
    {
        using var buffer = new MemoryStream();
        await body.CopyToAsync(buffer).ConfigureAwait(false);
        return buffer.ToArray();
    }

    private static byte[] Gunzip(byte[] data)
    {
        using var input = new GZipStream(new MemoryStream(data), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }
}
