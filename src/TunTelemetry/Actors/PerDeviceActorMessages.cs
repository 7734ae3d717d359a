using TunTelemetry.Devices;
using TunTelemetry.Metrics;

namespace TunTelemetry.Actors;

// What a per-device actor sends: to its supervisor (PerDeviceActorContext.Supervisor) whether it works and whether
// its device went; to the aggregator (PerDeviceActorContext.Aggregator) its measurements. These are the extension
// contract, so they live here with the context and not beside the actors that receive them.

/// <summary>
/// A per-device actor found its device gone (the kernel answered ENODEV): the supervisor stops the device's actors
/// rather than restart them.
/// </summary>
public sealed class DeviceVanished(TunDevice device)
{
    public TunDevice Device { get; } = device ?? throw new ArgumentNullException(nameof(device));

    public override string ToString() => $"DeviceVanished {{ {Device} }}";
}

/// <summary>
/// A per-device actor tells its supervisor (<see cref="PerDeviceActorContext.Supervisor"/>, with itself as the sender)
/// that it did its work, for example a poll that returned counters. Its earlier failures are then forgotten: the next
/// failure waits <c>backoff.min</c> again. Once after each start is enough.
/// </summary>
public sealed class PerDeviceActorSucceeded
{
    public static readonly PerDeviceActorSucceeded Instance = new();

    private PerDeviceActorSucceeded()
    {
    }

    public override string ToString() => "PerDeviceActorSucceeded";
}

/// <summary>
/// A per-device extension's measurement of one of its declared instruments (<see cref="DeviceInstrument"/>) for its
/// device. Counters take the source's cumulative value (counted exactly, as the poller's readings are); gauges the
/// current value. <paramref name="attributes"/> are the extension's own, beside the device's; each distinct set is a
/// series of its own. A report for an undeclared instrument, a negative counter value or an attribute named like a
/// device attribute is logged once and ignored.
/// </summary>
/// <param name="device">The device measured (<see cref="PerDeviceActorContext.Device"/>).</param>
/// <param name="instrument">The declared instrument's <see cref="DeviceInstrument.Name"/>.</param>
/// <param name="value">A counter's cumulative value, or a gauge's current one.</param>
/// <param name="attributes">The extension's own attributes, if any.</param>
public sealed class DeviceMeasured(TunDevice device, string instrument, long value, IReadOnlyList<KeyValuePair<string, object?>>? attributes = null)
{
    public TunDevice Device { get; } = device ?? throw new ArgumentNullException(nameof(device));

    public string Instrument { get; } = instrument ?? throw new ArgumentNullException(nameof(instrument));

    public long Value { get; } = value;

    public IReadOnlyList<KeyValuePair<string, object?>>? Attributes { get; } = attributes;

    public override string ToString() => $"DeviceMeasured {{ {Device}, {Instrument} = {Value}{PerDeviceActorMessageText.Attributes(Attributes)} }}";
}

/// <summary>
/// An extension's series with these attributes no longer exists (a process it described exited): it leaves the next
/// export. The device's other series stay.
/// </summary>
/// <param name="device">The device whose series ended.</param>
/// <param name="instrument">The declared instrument's <see cref="DeviceInstrument.Name"/>.</param>
/// <param name="attributes">The series' own attributes, as its <see cref="DeviceMeasured"/> reports carried them.</param>
public sealed class DeviceSeriesEnded(TunDevice device, string instrument, IReadOnlyList<KeyValuePair<string, object?>>? attributes = null)
{
    public TunDevice Device { get; } = device ?? throw new ArgumentNullException(nameof(device));

    public string Instrument { get; } = instrument ?? throw new ArgumentNullException(nameof(instrument));

    public IReadOnlyList<KeyValuePair<string, object?>>? Attributes { get; } = attributes;

    public override string ToString() => $"DeviceSeriesEnded {{ {Device}, {Instrument}{PerDeviceActorMessageText.Attributes(Attributes)} }}";
}

// Unhandled messages, dead letters and debug lines print a message by its ToString: these are classes (the 1.0
// surface), so they say their fields themselves, as records would.
internal static class PerDeviceActorMessageText
{
    public static string Attributes(IReadOnlyList<KeyValuePair<string, object?>>? attributes) =>
        attributes is null or { Count: 0 } ? "" : $", {string.Join(", ", attributes.Select(a => $"{a.Key}={a.Value}"))}";
}
