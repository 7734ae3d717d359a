using System.Diagnostics;
using Akka.Actor;
using TunTelemetry.Actors;
using TunTelemetry.Devices;
using TunTelemetry.Metrics;
using TunTelemetry.Netlink;

namespace TunTelemetry.Polling;

/// <summary>
/// Polls one device's <c>rtnl_link_stats64</c> over its own netlink socket: immediately on start, then every
/// poll interval, and hands each changed reading to the aggregator through its <see cref="ReadingSlot"/>. It keeps
/// no counting state, so restarting it can neither lose nor repeat growth.
/// </summary>
/// <remarks>
/// A socket failure throws, and the device supervisor starts a new one with a fresh socket after a backoff (the old
/// one is closed in <see cref="PostStop"/>, which runs on every stop and restart) and logs it. The first good poll of
/// each incarnation tells the supervisor (<see cref="PerDeviceActorSucceeded"/>), so a single failure between good
/// polls never backs off further than <c>backoff.min</c>. A device that is gone is not a failure to retry: it tells
/// the supervisor, which stops watching it.
/// <para>
/// Not a <see cref="ReceiveActor"/> with <see cref="IWithTimers"/>, the usual shape: a host has one poller per
/// device, and that shape costs about 600 bytes more per actor (live heap over 10,000 actors of each shape:
/// <c>TunTelemetry.Perf actor-footprint 10000</c>; most likely its match handlers and timer table). A poller handles one
/// message and keeps one timer for life, so <see cref="UntypedActor.OnReceive"/> and one cancellable repeated tell do
/// the same job. Unlike a timer, a cancel does not drop a tick already queued: under a parent that restarts it (the
/// device supervisor replaces failed actors instead), that tick reaches the new incarnation as one extra poll, which
/// counts nothing twice because readings are cumulative.
/// </para>
/// </remarks>
internal sealed class DevicePollerActor : UntypedActor
{
    private readonly TunDevice _device;
    private readonly IActorRef _aggregator;
    private readonly IActorRef _supervisor;
    private readonly LinkStatsReaderFactory _openReader;
    private readonly TimeSpan _pollInterval;

    // This incarnation's readings on their way to the aggregator. Restarting makes a new actor and so a new slot.
    private readonly ReadingSlot _slot;
    private ILinkStatsReader? _reader;
    private bool _succeeded;
    private ICancelable? _ticks;

    public DevicePollerActor(TunDevice device, IActorRef aggregator, IActorRef supervisor, LinkStatsReaderFactory openReader, TimeSpan pollInterval)
    {
        _device = device;
        _aggregator = aggregator;
        _supervisor = supervisor;
        _openReader = openReader;
        _pollInterval = pollInterval;
        _slot = new ReadingSlot(device);
    }

    public static Props Props(TunDevice device, IActorRef aggregator, IActorRef supervisor, LinkStatsReaderFactory openReader, TimeSpan pollInterval) =>
        Akka.Actor.Props.Create(() => new DevicePollerActor(device, aggregator, supervisor, openReader, pollInterval));

    /// <summary>The props a <see cref="PerDeviceActorContext"/> implies.</summary>
    public static Props Props(PerDeviceActorContext context, LinkStatsReaderFactory openReader) =>
        Props(context.Device, context.Aggregator, context.Supervisor, openReader, context.Options.PollInterval)
            .WithDispatcher(context.Options.NetlinkDispatcher);

    protected override void PreStart()
    {
        try
        {
            _reader = _openReader();
        }
        catch (NetlinkException e)
        {
            // Thrown from here it reaches the supervisor as a start-up failure, which is retried like any other.
            Report(e);
            throw new PollFailedException(_device, e);
        }

        Self.Tell(Poll.Instance);
        _ticks = Context.System.Scheduler.ScheduleTellRepeatedlyCancelable(_pollInterval, _pollInterval, Self, Poll.Instance, Self);
    }

    // Runs on every stop and, through PreRestart, before every restart.
    protected override void PostStop()
    {
        _ticks?.Cancel();
        _reader?.Dispose();
        _reader = null;
    }

    protected override void OnReceive(object message)
    {
        if (message is Poll)
        {
            OnPoll();
        }
        else
        {
            Unhandled(message);
        }
    }

    private void OnPoll()
    {
        if (_reader is null)
        {
            return; // the device is gone; waiting for the supervisor to stop us
        }

        long started = Stopwatch.GetTimestamp();
        LinkStats64 stats;
        try
        {
            stats = _reader.Read(_device.IfIndex);
        }
        catch (NetlinkDeviceGoneException e)
        {
            Report(e); // the supervisor logs that it stops watching
            _ticks?.Cancel();
            _reader.Dispose();
            _reader = null;
            _supervisor.Tell(new DeviceVanished(_device));
            return;
        }
        catch (NetlinkException e)
        {
            Report(e);
            throw new PollFailedException(_device, e);
        }

        if (_slot.Offer(stats, Stopwatch.GetElapsedTime(started)))
        {
            _aggregator.Tell(_slot.Ready);
        }

        if (!_succeeded)
        {
            _succeeded = true;
            _supervisor.Tell(PerDeviceActorSucceeded.Instance, Self);
        }
    }

    // Counted here; the supervisor logs the failure when it decides what follows (rate-limited, with the delay it chose).
    private void Report(NetlinkException e) => _aggregator.Tell(new PollFailed(_device, e.Reason));

    /// <summary>The tick; sent to self only.</summary>
    internal sealed class Poll
    {
        public static readonly Poll Instance = new();

        private Poll()
        {
        }
    }
}
