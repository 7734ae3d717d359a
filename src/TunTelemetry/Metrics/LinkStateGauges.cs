using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using TunTelemetry.Devices;
using TunTelemetry.Netlink;

namespace TunTelemetry.Metrics;

/// <summary>The state one link-state observation leaves for the gauges.</summary>
/// <param name="Up">Administratively up with carrier (<see cref="LinkDescription.IsUpWithCarrier"/>).</param>
/// <param name="Queues">Enabled and disabled queues of a multi-queue TUN device; null for others (the kernel says nothing).</param>
internal sealed record LinkStateObservation(uint Mtu, uint TxQueueLength, LinkOperState OperState, bool Up = false,
    (uint Enabled, uint Disabled)? Queues = null);

/// <summary>
/// The <c>tundev.link.*</c> gauges (MTU, txqueuelen, operational state, up, TUN queues): the last observation of each
/// device, written by the aggregator, read by the export thread, one entry per device made once with its attributes.
/// </summary>
internal sealed class LinkStateGauges
{
    private readonly ConcurrentDictionary<DeviceId, LinkStateEntry> _linkStates = new();

    public void Set(TunDevice device, LinkStateObservation state, KeyValuePair<string, object?>[] deviceTags)
    {
        // The entry, with its attribute arrays, is made once per device; an observation only replaces its state.
        if (_linkStates.TryGetValue(device.Identity, out LinkStateEntry? entry) && entry.Device == device)
        {
            entry.State = state;
        }
        else
        {
            _linkStates[device.Identity] = new LinkStateEntry(device, state, deviceTags);
        }
    }

    public void Remove(TunDevice device) => _linkStates.TryRemove(device.Identity, out _);

    public void CreateInstruments(Meter meter)
    {
        meter.CreateObservableGauge(MetricNames.LinkMtu, () => Observe(s => s.Mtu), "By", "Device MTU.");
        meter.CreateObservableGauge(MetricNames.LinkTxQueueLength, () => Observe(s => s.TxQueueLength), "{packet}",
            "Device TX queue length (txqueuelen): packets queued before the kernel starts dropping.");
        meter.CreateObservableGauge(MetricNames.LinkOperState, () => Observe(s => (long)s.OperState), "1",
            "RFC 2863 operational state (IF_OPER_*): 0 unknown, 2 down, 5 dormant, 6 up.");

        // A count of devices (1 or 0) rather than unit 1: the collector's Prometheus exporter appends _ratio to gauges
        // of unit 1, and the names would then differ between its path and our own /metrics.
        meter.CreateObservableGauge(MetricNames.LinkUp, () => Observe(s => s.Up ? 1 : 0), "{device}",
            "1 when the device is up and has carrier (IFF_UP and IFF_LOWER_UP or IFF_RUNNING; a TUN device has carrier while a process holds it), else 0.");
        meter.CreateObservableGauge(MetricNames.LinkQueues, ObserveQueues, "{queue}",
            "Queues of a multi-queue TUN/TAP device by state: enabled (attached) or disabled (detached with TUNSETQUEUE).");
    }

    // Enumerates the dictionary itself: its Values property would copy every entry into a new list per callback.
    private IEnumerable<Measurement<long>> Observe(Func<LinkStateObservation, long> value)
    {
        foreach (KeyValuePair<DeviceId, LinkStateEntry> pair in _linkStates)
        {
            LinkStateEntry entry = pair.Value;
            yield return SharedTagsMeasurement.Create(value(entry.State), entry.Tags);
        }
    }

    private IEnumerable<Measurement<long>> ObserveQueues()
    {
        foreach (KeyValuePair<DeviceId, LinkStateEntry> pair in _linkStates)
        {
            LinkStateEntry entry = pair.Value;
            if (entry.State.Queues is { } queues)
            {
                KeyValuePair<string, object?>[] tags = entry.Tags;
                yield return new Measurement<long>(queues.Enabled, [.. tags, new(MetricNames.QueueState, MetricNames.QueueEnabled)]);
                yield return new Measurement<long>(queues.Disabled, [.. tags, new(MetricNames.QueueState, MetricNames.QueueDisabled)]);
            }
        }
    }

    /// <summary>A device's link state for the gauges, with its attributes made once.</summary>
    private sealed class LinkStateEntry(TunDevice device, LinkStateObservation state, KeyValuePair<string, object?>[] tags)
    {
        private LinkStateObservation _state = state;

        public TunDevice Device { get; } = device;

        public KeyValuePair<string, object?>[] Tags { get; } = tags;

        /// <summary>Written by the aggregator, read by the export thread: one reference, never torn.</summary>
        public LinkStateObservation State
        {
            get => Volatile.Read(ref _state);
            set => Volatile.Write(ref _state, value);
        }
    }
}
