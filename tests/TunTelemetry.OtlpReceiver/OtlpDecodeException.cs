namespace TunTelemetry.OtlpReceiver;

/// <summary>Thrown by <see cref="OtlpMetricsDecoder"/> when the payload is not a well-formed OTLP metrics message.</summary>
public sealed class OtlpDecodeException : Exception
{
    public OtlpDecodeException()
    {
    }

    public OtlpDecodeException(string message)
        : base(message)
    {
    }

    public OtlpDecodeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
