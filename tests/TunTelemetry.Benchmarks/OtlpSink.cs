using System.IO.Compression;
using System.Net;
using System.Net.Sockets;

namespace TunTelemetry.Benchmarks;

/// <summary>
/// A local OTLP/HTTP receiver for the agent's exports (OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf): accepts
/// POST /v1/metrics, answers 200 with an empty ExportMetricsServiceResponse, and remembers how many exports arrived,
/// their bytes, and which <c>tbN</c> devices the last one carried (so a run proves every device was exported).
/// Listens on 127.0.0.1 only.
/// </summary>
internal sealed class OtlpSink : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;
    private readonly string _prefix;
    private long _exports;
    private long _bytes;
    private int _lastDevices;

    public OtlpSink(string devicePrefix)
    {
        _prefix = devicePrefix;
        Port = FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }

    public string Endpoint => $"http://127.0.0.1:{Port}";

    public long Exports => Interlocked.Read(ref _exports);

    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Distinct devices named in the most recent export.</summary>
    public int LastExportDevices => Volatile.Read(ref _lastDevices);

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(2));
        }
        catch (AggregateException)
        {
            // listener closed under the pending accept
        }
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            try
            {
                using var body = new MemoryStream();
                Stream input = context.Request.InputStream;
                if (string.Equals(context.Request.Headers["Content-Encoding"], "gzip", StringComparison.OrdinalIgnoreCase))
                {
                    input = new GZipStream(input, CompressionMode.Decompress);
                }

                await input.CopyToAsync(body).ConfigureAwait(false);
                if (context.Request.HttpMethod == "POST" && context.Request.Url?.AbsolutePath == "/v1/metrics")
                {
                    Interlocked.Increment(ref _exports);
                    Interlocked.Add(ref _bytes, context.Request.ContentLength64 > 0 ? context.Request.ContentLength64 : body.Length);
                    Volatile.Write(ref _lastDevices, CountDevices(body.GetBuffer().AsSpan(0, (int)body.Length)));
                    context.Response.StatusCode = 200;
                    context.Response.ContentType = "application/x-protobuf";
                }
                else
                {
                    context.Response.StatusCode = 404;
                }

                context.Response.ContentLength64 = 0;
                context.Response.Close();
            }
            catch (Exception e) when (e is HttpListenerException or IOException or InvalidDataException)
            {
                context.Response.Abort();
            }
        }
    }

    /// <summary>
    /// Counts distinct device names in an OTLP protobuf body: each is an AnyValue string_value (tag 0x0a, one length
    /// byte, then the bytes), matched as <c>prefix</c> followed by digits only.
    /// </summary>
    private int CountDevices(ReadOnlySpan<byte> body)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        byte p0 = (byte)_prefix[0];
        for (int i = 2; i < body.Length; i++)
        {
            if (body[i] != p0 || body[i - 2] != 0x0a)
            {
                continue;
            }

            int length = body[i - 1];
            if (length <= _prefix.Length || length > 15 || i + length > body.Length)
            {
                continue;
            }

            ReadOnlySpan<byte> candidate = body.Slice(i, length);
            bool match = true;
            for (int j = 0; j < length && match; j++)
            {
                match = j < _prefix.Length ? candidate[j] == _prefix[j] : candidate[j] is >= (byte)'0' and <= (byte)'9';
            }

            if (match)
            {
                names.Add(System.Text.Encoding.ASCII.GetString(candidate));
            }
        }

        return names.Count;
    }

    public static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        int port = ((IPEndPoint)socket.LocalEndpoint).Port;
        socket.Stop();
        return port;
    }
}
