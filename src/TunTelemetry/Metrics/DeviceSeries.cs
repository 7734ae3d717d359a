using TunTelemetry.Netlink;

namespace TunTelemetry.Metrics;

/// <summary>
/// Everything exported for one device name: the cumulative totals behind its counter series, summed over every
/// lifetime of the name within the grace period (a VPN that re-creates its device continues its series), and the
/// per-device self-metrics. Written by the aggregator only; read by the SDK's export thread, so each value is one
/// aligned 64-bit word written with <see cref="Volatile"/>, and a reader sees every total either before or after an
/// update, never torn.
/// </summary>
internal sealed class DeviceSeries
{
    private readonly long[] _totals = new long[LinkStats64.MaxFieldCount];
    private readonly HashSet<int> _devices = [];
    // Made on first use, under a lock on _totals: most devices never fail a poll nor have an extension, and two empty
    // dictionaries per device were 1.6 MB at 10,000 devices.
    private Dictionary<string, long>? _failures;
    private Dictionary<(string Instrument, string Key), ExtensionSeries>? _extensions;
    private ExtensionSeries[] _extensionSnapshot = [];
    private long _restarts;
    private long _gaveUp;
    private volatile int _fieldCount;

    public DeviceSeries(string name, KeyValuePair<string, object?>[][] tagsPerBinding, KeyValuePair<string, object?>[] deviceTags)
    {
        Name = name;
        TagsPerBinding = tagsPerBinding;
        DeviceTags = deviceTags;
    }

    public string Name { get; }

    /// <summary>The attributes of each counter binding's series, made once per device.</summary>
    public KeyValuePair<string, object?>[][] TagsPerBinding { get; }

    /// <summary>The attributes that name the device: its name, and its namespace's inode and name when it has one.</summary>
    public KeyValuePair<string, object?>[] DeviceTags { get; }

    /// <summary>Fields the kernel sent in the first reading (24 or 25); 0 until a poll succeeded, so no series yet.</summary>
    public int FieldCount => _fieldCount;

    /// <summary>The watched devices (ifindexes) of this name; none while the series waits out its grace period.</summary>
    public bool Live => _devices.Count > 0;

    /// <summary>Counts retirements, so a grace period that ended for an earlier one cannot remove a revived series.</summary>
    public long Generation { get; private set; }

    public long Total(LinkStats64Field field) => Volatile.Read(ref _totals[(int)field]);

    public long Restarts => Volatile.Read(ref _restarts);

    public long GaveUp => Volatile.Read(ref _gaveUp);

    /// <summary>A device of this name is watched (again): the series is live, whatever grace period was running.</summary>
    public void Attach(int ifIndex)
    {
        if (_devices.Add(ifIndex) && _devices.Count == 1)
        {
            Generation++;
        }
    }

    /// <summary>The device has been retired; returns whether no device of this name is watched any more.</summary>
    public bool Detach(int ifIndex) => _devices.Remove(ifIndex) && _devices.Count == 0;

    public void Add(in LinkStats64 growth)
    {
        for (int i = 0; i < growth.FieldCount; i++)
        {
            ulong value = growth[(LinkStats64Field)i];
            if (value != 0)
            {
                // Saturates rather than wrapping: 2^63 packets is centuries at line rate.
                long sum = Volatile.Read(ref _totals[i]) + (long)Math.Min(value, long.MaxValue);
                Volatile.Write(ref _totals[i], sum < 0 ? long.MaxValue : sum);
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
