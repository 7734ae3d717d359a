using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace TunTelemetry.Perf;

/// <summary>
/// A local OTLP/HTTP endpoint for the agent to export to during benchmarks: accepts every export, and writes how many
/// it received, their bytes, and how many <c>tundev.txq.drops</c> series the last request carrying that metric held (devices exported).
/// </summary>
public static class OtlpSink
{
    public static async Task<int> RunAsync(int port, string statusFile)
    {
        long exports = 0, bytes = 0, lastSeries = 0;
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        WebApplication app = builder.Build();
        byte[] marker = "tundev.txq.drops"u8.ToArray();
        app.MapPost("/v1/metrics", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            byte[] data = body.ToArray();
            Interlocked.Increment(ref exports);
            Interlocked.Add(ref bytes, data.Length);
            // The agent sends a large export as several requests: only the one carrying the metric counts.
            if (data.AsSpan().IndexOf(marker) >= 0)
            {
                Interlocked.Exchange(ref lastSeries, CountSeries(data, marker));
            }

            await File.WriteAllTextAsync(statusFile, $"exports={exports} bytes={bytes} txq_series_last={lastSeries}\n");
            context.Response.ContentType = "application/x-protobuf";
        });
        await app.RunAsync();
        return 0;
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
