using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TunTelemetry.OtlpReceiver;

/// <summary>Creates throwaway server certificates for TLS tests of the receiver.</summary>
public static class SelfSignedCertificate
{
    /// <summary>
    /// Creates a self-signed ECDSA P-256 server certificate (valid from 1 day ago for 7 days) with
    /// SANs for <paramref name="dnsName"/>, 127.0.0.1 and ::1, EKU serverAuth. The result is
    /// re-imported from a PFX so the private key is a regular (non-ephemeral) key Kestrel/SslStream
    /// can use on every platform.
    /// </summary>
    public static X509Certificate2 Create(string dnsName = "localhost")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dnsName);

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={dnsName}", key, HashAlgorithmName.SHA256);

        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(dnsName);
        if (!string.Equals(dnsName, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            san.AddDnsName("localhost");
        }

        san.AddIpAddress(IPAddress.Loopback);
        san.AddIpAddress(IPAddress.IPv6Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication")], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));

        DateTimeOffset now = DateTimeOffset.UtcNow;
        using X509Certificate2 ephemeral = request.CreateSelfSigned(now.AddDays(-1), now.AddDays(7));
        byte[] pfx = ephemeral.Export(X509ContentType.Pfx);
        return X509CertificateLoader.LoadPkcs12(pfx, password: null, X509KeyStorageFlags.Exportable);
    }

    /// <summary>The public certificate (no key) as PEM ("-----BEGIN CERTIFICATE-----").</summary>
    public static string ToPublicPem(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return certificate.ExportCertificatePem() + "\n";
    }

    /// <summary>
    /// Writes the public certificate PEM to <paramref name="path"/> (e.g. for
    /// OTEL_EXPORTER_OTLP_CERTIFICATE) and returns the path.
    /// </summary>
    public static string WritePublicPem(X509Certificate2 certificate, string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        File.WriteAllText(path, ToPublicPem(certificate));
        return path;
    }

    /// <summary>Writes the public certificate PEM to a new temp file and returns its path.</summary>
    public static string WritePublicPemToTempFile(X509Certificate2 certificate) =>
        WritePublicPem(certificate, Path.Combine(Path.GetTempPath(), $"otlp-receiver-{Guid.NewGuid():N}.pem"));
}
