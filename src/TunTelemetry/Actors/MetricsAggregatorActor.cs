using Akka.Actor;
using Akka.Event;
using TunTelemetry.Devices;
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
/// Turns kernel counter readings into exact counter increments. It keeps the last reading of every device, so the
/// baseline outlives any poller restart: a restarted poller's first reading continues the series instead of counting
/// the kernel value again (double count) or starting a new baseline (lost growth). Keyed by ifindex: a device
/// re-created under the same name is a new device whose counters start from zero.
/// </summary>
public sealed class MetricsAggregatorActor : ReceiveActor
{
    private readonly TunDeviceMetrics _metrics;
    private readonly Dictionary<int, Baseline> _baselines = [];
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public MetricsAggregatorActor(TunDeviceMetrics metrics)
    {
        _metrics = metrics;
        Receive<LinkStatsReady>(OnReady);
        Receive<LinkStatsSampled>(m => Count(m.Device, m.Stats, m.PollDuration));
        Receive<PollFailed>(m => _metrics.CountPollFailure(m.Device.Name, m.Reason));
        Receive<PerDeviceActorRestarting>(m => _metrics.CountRestart(m.Device.Name));
        Receive<PerDeviceActorGaveUp>(m => _metrics.CountGaveUp(m.Device.Name));
        Receive<DeviceRetired>(OnRetired);
        Receive<DevicesWatchedChanged>(m => _metrics.SetDevicesWatched(m.Count));
        Receive<LinkStateObserved>(m => _metrics.SetLinkState(m.Device, m.State));
        Receive<GetDeviceReadings>(_ => Sender.Tell(new DeviceReadings(
            _baselines.Select(b => new DeviceReading(b.Key, b.Value.Name, b.Value.Last)).OrderBy(r => r.IfIndex).ToArray())));
    }

    public static Props Props(TunDeviceMetrics metrics) =>
        Akka.Actor.Props.Create(() => new MetricsAggregatorActor(metrics));

    private void OnReady(LinkStatsReady ready)
    {
        if (ready.Slot.TryTake(out LinkStats64 stats, out TimeSpan pollDuration))
        {
            Count(ready.Slot.Device, stats, pollDuration);
        }
    }

    private void Count(TunDevice device, in LinkStats64 stats, TimeSpan pollDuration)
    {
        bool first = !_baselines.TryGetValue(device.IfIndex, out Baseline? baseline) || baseline.Name != device.Name;
        LinkStats64? previous = first ? null : baseline!.Last;
        LinkStats64 growth = LinkStatsDelta.Growth(previous, stats);
        _metrics.AddGrowth(device.Name, growth, createSeries: first);
        _metrics.RecordPollDuration(pollDuration);

        if (first)
        {
            _baselines[device.IfIndex] = new Baseline(device.Name, stats);
        }
        else
        {
            baseline!.Last = stats;
        }
    }

    private void OnRetired(DeviceRetired retired)
    {
        if (_baselines.TryGetValue(retired.Device.IfIndex, out Baseline? baseline) && baseline.Name == retired.Device.Name)
        {
            _baselines.Remove(retired.Device.IfIndex);
        }

        _metrics.RemoveLinkState(retired.Device);
        _log.Debug("Retired {0}", retired.Device);
    }

    private sealed class Baseline(string name, LinkStats64 last)
    {
        public string Name { get; } = name;

        public LinkStats64 Last { get; set; } = last;
    }
}
