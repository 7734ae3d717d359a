using System.Buffers.Binary;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace TunTelemetry.Perf;

/// <summary>
/// A local OTLP endpoint for the agent to export to during benchmarks: accepts every export, and writes how many
/// it received, their bytes, how many <c>tundev.txq.drops</c> series the last export held (devices exported: the
/// requests carrying that metric in a row), and when the first export arrived (Unix milliseconds: perf/footprint.sh's start-to-first-export).
/// OTLP/HTTP on one port and, when given a second, OTLP/gRPC (HTTP/2 cleartext) there: the systemd unit's protocol.
/// </summary>
public static class OtlpSink
{
    private const string GrpcPath = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

    public static async Task<int> RunAsync(int port, string statusFile, int? grpcPort = null)
    {
        long exports = 0, bytes = 0, lastSeries = 0, firstExportMs = 0;
        bool previousCarried = false;
        long previousAtMs = 0;
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, port);
            if (grpcPort is int grpc)
            {
                k.Listen(IPAddress.Loopback, grpc, o => o.Protocols = HttpProtocols.Http2);
            }
        });
        WebApplication app = builder.Build();
        byte[] marker = "tundev.txq.drops"u8.ToArray();
        var write = new SemaphoreSlim(1, 1);

        async Task RecordAsync(byte[] data)
        {
            Interlocked.CompareExchange(ref firstExportMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), 0);
            Interlocked.Increment(ref exports);
            Interlocked.Add(ref bytes, data.Length);
            // The agent sends a large export as several requests, one after another, and since OpenTelemetry 1.21 a
            // metric may span consecutive requests: those carrying the metric in a row add up to one export's count.
            // Requests of one export come back to back; an export of one request each interval starts a new count.
            bool carries = data.AsSpan().IndexOf(marker) >= 0;
            lock (marker)
            {
                long nowMs = Environment.TickCount64;
                if (carries)
                {
                    long series = CountSeries(data, marker);
                    bool sameExport = previousCarried && nowMs - previousAtMs < 250;
                    lastSeries = sameExport ? lastSeries + series : series;
                }

                previousCarried = carries;
                previousAtMs = nowMs;
            }

            await write.WaitAsync();
            try
            {
                await File.WriteAllTextAsync(statusFile,
                    $"exports={exports} bytes={bytes} txq_series_last={lastSeries} first_export_ms={firstExportMs}\n");
            }
            finally
            {
                write.Release();
            }
        }

        app.MapPost("/v1/metrics", async (HttpContext context) =>
        {
            await RecordAsync(await ReadBodyAsync(context));
            context.Response.ContentType = "application/x-protobuf";
        });
        app.MapPost(GrpcPath, async (HttpContext context) =>
        {
            // gRPC frames: a compression flag, a big-endian length, the message. The agent sends one, uncompressed.
            byte[] body = await ReadBodyAsync(context);
            int length = body.Length >= 5 ? BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(1)) : 0;
            await RecordAsync(body.AsSpan(Math.Min(5, body.Length), Math.Min(length, Math.Max(0, body.Length - 5))).ToArray());
            context.Response.ContentType = "application/grpc";
            await context.Response.Body.WriteAsync(new byte[5]); // one empty ExportMetricsServiceResponse
            context.Response.AppendTrailer("grpc-status", "0");
        });
        await app.RunAsync();
        return 0;
    }

    private static async Task<byte[]> ReadBodyAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        return body.ToArray();
    }

    // The metric name appears once per export; its data points follow it. Counting interface-name attributes after it
    // up to the next metric gives the devices exported, without a full protobuf decoder.
    private static long CountSeries(byte[] data, byte[] marker)
    {
        int at = data.AsSpan().IndexOf(marker);
        if (at < 0)
        {
            return 0;
        }

        ReadOnlySpan<byte> rest = data.AsSpan(at + marker.Length);
        int end = rest.IndexOf("system.network"u8);
        ReadOnlySpan<byte> metric = end >= 0 ? rest[..end] : rest;
        long count = 0;
        ReadOnlySpan<byte> key = "network.interface.name"u8;
        for (int i = metric.IndexOf(key); i >= 0; i = metric.IndexOf(key))
        {
            count++;
            metric = metric[(i + key.Length)..];
        }

        return count;
    }
}
