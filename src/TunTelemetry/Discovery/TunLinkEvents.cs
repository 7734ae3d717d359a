using System.Runtime.CompilerServices;
using System.Threading.Channels;
using TunTelemetry.Devices;
using TunTelemetry.Hosting;
using TunTelemetry.Netlink;

namespace TunTelemetry.Discovery;

/// <summary>
/// Follows TUN/TAP devices as they come and go: joins <c>RTNLGRP_LINK</c> first and lists second, so no device can
/// appear unseen between the two; then turns link notifications into <see cref="DeviceEvent"/>s. When the kernel
/// drops notifications (<c>ENOBUFS</c>) or the socket fails, it re-lists rather than guess; a socket that fails is
/// opened again after <c>tuntelemetry.backoff</c>'s delay, as every retry of the agent waits.
/// </summary>
internal sealed class TunLinkEvents
{
    private readonly DeviceSelection _selection;
    private readonly Func<RouteSocket> _openSocket;
    private readonly BackoffSettings _backoff;

    /// <param name="backoff">How long to wait before opening a failed socket again (<see cref="BackoffSettings.Default"/> if null).</param>
    public TunLinkEvents(DeviceSelection selection, Func<RouteSocket>? openSocket = null, BackoffSettings? backoff = null)
    {
        _selection = selection ?? throw new ArgumentNullException(nameof(selection));
        _backoff = backoff ?? BackoffSettings.Default;
        _openSocket = openSocket ?? (() => RouteSocket.Open(new NetlinkSocketOptions
        {
            Groups = NetlinkRouteGroups.Link,
            ReceiveTimeout = TimeSpan.FromMilliseconds(500),
            ReceiveBufferBytes = 1 << 20,
        }));
    }

    /// <summary>
    /// Streams events until <paramref name="cancellationToken"/> is cancelled. The blocking netlink reads run on a
    /// dedicated thread, never on the consumer's.
    /// </summary>
    public async IAsyncEnumerable<DeviceEvent> FollowAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var channel = Channel.CreateBounded<DeviceEvent>(new BoundedChannelOptions(1024)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var thread = new Thread(() => Run(channel.Writer, stop.Token))
        {
            IsBackground = true,
            Name = "tuntelemetry-link-watcher",
        };
        thread.Start();

        try
        {
            await foreach (DeviceEvent e in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return e;
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
        }
    }

    private void Run(ChannelWriter<DeviceEvent> events, CancellationToken stop)
    {
        int failures = 0; // in a row: a socket that lists again resets it
        var known = new Dictionary<int, TunDevice>();
        var changes = new List<NamespacedLinkChange>();

        // The thread sleeps in poll(2) until a notification or a stop, instead of waking on a receive timeout to look.
        using var wakeup = new WakeupEvent();
        using CancellationTokenRegistration wakeOnStop = stop.Register(wakeup.Set);
        while (!stop.IsCancellationRequested)
        {
            RouteSocket? socket = null;
            try
            {
                socket = _openSocket();
                Relist(socket, known, events, stop);
                failures = 0;
                while (socket.WaitReadable(wakeup))
                {
                    changes.Clear();
                    try
                    {
                        if (!socket.ReceiveNotifications(changes, idChanges: []))
                        {
                            continue;
                        }
                    }
                    catch (NetlinkSocketException e) when (e.IsOverrun)
                    {
                        // Notifications were lost: only a full list tells what changed meanwhile.
                        Relist(socket, known, events, stop);
                        continue;
                    }

                    foreach (NamespacedLinkChange change in changes)
                    {
                        Apply(change.Change, known, events, stop);
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Any failure (netlink, or a pattern that timed out on a hostile name) is reported and retried: this
                // runs on its own thread, where an escaping exception would end the process.
                TimeSpan retryDelay = _backoff.DelayBefore(failures++, Random.Shared.NextDouble());
                Write(events, new DiscoveryFailed(e, retryDelay), stop);
                if (stop.WaitHandle.WaitOne(retryDelay))
                {
                    break;
                }
            }
            finally
            {
                socket?.Dispose();
            }
        }

        events.TryComplete();
    }

    private void Relist(RouteSocket socket, Dictionary<int, TunDevice> known, ChannelWriter<DeviceEvent> events, CancellationToken stop)
    {
        IReadOnlyList<TunDevice> devices = TunDeviceDiscovery.List(socket, _selection);
        known.Clear();
        foreach (TunDevice device in devices)
        {
            known[device.IfIndex] = device;
        }

        Write(events, new DevicesListed(DeviceNamespace.Agents, devices), stop);
    }

    private void Apply(LinkChange change, Dictionary<int, TunDevice> known, ChannelWriter<DeviceEvent> events, CancellationToken stop)
    {
        known.TryGetValue(change.Link.IfIndex, out TunDevice? before);
        TunDevice? after = change.Kind == LinkChangeKind.Removed ? null : _selection.Select(change.Link);
        if (before == after)
        {
            return; // a state or MTU change of a device we already report, or a link we do not watch
        }

        if (before is not null)
        {
            known.Remove(before.IfIndex);
            Write(events, new DeviceGone(before), stop);
        }

        if (after is not null)
        {
            known[after.IfIndex] = after;
            Write(events, new DeviceAppeared(after), stop);
        }
    }

    private static void Write(ChannelWriter<DeviceEvent> events, DeviceEvent e, CancellationToken stop)
    {
        // Blocks only when the consumer is 1,024 events behind; back-pressure rather than unbounded memory.
        if (!events.TryWrite(e))
        {
            events.WriteAsync(e, stop).AsTask().GetAwaiter().GetResult();
        }
    }
}
