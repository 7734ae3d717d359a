using System.Security.Cryptography.X509Certificates;

namespace TunTelemetry.OtlpReceiver;

/// <summary>Options for <see cref="OtlpMetricsReceiver"/>.</summary>
public sealed record OtlpMetricsReceiverOptions
{
    /// <summary>
    /// TCP port on 127.0.0.1 of the main endpoint (OTLP/HTTP in cleartext; everything with TLS); 0 picks
    /// an ephemeral port on first start, which is then kept across restarts.
    /// </summary>
    public int Port { get; init; }

    /// <summary>Cleartext only: port of the separate HTTP/2-only (h2c) gRPC endpoint; 0 = ephemeral. Ignored with TLS.</summary>
    public int GrpcPort { get; init; }

    /// <summary>Serve HTTPS (HTTP/1.1 + HTTP/2 negotiated via ALPN).</summary>
    public bool UseTls { get; init; }

    /// <summary>Server certificate (with private key) for TLS; when null and UseTls, one is created with <see cref="SelfSignedCertificate.Create"/>.</summary>
    public X509Certificate2? Certificate { get; init; }
}
