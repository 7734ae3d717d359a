using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace TunTelemetry.Metrics;

/// <summary>
/// Makes a <see cref="Measurement{T}"/> that refers to a series' own attribute array instead of a copy of it. Every
/// public constructor of <see cref="Measurement{T}"/> copies the attributes it is given, so an observable callback
/// that reports every series at every export allocates one array per series per export: 90,000 arrays (about 5 MB)
/// per export at 10,000 devices, and the garbage collections they cause (docs/performance.md, "Export cost").
/// </summary>
/// <remarks>
/// Sharing is safe because a listener reads a measurement's attributes only while it is told of that measurement,
/// before the callback makes the next (the OpenTelemetry SDK copies them into its own storage the first time it sees a
/// series), so an array may even be refilled for the next series (<see cref="SeriesAttributes"/>). The attribute field is reached with
/// <see cref="UnsafeAccessorAttribute"/>; if a later runtime has no such field, the first call falls back to the
/// copying constructor for good, so the cost comes back but nothing breaks (<see cref="SharesAttributes"/> says
/// which, and a test checks it on the runtime we ship with).
/// </remarks>
internal static class SharedTagsMeasurement
{
    private static volatile bool s_copying;

    /// <summary>Whether measurements made here refer to the given arrays (false: the runtime's field was not found).</summary>
    public static bool SharesAttributes => !s_copying;

    public static Measurement<long> Create(long value, KeyValuePair<string, object?>[] tags)
    {
        if (!s_copying)
        {
            try
            {
                var measurement = new Measurement<long>(value);
                AttributesOf(ref measurement) = tags;
                return measurement;
            }
            catch (MissingFieldException)
            {
                s_copying = true;
            }
        }

        return new Measurement<long>(value, tags);
    }

    // The field behind Measurement<T>.Tags in System.Diagnostics.DiagnosticSource (dotnet/runtime,
    // src/libraries/System.Diagnostics.DiagnosticSource/src/System/Diagnostics/Metrics/Measurement.cs).
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_tags")]
    private static extern ref KeyValuePair<string, object?>[] AttributesOf(ref Measurement<long> measurement);
}
