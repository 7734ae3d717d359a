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
    /// Streams events until <paramref name="cancellationToken"/> is cancelled. The blocking netlink reads run on the
    /// loop's own thread (<see cref="LinkEventLoop"/>), never on the consumer's.
    /// </summary>
    public async IAsyncEnumerable<DeviceEvent> FollowAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var channel = Channel.CreateBounded<DeviceEvent>(new BoundedChannelOptions(1024)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });

        var follower = new Follower(_selection, channel.Writer);
        using (var loop = new LinkEventLoop("tuntelemetry-link-events", _openSocket, _backoff, follower))
        {
            follower.Stopping = loop.Stopping;
            loop.Start();
            await foreach (DeviceEvent e in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return e;
            }
        }
    }

    /// <summary>Turns one socket's notifications into events: a full listing whenever a socket opens or was overrun, changes between.</summary>
    private sealed class Follower(DeviceSelection selection, ChannelWriter<DeviceEvent> events) : ILinkEventSink
    {
        private readonly Dictionary<int, TunDevice> _known = [];

        public CancellationToken Stopping { get; set; }

        public void Opened(RouteSocket socket, bool again) => Relist(socket);

        public void Overrun(RouteSocket socket) => Relist(socket);

        public void Heard(RouteSocket socket, List<NamespacedLinkChange> links, List<NetnsIdChange> ids)
        {
            foreach (NamespacedLinkChange change in links)
            {
                Apply(change.Change);
            }
        }

        public void Failed(Exception error, TimeSpan retryIn) => Write(new DiscoveryFailed(error, retryIn));

        private void Relist(RouteSocket socket)
        {
            IReadOnlyList<TunDevice> devices = TunDeviceDiscovery.List(socket, selection);
            _known.Clear();
            foreach (TunDevice device in devices)
            {
                _known[device.IfIndex] = device;
            }

            Write(new DevicesListed(DeviceNamespace.Agents, devices));
        }

        private void Apply(LinkChange change)
        {
            _known.TryGetValue(change.Link.IfIndex, out TunDevice? before);
            TunDevice? after = change.Kind == LinkChangeKind.Removed ? null : selection.Select(change.Link);
            if (before == after)
            {
                return; // a state or MTU change of a device we already report, or a link we do not watch
            }

            if (before is not null)
            {
                _known.Remove(before.IfIndex);
                Write(new DeviceGone(before));
            }

            if (after is not null)
            {
                _known[after.IfIndex] = after;
                Write(new DeviceAppeared(after));
            }
        }

        private void Write(DeviceEvent e)
        {
            // Blocks only when the consumer is 1,024 events behind; back-pressure rather than unbounded memory. Gives
            // up (OperationCanceledException) when the loop stops, its consumer gone.
            if (!events.TryWrite(e))
            {
                events.WriteAsync(e, Stopping).AsTask().GetAwaiter().GetResult();
            }
        }
    }
}
