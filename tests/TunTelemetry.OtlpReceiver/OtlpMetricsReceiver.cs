using System.Buffers.Binary;
using System.IO.Compression;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace TunTelemetry.OtlpReceiver;

/// <summary>
/// In-process OTLP/metrics collector for end-to-end tests, on 127.0.0.1. Serves OTLP/gRPC
/// (<see cref="GrpcMetricsPath"/>) and OTLP/HTTP protobuf (<see cref="HttpMetricsPath"/>); every
/// accepted metrics export is decoded with <see cref="OtlpMetricsDecoder"/> and recorded. Trace and
/// log exports are acknowledged and ignored.
/// <para>
/// Ports: with TLS there is ONE port (HTTP/1.1 and HTTP/2 negotiated by ALPN), so
/// <see cref="GrpcEndpoint"/> == <see cref="HttpEndpoint"/> == <see cref="Endpoint"/>. Without TLS
/// Kestrel cannot serve HTTP/1.1 and prior-knowledge h2c on one port (an Http1AndHttp2 cleartext
/// endpoint always picks HTTP/1.1; dotnet/aspnetcore#56984), so there are TWO ports:
/// <see cref="HttpEndpoint"/> (HTTP/1.1, for http/protobuf) and <see cref="GrpcEndpoint"/>
/// (HTTP/2-only h2c, for grpc). Use <see cref="EndpointFor"/> to pick by protocol.
/// </para>
/// </summary>
public sealed class OtlpMetricsReceiver : IAsyncDisposable
{
    public const string GrpcMetricsPath = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
    public const string HttpMetricsPath = "/v1/metrics";

    private const string GrpcTracesPath = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    private const string GrpcLogsPath = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
    private const int MaxBodyBytes = 64 * 1024 * 1024;
    private const int MaxDecompressedBytes = 256 * 1024 * 1024;
    private static readonly TimeSpan RebindTimeout = TimeSpan.FromSeconds(10);
    private static readonly byte[] EmptyGrpcMessage = [0, 0, 0, 0, 0];

    private readonly OtlpMetricsReceiverOptions _options;
    private readonly X509Certificate2? _certificate;
    private readonly bool _ownsCertificate;
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private readonly Lock _gate = new();
    private readonly List<ReceivedMetrics> _received = [];
    private readonly HashSet<string> _metricNames = new(StringComparer.Ordinal);
    private readonly List<string> _decodeErrors = [];

    private TaskCompletionSource _arrival = NewSignal();
    private long _sequence;
    private int _failuresRemaining;
    private int _failureStatusCode = 503;
    private int _rejectedCount;
    private int _ignoredCount;
    private WebApplication? _app;
    private int _port;
    private int _grpcPort;
    private bool _disposed;

    public OtlpMetricsReceiver(OtlpMetricsReceiverOptions? options = null)
    {
        _options = options ?? new OtlpMetricsReceiverOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(_options.Port, nameof(options));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(_options.Port, IPEndPoint.MaxPort, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(_options.GrpcPort, nameof(options));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(_options.GrpcPort, IPEndPoint.MaxPort, nameof(options));
        _port = _options.Port;
        _grpcPort = _options.UseTls ? 0 : _options.GrpcPort;
        if (_options.UseTls)
        {
            _certificate = _options.Certificate ?? SelfSignedCertificate.Create();
            _ownsCertificate = _options.Certificate is null;
            if (!_certificate.HasPrivateKey)
            {
                throw new ArgumentException("The TLS certificate must have a private key.", nameof(options));
            }
        }
    }

    /// <summary>Creates and starts a receiver.</summary>
    public static async Task<OtlpMetricsReceiver> StartNewAsync(
        OtlpMetricsReceiverOptions? options = null, CancellationToken cancellationToken = default)
    {
        var receiver = new OtlpMetricsReceiver(options);
        try
        {
            await receiver.StartAsync(cancellationToken).ConfigureAwait(false);
            return receiver;
        }
        catch
        {
            await receiver.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public bool IsRunning => Volatile.Read(ref _app) is not null;

    public bool UseTls => _options.UseTls;

    /// <summary>The server certificate when <see cref="UseTls"/> (the given one or a generated self-signed one).</summary>
    public X509Certificate2? Certificate => _certificate;

    /// <summary>
    /// Bound port of the main endpoint (HTTP/1.1 in cleartext; the only port with TLS). Fixed after
    /// the first successful start: restarts rebind the same port.
    /// </summary>
    public int Port => _port != 0 ? _port : throw NotStarted();

    /// <summary>Bound port for OTLP/gRPC: a separate HTTP/2-only (h2c) port in cleartext, <see cref="Port"/> with TLS.</summary>
    public int GrpcPort => _options.UseTls ? Port : (_grpcPort != 0 ? _grpcPort : throw NotStarted());

    /// <summary>Main endpoint, e.g. http://127.0.0.1:PORT/ (https with TLS); same as <see cref="HttpEndpoint"/>.</summary>
    public Uri Endpoint => HttpEndpoint;

    /// <summary>Base URL for OTLP/HTTP (protocol http/protobuf); append /v1/metrics or use <see cref="HttpMetricsEndpoint"/>.</summary>
    public Uri HttpEndpoint => new($"{Scheme}://127.0.0.1:{Port}/");

    /// <summary>Base URL for OTLP/gRPC (protocol grpc). In cleartext this is an HTTP/2-only (h2c prior-knowledge) port.</summary>
    public Uri GrpcEndpoint => new($"{Scheme}://127.0.0.1:{GrpcPort}/");

    /// <summary>Full OTLP/HTTP metrics URL, e.g. http://127.0.0.1:PORT/v1/metrics.</summary>
    public Uri HttpMetricsEndpoint => new(HttpEndpoint, HttpMetricsPath);

    /// <summary>The base endpoint to give an exporter using <paramref name="transport"/>.</summary>
    public Uri EndpointFor(OtlpTransport transport) =>
        transport == OtlpTransport.Grpc ? GrpcEndpoint : HttpEndpoint;

    private string Scheme => _options.UseTls ? "https" : "http";

    /// <summary>Number of accepted (decoded and recorded) metrics exports.</summary>
    public int RequestCount
    {
        get
        {
            lock (_gate)
            {
                return _received.Count;
            }
        }
    }

    /// <summary>Requests answered with an injected failure (<see cref="FailNextRequests"/>) or a decode error.</summary>
    public int RejectedRequestCount => Volatile.Read(ref _rejectedCount);

    /// <summary>Trace/log exports that were acknowledged but not decoded.</summary>
    public int IgnoredRequestCount => Volatile.Read(ref _ignoredCount);

    /// <summary>Messages of payloads that failed to decode (answered with 400 / INVALID_ARGUMENT).</summary>
    public IReadOnlyList<string> DecodeErrors
    {
        get
        {
            lock (_gate)
            {
                return [.. _decodeErrors];
            }
        }
    }

    /// <summary>Accepted exports in arrival order (snapshot).</summary>
    public IReadOnlyList<ExportMetricsRequest> Received
    {
        get
        {
            lock (_gate)
            {
                return [.. _received.Select(r => r.Request)];
            }
        }
    }

    /// <summary>Accepted exports with arrival metadata (snapshot).</summary>
    public IReadOnlyList<ReceivedMetrics> ReceivedExports
    {
        get
        {
            lock (_gate)
            {
                return [.. _received];
            }
        }
    }

    /// <summary>Every metric name seen so far (snapshot).</summary>
    public IReadOnlySet<string> MetricNames
    {
        get
        {
            lock (_gate)
            {
                return new HashSet<string>(_metricNames, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>Resource attributes of the most recent export (its last ResourceMetrics), or null.</summary>
    public IReadOnlyDictionary<string, object>? LatestResourceAttributes
    {
        get
        {
            lock (_gate)
            {
                for (int i = _received.Count - 1; i >= 0; i--)
                {
                    IReadOnlyList<ResourceMetrics> resources = _received[i].Request.ResourceMetrics;
                    if (resources.Count > 0)
                    {
                        return resources[^1].ResourceAttributes;
                    }
                }

                return null;
            }
        }
    }

    /// <summary>
    /// The newest data point of <paramref name="metricName"/> whose attributes contain all given
    /// pairs: newest export first, then highest TimeUnixNano within it. Numeric attribute values
    /// compare by value (int 5 matches the decoded long 5).
    /// </summary>
    public DataPoint? LatestPoint(string metricName, params (string Key, object Value)[] attributes)
    {
        ReceivedMetrics[] snapshot;
        lock (_gate)
        {
            snapshot = [.. _received];
        }

        for (int i = snapshot.Length - 1; i >= 0; i--)
        {
            DataPoint? best = LatestIn(snapshot[i], metricName, attributes);
            if (best is not null)
            {
                return best;
            }
        }

        return null;
    }

    /// <summary>
    /// Completes with the first accepted export (already received or arriving later) that satisfies
    /// <paramref name="predicate"/>; throws <see cref="TimeoutException"/> listing what was received.
    /// </summary>
    public async Task<ReceivedMetrics> WaitForAsync(
        Func<ReceivedMetrics, bool> predicate, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutCts.CancelAfter(timeout);
        int examined = 0;
        while (true)
        {
            ReceivedMetrics[] fresh;
            Task arrival;
            lock (_gate)
            {
                if (examined > _received.Count)
                {
                    examined = 0; // Clear() was called
                }

                fresh = [.. _received.Skip(examined)];
                examined = _received.Count;
                arrival = _arrival.Task;
            }

            foreach (ReceivedMetrics export in fresh)
            {
                if (predicate(export))
                {
                    return export;
                }
            }

            try
            {
                await arrival.WaitAsync(timeoutCts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"No OTLP metrics export matching the predicate arrived within {timeout}. {DescribeState()}");
            }
        }
    }

    /// <summary>
    /// Waits for a data point of <paramref name="metricName"/> with the given attributes that
    /// satisfies <paramref name="predicate"/> (null = any) and returns it (newest within the export).
    /// </summary>
    public async Task<DataPoint> WaitForPointAsync(
        string metricName,
        Func<DataPoint, bool>? predicate,
        TimeSpan timeout,
        params (string Key, object Value)[] attributes)
    {
        DataPoint? found = null;
        try
        {
            await WaitForAsync(
                export =>
                {
                    found = LatestIn(export, metricName, attributes, predicate);
                    return found is not null;
                },
                timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            string attrs = string.Join(", ", attributes.Select(a => $"{a.Key}={a.Value}"));
            throw new TimeoutException(
                $"No data point for metric '{metricName}' [{attrs}] matching the predicate arrived within {timeout}. {DescribeState()}");
        }

        return found!;
    }

    /// <summary>
    /// Makes the next <paramref name="count"/> export requests (either transport) fail. HTTP gets
    /// <paramref name="statusCode"/>; gRPC gets HTTP 200 with grpc-status mapped from it
    /// (503→UNAVAILABLE 14, 429→RESOURCE_EXHAUSTED 8, 504→DEADLINE_EXCEEDED 4, 400→INVALID_ARGUMENT 3,
    /// 401→UNAUTHENTICATED 16, 403→PERMISSION_DENIED 7, 404→UNIMPLEMENTED 12, other→INTERNAL 13).
    /// Failed requests are not recorded. Pass 0 to cancel.
    /// </summary>
    public void FailNextRequests(int count, int statusCode = 503)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(statusCode, 400);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(statusCode, 599);
        lock (_gate)
        {
            _failureStatusCode = statusCode;
            _failuresRemaining = count;
        }
    }

    /// <summary>Forgets everything received so far (counters of rejected/ignored requests are kept).</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _received.Clear();
            _metricNames.Clear();
            _decodeErrors.Clear();
        }
    }

    /// <summary>Starts listening (no-op if running). After a stop, rebinds the same port.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_app is not null)
            {
                return;
            }

            DateTime deadline = DateTime.UtcNow + RebindTimeout;
            while (true)
            {
                var bound = new List<ListenOptions>();
                WebApplication app = BuildApp(bound);
                try
                {
                    await app.StartAsync(cancellationToken).ConfigureAwait(false);

                    // Kestrel writes the actually bound endpoint back into each ListenOptions.
                    _port = bound[0].IPEndPoint!.Port;
                    if (bound.Count > 1)
                    {
                        _grpcPort = bound[1].IPEndPoint!.Port;
                    }

                    Volatile.Write(ref _app, app);
                    return;
                }
                catch (IOException) when (_port != 0 && DateTime.UtcNow < deadline)
                {
                    // Port still held (e.g. by a socket of the previous run): retry until the deadline.
                    await app.DisposeAsync().ConfigureAwait(false);
                    await Task.Delay(100, cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    await app.DisposeAsync().ConfigureAwait(false);
                    throw;
                }
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Stops listening and drops open connections (simulates a collector outage). Recorded data is kept.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            WebApplication? app = _app;
            if (app is null)
            {
                return;
            }

            Volatile.Write(ref _app, null);
            try
            {
                await app.StopAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                await app.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        await StopAsync().ConfigureAwait(false);
        _disposed = true;
        if (_ownsCertificate)
        {
            _certificate?.Dispose();
        }
    }

    private WebApplication BuildApp(List<ListenOptions> bound)
    {
        // Empty builder: no config files (no file watchers), no logging providers, no console lifetime.
        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(OtlpMetricsReceiver).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.WebHost.UseKestrelCore();
        if (_certificate is not null)
        {
            builder.WebHost.UseKestrelHttpsConfiguration();
        }

        builder.Services.AddSingleton<IHostLifetime, NoopHostLifetime>();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = MaxBodyBytes;
            kestrel.Listen(IPAddress.Loopback, _port, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                if (_certificate is not null)
                {
                    listen.UseHttps(_certificate);
                }

                bound.Add(listen);
            });
            if (_certificate is null)
            {
                // Cleartext gRPC needs an HTTP/2-only endpoint (prior knowledge, no ALPN).
                kestrel.Listen(IPAddress.Loopback, _grpcPort, listen =>
                {
                    listen.Protocols = HttpProtocols.Http2;
                    bound.Add(listen);
                });
            }
        });

        WebApplication app = builder.Build();
        app.Run(HandleAsync);
        return app;
    }

    private static InvalidOperationException NotStarted() => new("The receiver has not been started yet.");

    private async Task HandleAsync(HttpContext context)
    {
        HttpRequest request = context.Request;
        if (!HttpMethods.IsPost(request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }

        switch (request.Path.Value)
        {
            case GrpcMetricsPath:
                await HandleGrpcAsync(context, isMetrics: true).ConfigureAwait(false);
                break;
            case GrpcTracesPath or GrpcLogsPath:
                await HandleGrpcAsync(context, isMetrics: false).ConfigureAwait(false);
                break;
            case HttpMetricsPath:
                await HandleHttpAsync(context, isMetrics: true).ConfigureAwait(false);
                break;
            case "/v1/traces" or "/v1/logs":
                await HandleHttpAsync(context, isMetrics: false).ConfigureAwait(false);
                break;
            default:
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                break;
        }
    }

    private async Task HandleGrpcAsync(HttpContext context, bool isMetrics)
    {
        HttpRequest request = context.Request;
        HttpResponse response = context.Response;
        if (!HttpProtocol.IsHttp2(request.Protocol) || !response.SupportsTrailers())
        {
            response.StatusCode = StatusCodes.Status426UpgradeRequired;
            return;
        }

        if (request.ContentType is null || !request.ContentType.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase))
        {
            response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return;
        }

        byte[] body = await ReadBodyAsync(request, context.RequestAborted).ConfigureAwait(false);
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";

        if (TryTakeInjectedFailure(out int httpStatus))
        {
            Interlocked.Increment(ref _rejectedCount);
            SetGrpcStatus(response, MapToGrpcStatus(httpStatus), $"injected failure (HTTP {httpStatus})");
            return;
        }

        string? unframeError = TryUnframeGrpc(body, request.Headers["grpc-encoding"].ToString(), out byte[] payload, out int errorStatus);
        if (unframeError is not null)
        {
            RecordDecodeError("gRPC", unframeError);
            SetGrpcStatus(response, errorStatus, unframeError);
            return;
        }

        if (isMetrics)
        {
            try
            {
                Record(OtlpMetricsDecoder.Decode(payload), OtlpTransport.Grpc);
            }
            catch (OtlpDecodeException ex)
            {
                RecordDecodeError("gRPC", ex.Message);
                SetGrpcStatus(response, 3, ex.Message); // INVALID_ARGUMENT
                return;
            }
        }
        else
        {
            Interlocked.Increment(ref _ignoredCount);
        }

        await response.Body.WriteAsync(EmptyGrpcMessage, context.RequestAborted).ConfigureAwait(false);
        response.AppendTrailer("grpc-status", "0");
    }

    private async Task HandleHttpAsync(HttpContext context, bool isMetrics)
    {
        HttpRequest request = context.Request;
        HttpResponse response = context.Response;
        string mediaType = (request.ContentType ?? string.Empty).Split(';')[0].Trim();
        if (!string.Equals(mediaType, "application/x-protobuf", StringComparison.OrdinalIgnoreCase))
        {
            // OTLP/HTTP JSON is not supported by this receiver.
            response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return;
        }

        byte[] body = await ReadBodyAsync(request, context.RequestAborted).ConfigureAwait(false);
        if (TryTakeInjectedFailure(out int httpStatus))
        {
            Interlocked.Increment(ref _rejectedCount);
            response.StatusCode = httpStatus;
            return;
        }

        string encoding = request.Headers.ContentEncoding.ToString().Trim();
        byte[] payload;
        try
        {
            payload = Decompress(body, encoding) ?? throw new InvalidDataException($"unsupported Content-Encoding '{encoding}'");
        }
        catch (InvalidDataException ex)
        {
            RecordDecodeError("HTTP", ex.Message);
            response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        if (isMetrics)
        {
            try
            {
                Record(OtlpMetricsDecoder.Decode(payload), OtlpTransport.HttpProtobuf);
            }
            catch (OtlpDecodeException ex)
            {
                RecordDecodeError("HTTP", ex.Message);
                response.StatusCode = StatusCodes.Status400BadRequest;
                return;
            }
        }
        else
        {
            Interlocked.Increment(ref _ignoredCount);
        }

        // An empty ExportMetricsServiceResponse encodes to zero bytes.
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/x-protobuf";
        response.ContentLength = 0;
    }

    /// <summary>Returns null on success, else an error message plus the gRPC status to answer with.</summary>
    private static string? TryUnframeGrpc(byte[] body, string grpcEncoding, out byte[] payload, out int errorStatus)
    {
        payload = [];
        errorStatus = 3; // INVALID_ARGUMENT
        if (body.Length < 5)
        {
            return $"gRPC message shorter than the 5-byte prefix ({body.Length} bytes)";
        }

        byte compressed = body[0];
        uint length = BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(1, 4));
        if (length != (uint)(body.Length - 5))
        {
            return $"gRPC prefix declares {length} bytes but {body.Length - 5} follow (exactly one message expected)";
        }

        if (compressed == 0)
        {
            payload = body[5..];
            return null;
        }

        if (compressed != 1)
        {
            return $"invalid gRPC compressed flag {compressed}";
        }

        string encoding = grpcEncoding.Trim();
        if (encoding.Length == 0 || encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            return "gRPC message flagged compressed but grpc-encoding is identity/absent";
        }

        try
        {
            byte[]? inflated = Decompress(body[5..], encoding);
            if (inflated is null)
            {
                errorStatus = 12; // UNIMPLEMENTED
                return $"unsupported grpc-encoding '{encoding}'";
            }

            payload = inflated;
            return null;
        }
        catch (InvalidDataException ex)
        {
            return $"cannot decompress gRPC message: {ex.Message}";
        }
    }

    /// <summary>Decompresses gzip/deflate; identity/empty returns the input; unknown encodings return null.</summary>
    private static byte[]? Decompress(byte[] data, string encoding)
    {
        Stream? decompressor = encoding.ToLowerInvariant() switch
        {
            "" or "identity" => null,
            "gzip" => new GZipStream(new MemoryStream(data), CompressionMode.Decompress),
            "deflate" => new ZLibStream(new MemoryStream(data), CompressionMode.Decompress),
            _ => Stream.Null,
        };
        if (decompressor is null)
        {
            return data;
        }

        if (decompressor == Stream.Null)
        {
            return null;
        }

        using (decompressor)
        {
            using var output = new MemoryStream();
            byte[] buffer = new byte[81920];
            int read;
            while ((read = decompressor.Read(buffer, 0, buffer.Length)) > 0)
            {
                if (output.Length + read > MaxDecompressedBytes)
                {
                    throw new InvalidDataException("decompressed payload exceeds the size limit");
                }

                output.Write(buffer, 0, read);
            }

            return output.ToArray();
        }
    }

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var buffer = request.ContentLength is long length and >= 0 and <= MaxBodyBytes
            ? new MemoryStream((int)length)
            : new MemoryStream();
        await request.Body.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        return buffer.ToArray();
    }

    private static void SetGrpcStatus(HttpResponse response, int status, string message)
    {
        response.AppendTrailer("grpc-status", status.ToString(System.Globalization.CultureInfo.InvariantCulture));
        response.AppendTrailer("grpc-message", Uri.EscapeDataString(message));
    }

    private static int MapToGrpcStatus(int httpStatus) => httpStatus switch
    {
        400 => 3,
        401 => 16,
        403 => 7,
        404 => 12,
        429 => 8,
        503 => 14,
        504 => 4,
        _ => 13,
    };

    private bool TryTakeInjectedFailure(out int statusCode)
    {
        lock (_gate)
        {
            statusCode = _failureStatusCode;
            if (_failuresRemaining <= 0)
            {
                return false;
            }

            _failuresRemaining--;
            return true;
        }
    }

    private void Record(ExportMetricsRequest request, OtlpTransport transport)
    {
        TaskCompletionSource signal;
        lock (_gate)
        {
            _received.Add(new ReceivedMetrics(++_sequence, DateTimeOffset.UtcNow, transport, request));
            foreach (Metric metric in request.AllMetrics)
            {
                _metricNames.Add(metric.Name);
            }

            signal = _arrival;
            _arrival = NewSignal();
        }

        signal.TrySetResult();
    }

    private void RecordDecodeError(string transport, string message)
    {
        Interlocked.Increment(ref _rejectedCount);
        lock (_gate)
        {
            _decodeErrors.Add($"{transport}: {message}");
        }
    }

    private string DescribeState()
    {
        lock (_gate)
        {
            var text = new StringBuilder();
            text.Append(CultureInfoInvariant($"Accepted {_received.Count} export(s) (gRPC {_received.Count(r => r.Transport == OtlpTransport.Grpc)}, HTTP {_received.Count(r => r.Transport == OtlpTransport.HttpProtobuf)})"));
            text.Append(CultureInfoInvariant($"; rejected {_rejectedCount}; ignored trace/log {_ignoredCount}"));
            text.Append("; metric names: [").Append(string.Join(", ", _metricNames.Order(StringComparer.Ordinal))).Append(']');
            if (_decodeErrors.Count > 0)
            {
                text.Append("; decode errors: [").Append(string.Join(" | ", _decodeErrors)).Append(']');
            }

            text.Append(_app is null ? "; receiver is STOPPED" : "; receiver is running");
            if (_port != 0)
            {
                text.Append(" (http ").Append(HttpEndpoint).Append(", grpc ").Append(GrpcEndpoint).Append(')');
            }

            return text.ToString();
        }
    }

    private static string CultureInfoInvariant(FormattableString s) => FormattableString.Invariant(s);

    private static DataPoint? LatestIn(
        ReceivedMetrics export,
        string metricName,
        (string Key, object Value)[] attributes,
        Func<DataPoint, bool>? predicate = null)
    {
        DataPoint? best = null;
        foreach (Metric metric in export.Request.AllMetrics)
        {
            if (metric.Name != metricName)
            {
                continue;
            }

            foreach (DataPoint point in metric.DataPoints)
            {
                if (HasAttributes(point, attributes)
                    && (predicate is null || predicate(point))
                    && (best is null || point.TimeUnixNano >= best.TimeUnixNano))
                {
                    best = point;
                }
            }
        }

        return best;
    }

    private static bool HasAttributes(DataPoint point, (string Key, object Value)[] attributes)
    {
        foreach ((string key, object expected) in attributes)
        {
            if (!point.Attributes.TryGetValue(key, out object? actual) || !AttributeValueEquals(actual, expected))
            {
                return false;
            }
        }

        return true;
    }

    private static bool AttributeValueEquals(object actual, object? expected)
    {
        switch (actual, expected)
        {
            case (_, null):
                return false;
            case (long a, sbyte or byte or short or ushort or int or uint or long):
                return a == Convert.ToInt64(expected, System.Globalization.CultureInfo.InvariantCulture);
            case (long a, ulong u):
                return a >= 0 && (ulong)a == u;
            case (double a, float or double or decimal):
                return a == Convert.ToDouble(expected, System.Globalization.CultureInfo.InvariantCulture);
            case (string a, Enum e):
                return a == e.ToString();
            default:
                return actual.Equals(expected);
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed class NoopHostLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
