namespace TunTelemetry.Metrics;

/// <summary>
/// The attribute array of one counter binding's series (the device's attributes, then the binding's direction and
/// error type, in the SDK's order), refilled with each device's values as one export walks the devices: one array per
/// binding per export instead of one per series kept for as long as the device is.
/// </summary>
/// <remarks>
/// Refilling is safe because a listener sees a measurement's attributes only while it is told of that measurement: an
/// observable instrument hands each measurement to its listeners as a span before it asks the callback for the next
/// (<c>ObservableInstrument&lt;T&gt;.Observe</c> in dotnet/runtime), and the OpenTelemetry SDK copies the attributes
/// into its own storage the first time it sees a series. Each export makes its own arrays, so two readers collecting
/// at once (OTLP and Prometheus) never share one.
/// </remarks>
internal sealed class SeriesAttributes(KeyValuePair<string, object?>[] bindingTags)
{
    // Indexed by the number of device attributes (1 in the agent's own namespace, 3 with a namespace): an export of
    // --all-namespaces meets both shapes, and switching would otherwise lay the array out again for every device.
    private readonly Layout?[] _layouts = new Layout?[4];

    /// <summary>The array for the device with these attributes (sorted as <see cref="InSdkOrder"/> sorts them).</summary>
    public KeyValuePair<string, object?>[] Fill(KeyValuePair<string, object?>[] deviceTags)
    {
        Layout layout = LayoutFor(deviceTags);
        for (int i = 0; i < deviceTags.Length; i++)
        {
            layout.Tags[layout.DevicePositions[i]] = deviceTags[i];
        }

        return layout.Tags;
    }

    /// <summary>
    /// Sorts attributes by key, ordinally, as the OpenTelemetry SDK sorts them for a series' identity. The SDK keeps a
    /// series under the order it was given and, when that differs, under the sorted order too (AggregatorStore's
    /// lookup, OpenTelemetry .NET): given sorted, it keeps one lookup entry and one attribute copy per series, not two.
    /// </summary>
    public static KeyValuePair<string, object?>[] InSdkOrder(KeyValuePair<string, object?>[] tags)
    {
        Array.Sort(tags, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        return tags;
    }

    private Layout LayoutFor(KeyValuePair<string, object?>[] deviceTags)
    {
        int shape = Math.Min(deviceTags.Length, _layouts.Length - 1);
        if (_layouts[shape] is { } layout && layout.Fits(deviceTags))
        {
            return layout;
        }

        KeyValuePair<string, object?>[] tags = InSdkOrder([.. deviceTags, .. bindingTags]);
        int[] positions = new int[deviceTags.Length];
        for (int i = 0; i < deviceTags.Length; i++)
        {
            string key = deviceTags[i].Key;
            positions[i] = Array.FindIndex(tags, t => t.Key == key);
        }

        return _layouts[shape] = new Layout(tags, positions);
    }

    private sealed record Layout(KeyValuePair<string, object?>[] Tags, int[] DevicePositions)
    {
        public bool Fits(KeyValuePair<string, object?>[] deviceTags)
        {
            if (DevicePositions.Length != deviceTags.Length)
            {
                return false;
            }

            for (int i = 0; i < deviceTags.Length; i++)
            {
                if (Tags[DevicePositions[i]].Key != deviceTags[i].Key)
                {
                    return false;
                }
            }

            return true;
        }
    }
}
