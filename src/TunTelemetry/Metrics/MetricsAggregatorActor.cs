using Akka.Actor;
using Akka.Event;
using TunTelemetry.Actors;
using TunTelemetry.Devices;
using TunTelemetry.Hosting;
using TunTelemetry.Netlink;
using TunTelemetry.Polling;
using TunTelemetry.Readers;

namespace TunTelemetry.Metrics;

/// <summary>A poll failed; the poller is about to be restarted (or stopped, for <c>device_gone</c>).</summary>
internal sealed record PollFailed(TunDevice Device, string Reason);

/// <summary>A per-device actor failed; the device supervisor restarts it after a backoff unless it gives up.</summary>
internal sealed record PerDeviceActorRestarting(TunDevice Device, string ActorKind);

/// <summary>A per-device actor exceeded its retries and was given up.</summary>
internal sealed record PerDeviceActorGaveUp(TunDevice Device, string ActorKind);

/// <summary>A device's actors have all stopped: forget its baseline and gauges.</summary>
internal sealed record DeviceRetired(TunDevice Device);

/// <summary>
/// How many devices the supervisor has found but does not watch now because their actors wait for file descriptors
/// (RLIMIT_NOFILE), in every namespace it runs actors for.
/// </summary>
internal sealed record DevicesWaitingForDescriptors(int Count);

/// <summary>How many devices the supervisor watches now.</summary>
internal sealed record DevicesWatchedChanged(int Count);

/// <summary>Asks the aggregator for every device's last reading; answered with <see cref="DeviceReadings"/>.</summary>
internal sealed class GetDeviceReadings
{
    public static readonly GetDeviceReadings Instance = new();

    private GetDeviceReadings()
    {
    }
}

/// <summary>The last reading of every device with a baseline, for the console view.</summary>
internal sealed record DeviceReadings(IReadOnlyList<DeviceReading> Devices);

internal sealed record DeviceReading(int IfIndex, string Name, LinkStats64 Last)
{
    /// <summary>The device's namespace, the agent's own included (ifindexes and names repeat across namespaces).</summary>
    internal DeviceNamespace Home { get; init; } = DeviceNamespace.Agents;

    /// <summary>How a view shows the device: its name, and <c>@</c> its namespace's name when it is another one.</summary>
    internal string DisplayName => Home.IsAgents ? Name : $"{Name}@{Home.Name}";
}

/// <summary>A link-state reading for the gauges.</summary>
internal sealed record LinkStateObserved(TunDevice Device, LinkStateObservation State);

/// <summary>
/// Turns kernel counter readings into exact cumulative totals. It keeps the last reading of every device, so the
/// baseline outlives any poller restart: a restarted poller's first reading continues the series instead of counting
/// the kernel value again (double count) or starting a new baseline (lost growth). Baselines are keyed by (namespace,
/// ifindex) and series by (namespace, name), since both repeat across network namespaces. By ifindex: a
/// device re-created under the same name is a new device whose counters start from zero, and its growth is added to
/// the same series (a VPN reconnect must not look like a counter reset).
/// </summary>
/// <remarks>
/// A retired device's baseline goes at once; its series stay for <c>metrics.retain-deleted</c> and then leave the
/// export, with their memory. A device of that name seen again within that time continues them; one seen later starts
/// new series, counted from its kernel values in full (to a backend, an ordinary counter reset).
/// </remarks>
internal sealed class MetricsAggregatorActor : ReceiveActor, IWithTimers
{
    private readonly TunDeviceMetrics _metrics;
    private readonly TimeSpan _retainDeleted;
    private readonly Dictionary<DeviceId, Baseline> _baselines = [];
    private readonly Dictionary<DeviceId, Dictionary<(string Instrument, string Key), long>> _extensionBaselines = [];
    private readonly HashSet<string> _rejectedReported = [];
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private long _renewalsSeen;

    public MetricsAggregatorActor(TunDeviceMetrics metrics, TimeSpan retainDeleted)
    {
        _metrics = metrics;
        _retainDeleted = retainDeleted;
        Receive<LinkStatsReady>(OnReady);
        Receive<PollFailed>(m => _metrics.SeriesFor(m.Device).CountFailure(m.Reason));
        Receive<PerDeviceActorRestarting>(m => _metrics.SeriesFor(m.Device).CountRestart());
        Receive<PerDeviceActorGaveUp>(m => _metrics.SeriesFor(m.Device).CountGaveUp());
        Receive<DeviceRetired>(OnRetired);
        Receive<DeviceMeasured>(OnMeasured);
        Receive<DeviceSeriesEnded>(m =>
        {
            string key = ExtensionSeries.Key(m.Attributes);
            _extensionBaselines.GetValueOrDefault(m.Device.Identity)?.Remove((m.Instrument, key));
            _metrics.SeriesFor(m.Device).EndExtension(m.Instrument, key);
        });
        Receive<DropSeries>(m =>
        {
            if (_metrics.DropSeries(m.Key, m.Generation))
            {
                _log.Debug("Series of {0} dropped after {1}", m.Key, _retainDeleted);
                NoteRenewal();
            }
        });
        Receive<DevicesWaitingForDescriptors>(m => _metrics.SetDevicesWaiting(m.Count));
        Receive<DevicesWatchedChanged>(m => _metrics.SetDevicesWatched(m.Count));
        Receive<LinkStateObserved>(m => _metrics.LinkStates.Set(m.Device, m.State, _metrics.DeviceTags(m.Device)));
        Receive<ReadersObserved>(_metrics.SetReaders);
        Receive<GetDeviceReadings>(_ => Sender.Tell(new DeviceReadings(
            _baselines.Select(b => new DeviceReading(b.Key.IfIndex, b.Value.Name, b.Value.Last) { Home = b.Value.Home })
                .OrderBy(r => !r.Home.IsAgents).ThenBy(r => r.Home.Inode).ThenBy(r => r.IfIndex).ToArray())));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="retainDeleted">
    /// How long a deleted device's series stay exported (<c>metrics.retain-deleted</c>); default as in
    /// <see cref="TunTelemetryOptions.RetainDeleted"/>.
    /// </param>
    public static Props Props(TunDeviceMetrics metrics, TimeSpan? retainDeleted = null)
    {
        TimeSpan retain = retainDeleted ?? TunTelemetryOptions.Default.RetainDeleted;
        return Akka.Actor.Props.Create(() => new MetricsAggregatorActor(metrics, retain));
    }

    private void OnReady(LinkStatsReady ready)
    {
        if (ready.Slot.TryTake(out LinkStats64 stats, out TimeSpan pollDuration))
        {
            Count(ready.Slot.Device, stats, pollDuration);
        }
    }

    private void Count(TunDevice device, in LinkStats64 stats, TimeSpan pollDuration)
    {
        if (!_baselines.TryGetValue(device.Identity, out Baseline? baseline) || baseline.Name != device.Name)
        {
            // The device's first reading: its whole kernel value is growth of its name's series.
            baseline = new Baseline(device.Name, _metrics.SeriesFor(device), stats) { Home = device.Home };
            _baselines[device.Identity] = baseline;
            baseline.Series.Add(stats);
            NoteRenewal();
        }
        else
        {
            baseline.Series.Add(LinkStatsDelta.Growth(baseline.Last, stats));
            baseline.Last = stats;
        }

        _metrics.RecordPollDuration(pollDuration);
    }

    private void OnMeasured(DeviceMeasured measured)
    {
        DeviceInstrument? instrument = _metrics.ExtensionInstrument(measured.Instrument);
        string? problem = instrument is null ? $"instrument '{measured.Instrument}' was not declared with AddPerDeviceActor"
            : instrument.Kind == DeviceInstrumentKind.CumulativeCounter && measured.Value < 0 ? $"counter '{measured.Instrument}' got a negative value"
            : measured.Attributes?.FirstOrDefault(a => a.Key == MetricNames.InterfaceName).Key is { } clash ? $"'{measured.Instrument}' reported the device attribute '{clash}' as its own"
            : null;
        if (problem is not null)
        {
            if (_rejectedReported.Add(problem))
            {
                _log.Warning("Ignored a measurement of {0}: {1}", measured.Device.Name, problem);
            }

            return;
        }

        string key = ExtensionSeries.Key(measured.Attributes);
        ExtensionSeries series = _metrics.SeriesFor(measured.Device).Extension(instrument!, key, measured.Attributes);
        if (instrument!.Kind == DeviceInstrumentKind.Gauge)
        {
            series.Set(measured.Value);
        }
        else
        {
            // The poller's rule (LinkStatsDelta): the first report of a device counts in full, a drop is a reset.
            if (!_extensionBaselines.TryGetValue(measured.Device.Identity, out Dictionary<(string, string), long>? baselines))
            {
                baselines = [];
                _extensionBaselines[measured.Device.Identity] = baselines;
            }

            long growth = baselines.TryGetValue((instrument.Name, key), out long last) && measured.Value >= last
                ? measured.Value - last
                : measured.Value;
            baselines[(instrument.Name, key)] = measured.Value;
            series.Add(growth);
        }

        NoteRenewal();
    }

    private void OnRetired(DeviceRetired retired)
    {
        _extensionBaselines.Remove(retired.Device.Identity);

        if (_baselines.TryGetValue(retired.Device.Identity, out Baseline? baseline) && baseline.Name == retired.Device.Name)
        {
            _baselines.Remove(retired.Device.Identity);
        }

        _metrics.LinkStates.Remove(retired.Device);
        if (_metrics.DeviceRetired(retired.Device) is { } generation)
        {
            var key = SeriesKey.Of(retired.Device);
            if (_retainDeleted <= TimeSpan.Zero)
            {
                _metrics.DropSeries(key, generation); // no grace: gone from the next export
                NoteRenewal();
            }
            else
            {
                // Keyed by name in its namespace: a later retirement of the same name there restarts the grace period.
                Timers.StartSingleTimer(key, new DropSeries(key, generation), _retainDeleted);
            }
        }

        _log.Debug("Retired {0}", retired.Device);
    }

    /// <summary>Says when the per-device instruments were made anew: every series' start time moves then.</summary>
    private void NoteRenewal()
    {
        long renewals = _metrics.SeriesStoreRenewals;
        if (renewals != _renewalsSeen)
        {
            _renewalsSeen = renewals;
            _log.Info("Renewed the per-device instruments to free the series of devices that left ({0} so far): " +
                "every device's series carries on at its value with a new start time, as after an agent restart", renewals);
        }
    }

    private sealed record DropSeries(SeriesKey Key, long Generation);

    private sealed class Baseline(string name, DeviceSeries series, LinkStats64 last)
    {
        public string Name { get; } = name;

        public DeviceNamespace Home { get; init; } = DeviceNamespace.Agents;

        public DeviceSeries Series { get; } = series;

        public LinkStats64 Last { get; set; } = last;
    }
}
