using TunTelemetry.Netlink;

namespace TunTelemetry.Metrics;

/// <summary>
/// Everything exported for one device name: the cumulative totals behind its counter series, summed over every
/// lifetime of the name within the grace period (a VPN that re-creates its device continues its series), and the
/// per-device self-metrics. Written by the aggregator only; read by the SDK's export thread, so each value is one
/// aligned 64-bit word written with <see cref="Volatile"/>, and a reader sees every total either before or after an
/// update, never torn.
/// </summary>
/// <remarks>
/// One of these lives per device for as long as the agent runs, so it holds only what the export needs: a total per
/// kernel field that an instrument reads (<see cref="SeriesLayout"/>: 8 of the 25 unless <c>metrics.detailed</c>), the
/// device's attributes once (each counter's attribute array is filled from them at export), and the watched
/// device's ifindex as a plain field. Per-series attribute arrays, all 25 totals and a set of ifindexes were about
/// 1.1 KB per device (docs/performance.md, "Export cost"; what the change gave: "Compact device series").
/// </remarks>
internal sealed class DeviceSeries
{
    private readonly SeriesLayout _layout;
    private readonly long[] _totals;
    private int _device; // ifindex of a watched device of this name; 0 (never an ifindex) when none
    private List<int>? _moreDevices; // more watched devices of the name at once: seen only while a rename settles
    // Made on first use, under a lock on _totals: most devices never fail a poll nor have an extension, and two empty
    // dictionaries per device were 1.6 MB at 10,000 devices.
    private Dictionary<string, long>? _failures;
    private Dictionary<(string Instrument, string Key), ExtensionSeries>? _extensions;
    private ExtensionSeries[] _extensionSnapshot = [];
    private long _restarts;
    private long _gaveUp;
    private volatile int _fieldCount;

    public DeviceSeries(string name, SeriesLayout layout, KeyValuePair<string, object?>[] deviceTags)
    {
        Name = name;
        _layout = layout;
        _totals = new long[layout.Fields.Length];
        DeviceTags = deviceTags;
    }

    public string Name { get; }

    /// <summary>The attributes that name the device: its name, and its namespace's inode and name when it has one.</summary>
    public KeyValuePair<string, object?>[] DeviceTags { get; }

    /// <summary>Fields the kernel sent in the first reading (24 or 25); 0 until a poll succeeded, so no series yet.</summary>
    public int FieldCount => _fieldCount;

    /// <summary>Whether a device of this name is watched; false while the series waits out its grace period.</summary>
    public bool Live => _device != 0;

    /// <summary>Counts retirements, so a grace period that ended for an earlier one cannot remove a revived series.</summary>
    public long Generation { get; private set; }

    /// <summary>The total of the field in <paramref name="slot"/> of the layout (<see cref="SeriesLayout.SlotOf"/>).</summary>
    public long Total(int slot) => Volatile.Read(ref _totals[slot]);

    public long Restarts => Volatile.Read(ref _restarts);

    public long GaveUp => Volatile.Read(ref _gaveUp);

    /// <summary>A device of this name is watched (again): the series is live, whatever grace period was running.</summary>
    public void Attach(int ifIndex)
    {
        if (_device == ifIndex || (_moreDevices?.Contains(ifIndex) ?? false))
        {
            return;
        }

        if (_device != 0)
        {
            (_moreDevices ??= []).Add(ifIndex);
            return;
        }

        _device = ifIndex;
        Generation++;
    }

    /// <summary>The device has been retired; returns whether no device of this name is watched any more.</summary>
    public bool Detach(int ifIndex)
    {
        if (_device == ifIndex)
        {
            _device = 0;
            if (_moreDevices is { Count: > 0 } more)
            {
                _device = more[^1];
                more.RemoveAt(more.Count - 1);
            }
        }
        else if (_moreDevices is null || !_moreDevices.Remove(ifIndex))
        {
            return false;
        }

        return !Live;
    }

    public void Add(in LinkStats64 growth)
    {
        LinkStats64Field[] fields = _layout.Fields;
        for (int slot = 0; slot < fields.Length; slot++)
        {
            LinkStats64Field field = fields[slot];
            if ((int)field >= growth.FieldCount)
            {
                continue;
            }

            ulong value = growth[field];
            if (value != 0)
            {
                // Saturates rather than wrapping: 2^63 packets is centuries at line rate.
                long sum = Volatile.Read(ref _totals[slot]) + (long)Math.Min(value, long.MaxValue);
                Volatile.Write(ref _totals[slot], sum < 0 ? long.MaxValue : sum);
            }
        }

        if (_fieldCount == 0)
        {
            _fieldCount = growth.FieldCount;
        }
    }

    public void CountFailure(string reason)
    {
        lock (_totals)
        {
            _failures ??= [];
            _failures[reason] = _failures.GetValueOrDefault(reason) + 1;
        }
    }

    public void CountRestart() => Volatile.Write(ref _restarts, _restarts + 1);

    public void CountGaveUp() => Volatile.Write(ref _gaveUp, _gaveUp + 1);

    /// <summary>
    /// The series of an extension's instrument with these attributes (the device's attributes first), made on first
    /// use. Aggregator only.
    /// </summary>
    public ExtensionSeries Extension(DeviceInstrument instrument, string key, IReadOnlyList<KeyValuePair<string, object?>>? attributes)
    {
        lock (_totals)
        {
            _extensions ??= [];
            if (!_extensions.TryGetValue((instrument.Name, key), out ExtensionSeries? series))
            {
                KeyValuePair<string, object?>[] tags = [.. DeviceTags, .. attributes ?? []];
                series = new ExtensionSeries(instrument, tags);
                _extensions[(instrument.Name, key)] = series;
                _extensionSnapshot = [.. _extensions.Values];
            }

            return series;
        }
    }

    /// <summary>Removes one extension series (it leaves the next export). Aggregator only.</summary>
    public bool EndExtension(string instrument, string key)
    {
        lock (_totals)
        {
            if (_extensions is null || !_extensions.Remove((instrument, key)))
            {
                return false;
            }

            _extensionSnapshot = [.. _extensions.Values];
            return true;
        }
    }

    /// <summary>Every extension series of this device, for the export thread (replaced, never changed, on a change).</summary>
    public ExtensionSeries[] Extensions => Volatile.Read(ref _extensionSnapshot);

    /// <summary>Poll failures by reason, for the export thread.</summary>
    public KeyValuePair<string, long>[] Failures()
    {
        if (Volatile.Read(ref _failures) is null)
        {
            return []; // never failed: no lock per device per export
        }

        lock (_totals)
        {
            return _failures!.ToArray(); // made on the first failure, never emptied
        }
    }
}
