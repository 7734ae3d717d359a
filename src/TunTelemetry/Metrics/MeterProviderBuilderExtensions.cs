using OpenTelemetry.Metrics;

namespace TunTelemetry.Metrics;

public static class MeterProviderBuilderExtensions
{
    /// <summary>Exports TunTelemetry's meter (<see cref="TunDeviceMetrics.MeterName"/>).</summary>
    public static MeterProviderBuilder AddTunTelemetryInstrumentation(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddMeter(TunDeviceMetrics.MeterName);
    }
}
