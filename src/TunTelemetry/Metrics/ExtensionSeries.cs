namespace TunTelemetry.Metrics;

/// <summary>
/// One series of an extension's instrument for one device name: its attributes (the device's, then the extension's)
/// and its value, a cumulative total or a gauge's last report. Written by the aggregator, read by the export thread:
/// one aligned 64-bit word written with <see cref="Volatile"/>.
/// </summary>
internal sealed class ExtensionSeries(DeviceInstrument instrument, KeyValuePair<string, object?>[] tags)
{
    private long _value;

    public DeviceInstrument Instrument { get; } = instrument;

    public KeyValuePair<string, object?>[] Tags { get; } = tags;

    public long Value => Volatile.Read(ref _value);

    public void Set(long value) => Volatile.Write(ref _value, value);

    /// <summary>Adds growth, saturating rather than wrapping (as the poller's totals do).</summary>
    public void Add(long growth)
    {
        long sum = Volatile.Read(ref _value) + growth;
        Volatile.Write(ref _value, sum < 0 ? long.MaxValue : sum);
    }

    /// <summary>
    /// The attributes an extension reported, as one ordinal string key, so the same set in any order is one series.
    /// </summary>
    public static string Key(IReadOnlyList<KeyValuePair<string, object?>>? attributes)
    {
        if (attributes is null || attributes.Count == 0)
        {
            return string.Empty;
        }

        return string.Join('\u001f', attributes.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key}\u001e{a.Value}"));
    }
}
