using Akka.Actor;
using Akka.Event;
using TunTelemetry.Devices;
using TunTelemetry.Hosting;
using TunTelemetry.Metrics;
using TunTelemetry.Netlink;

namespace TunTelemetry.Actors;

/// <summary>
/// A device's counters, read by something other than a poller (pollers hand theirs over in a <see cref="ReadingSlot"/>);
/// counted exactly like a poller's reading.
/// </summary>
public sealed record LinkStatsSampled(TunDevice Device, LinkStats64 Stats, TimeSpan PollDuration);

/// <summary>A poll failed; the poller is about to be restarted (or stopped, for <c>device_gone</c>).</summary>
public sealed record PollFailed(TunDevice Device, string Reason);

/// <summary>A per-device actor failed; the device supervisor restarts it after a backoff unless it gives up.</summary>
public sealed record PerDeviceActorRestarting(TunDevice Device, string ActorKind);

/// <summary>A per-device actor exceeded its retries and was given up.</summary>
public sealed record PerDeviceActorGaveUp(TunDevice Device, string ActorKind);

/// <summary>A device's actors have all stopped: forget its baseline and gauges.</summary>
public sealed record DeviceRetired(TunDevice Device);

/// <summary>How many devices the supervisor watches now.</summary>
public sealed record DevicesWatchedChanged(int Count);

/// <summary>Asks the aggregator for every device's last reading; answered with <see cref="DeviceReadings"/>.</summary>
public sealed class GetDeviceReadings
{
    public static readonly GetDeviceReadings Instance = new();

    private GetDeviceReadings()
    {
    }
}

/// <summary>The last reading of every device with a baseline, for the console view.</summary>
public sealed record DeviceReadings(IReadOnlyList<DeviceReading> Devices);

public sealed record DeviceReading(int IfIndex, string Name, LinkStats64 Last);

/// <summary>A link-state reading for the gauges.</summary>
public sealed record LinkStateObserved(TunDevice Device, LinkStateObservation State);

/// <summary>
/// Turns kernel counter readings into exact cumulative totals. It keeps the last reading of every device, so the
/// baseline outlives any poller restart: a restarted poller's first reading continues the series instead of counting
/// the kernel value again (double count) or starting a new baseline (lost growth). Baselines are keyed by ifindex: a
/// device re-created under the same name is a new device whose counters start from zero, and its growth is added to
/// the same series (a VPN reconnect must not look like a counter reset).
/// </summary>
/// <remarks>
/// A retired device's baseline goes at once; its series stay for <c>metrics.retain-deleted</c> and then leave the
/// export, with their memory. A device of that name seen again within that time continues them; one seen later starts
/// new series, counted from its kernel values in full (to a backend, an ordinary counter reset).
/// </remarks>
public sealed class MetricsAggregatorActor : ReceiveActor, IWithTimers
{
    private readonly TunDeviceMetrics _metrics;
    private readonly TimeSpan _retainDeleted;
    private readonly Dictionary<int, Baseline> _baselines = [];
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public MetricsAggregatorActor(TunDeviceMetrics metrics, TimeSpan retainDeleted)
    {
        _metrics = metrics;
        _retainDeleted = retainDeleted;
        Receive<LinkStatsReady>(OnReady);
        Receive<LinkStatsSampled>(m => Count(m.Device, m.Stats, m.PollDuration));
        Receive<PollFailed>(m => _metrics.SeriesFor(m.Device).CountFailure(m.Reason));
        Receive<PerDeviceActorRestarting>(m => _metrics.SeriesFor(m.Device).CountRestart());
        Receive<PerDeviceActorGaveUp>(m => _metrics.SeriesFor(m.Device).CountGaveUp());
        Receive<DeviceRetired>(OnRetired);
        Receive<DropSeries>(m =>
        {
            if (_metrics.DropSeries(m.Name, m.Generation))
            {
                _log.Debug("Series of {0} dropped after {1}", m.Name, _retainDeleted);
            }
        });
        Receive<DevicesWatchedChanged>(m => _metrics.SetDevicesWatched(m.Count));
        Receive<LinkStateObserved>(m => _metrics.SetLinkState(m.Device, m.State));
        Receive<GetDeviceReadings>(_ => Sender.Tell(new DeviceReadings(
            _baselines.Select(b => new DeviceReading(b.Key, b.Value.Name, b.Value.Last)).OrderBy(r => r.IfIndex).ToArray())));
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
        if (!_baselines.TryGetValue(device.IfIndex, out Baseline? baseline) || baseline.Name != device.Name)
        {
            // The device's first reading: its whole kernel value is growth of its name's series.
            baseline = new Baseline(device.Name, _metrics.SeriesFor(device), stats);
            _baselines[device.IfIndex] = baseline;
            baseline.Series.Add(stats);
        }
        else
        {
            baseline.Series.Add(LinkStatsDelta.Growth(baseline.Last, stats));
            baseline.Last = stats;
        }

        _metrics.RecordPollDuration(pollDuration);
    }

    private void OnRetired(DeviceRetired retired)
    {
        if (_baselines.TryGetValue(retired.Device.IfIndex, out Baseline? baseline) && baseline.Name == retired.Device.Name)
        {
            _baselines.Remove(retired.Device.IfIndex);
        }

        _metrics.RemoveLinkState(retired.Device);
        if (_metrics.DeviceRetired(retired.Device) is { } generation)
        {
            if (_retainDeleted <= TimeSpan.Zero)
            {
                _metrics.DropSeries(retired.Device.Name, generation); // no grace: gone from the next export
            }
            else
            {
                // Keyed by name: a later retirement of the same name restarts the grace period.
                Timers.StartSingleTimer(retired.Device.Name, new DropSeries(retired.Device.Name, generation), _retainDeleted);
            }
        }

        _log.Debug("Retired {0}", retired.Device);
    }

    private sealed record DropSeries(string Name, long Generation);

    private sealed class Baseline(string name, DeviceSeries series, LinkStats64 last)
    {
        public string Name { get; } = name;

        public DeviceSeries Series { get; } = series;

        public LinkStats64 Last { get; set; } = last;
    }
}
