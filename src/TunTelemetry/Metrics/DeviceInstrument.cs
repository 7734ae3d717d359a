using System.Reflection;
using System.Text.RegularExpressions;

namespace TunTelemetry.Metrics;

/// <summary>What a <see cref="DeviceInstrument"/> exports.</summary>
internal enum DeviceInstrumentKind
{
    /// <summary>
    /// A monotonic cumulative sum. Report the source's own cumulative value (a kernel counter, a process's CPU time);
    /// the aggregator adds its growth exactly as it does the poller's readings: the first report after the device
    /// appears counts in full, a value that goes down counts as growth from zero (a reset), and a restarted actor's
    /// first report continues from the last one instead of counting again.
    /// </summary>
    CumulativeCounter,

    /// <summary>A value that goes up and down (a queue count, a state); the last report is exported.</summary>
    Gauge,
}

/// <summary>
/// An instrument of a per-device extension, declared when the extension is registered
/// (<see cref="Hosting.TunTelemetryBuilder.AddPerDeviceActor(string, Func{Actors.PerDeviceActorContext, Akka.Actor.Props}, DeviceInstrument[])"/>).
/// Its series are reported with <see cref="Actors.DeviceMeasured"/> and carry the device's attributes
/// (<see cref="MetricNames.InterfaceName"/>) besides their own, and they follow the device-series lifecycle: they
/// leave the export <c>metrics.retain-deleted</c> after the device is gone, with the built-in series.
/// </summary>
/// <remarks>Made with <see cref="Counter"/> or <see cref="Gauge"/>.</remarks>
public sealed partial class DeviceInstrument
{
    private DeviceInstrument(string name, string unit, string description, DeviceInstrumentKind kind, int seriesPerDevice)
    {
        Name = Validate(name);
        Unit = unit ?? throw new ArgumentNullException(nameof(unit));
        Description = description ?? throw new ArgumentNullException(nameof(description));
        Kind = kind;
        SeriesPerDevice = seriesPerDevice >= 1
            ? seriesPerDevice
            : throw new ArgumentOutOfRangeException(nameof(seriesPerDevice), seriesPerDevice, "at least 1");
    }

    /// <summary>
    /// The instrument name (OpenTelemetry syntax: a letter, then up to 254 letters, digits, <c>_ . - /</c>); not one of
    /// the built-in names.
    /// </summary>
    public string Name { get; }

    /// <summary>The UCUM unit (<c>{queue}</c>, <c>By</c>, <c>s</c>).</summary>
    internal string Unit { get; }

    /// <summary>One line for the backend's metric description.</summary>
    internal string Description { get; }

    /// <summary>Counter or gauge.</summary>
    internal DeviceInstrumentKind Kind { get; }

    /// <summary>
    /// How many attribute sets one device reports at most (1 when the extension adds no attributes of its own); sizes
    /// the SDK's room for the instrument: see <see cref="CardinalityLimit"/>.
    /// </summary>
    internal int SeriesPerDevice { get; }

    public static DeviceInstrument Counter(string name, string unit, string description, int seriesPerDevice = 1) =>
        new(name, unit, description, DeviceInstrumentKind.CumulativeCounter, seriesPerDevice);

    public static DeviceInstrument Gauge(string name, string unit, string description, int seriesPerDevice = 1) =>
        new(name, unit, description, DeviceInstrumentKind.Gauge, seriesPerDevice);

    /// <summary>
    /// The SDK cardinality limit that gives this instrument room for <paramref name="maxDevices"/> devices' series
    /// (for a view's <c>MetricStreamConfiguration.CardinalityLimit</c>).
    /// </summary>
    public int CardinalityLimit(int maxDevices) => (SeriesPerDevice * maxDevices) + 16;

    private static string Validate(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!InstrumentName().IsMatch(name))
        {
            throw new ArgumentException(
                $"'{name}' is not an OpenTelemetry instrument name (a letter, then up to 254 letters, digits, _ . - /)", nameof(name));
        }

        if (typeof(MetricNames).GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static).Any(f => f.IsLiteral && Equals(f.GetRawConstantValue(), name)))
        {
            throw new ArgumentException($"'{name}' is a built-in TunTelemetry instrument", nameof(name));
        }

        return name;
    }

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_./-]{0,254}$")]
    private static partial Regex InstrumentName();
}
