using Akka.Actor;
using Akka.Event;
using Microsoft.Win32.SafeHandles;
using TunTelemetry.Devices;
using TunTelemetry.Hosting;
using TunTelemetry.Netlink;
using TunTelemetry.Polling;
using TunTelemetry.Supervision;

namespace TunTelemetry.Discovery;

/// <summary>The kernel refused to give a namespace an id in ours (<c>EPERM</c>): the agent lacks <c>CAP_NET_ADMIN</c>.</summary>
internal sealed record NamespaceAccessDenied(DeviceNamespace Namespace, string Reason);

/// <summary>
/// Finds the TUN devices of one network namespace other than the agent's own: gives the namespace an id in ours once
/// (<c>RTM_NEWNSID</c>), then lists its TUN devices (one targeted <c>RTM_GETLINK</c> dump, filtered by kind) when it
/// starts, whenever a link event says one came, changed, went or moved, and at <see cref="RelistInterval"/> as a
/// safety net; and tells the device supervisor each listing (<see cref="DevicesListed"/>), which watches
/// them as it watches the agent's own: a <see cref="DevicePollerActor"/> and the extensions per device. It reads no
/// counters itself.
/// </summary>
/// <remarks>
/// Holds one netlink socket in the agent's own namespace and no descriptor of the watched namespace (the namespace file
/// is closed once the id is given): either would keep a dead namespace alive. A failed listing is logged and tried
/// again at the next; a namespace that died is stopped by <see cref="NamespacesActor"/> when its scan no longer
/// finds it, or at once when the kernel drops its id (NamespaceDiscoveryActor.LinkEvents.cs). When it stops, its
/// devices are told gone (an empty listing).
/// </remarks>
internal sealed partial class NamespaceDiscoveryActor : ReceiveActor, IWithTimers
{
    private readonly DiscoveredNamespace _discovered;
    private readonly IActorRef _supervisor;
    private readonly TunTelemetryOptions _options;
    private readonly TimeSpan _relistInterval;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly int _attempt;
    private DeviceNamespace _namespace;
    private RouteSocket? _socket;
    private int _nsid;
    private string? _lastFailure;
    private bool _listed;

    /// <param name="supervisor">The <see cref="DeviceSupervisorActor"/>, told each listing.</param>
    /// <param name="relistInterval">How often the devices are listed without a link event asking.</param>
    /// <param name="attempt">How many of this namespace's discovery actors failed to start before this one (0: none).</param>
    public NamespaceDiscoveryActor(DiscoveredNamespace discovered, DeviceNamespace ns, IActorRef supervisor, TunTelemetryOptions options,
        TimeSpan relistInterval, int attempt = 0)
    {
        _attempt = attempt;
        _supervisor = supervisor;
        _discovered = discovered;
        _namespace = ns;
        _options = options;
        _relistInterval = relistInterval;
        Receive<ListDevices>(_ => List());
        ReceiveLinkEvents();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>
    /// How often a namespace's devices are listed when link events of other namespaces are heard: only as a safety net,
    /// since every change sends an event and each device's poller finds its device gone itself.
    /// </summary>
    public static readonly TimeSpan RelistInterval = TimeSpan.FromMinutes(1);

    public static Props Props(DiscoveredNamespace discovered, DeviceNamespace ns, IActorRef supervisor, TunTelemetryOptions options,
        TimeSpan relistInterval, int attempt = 0) =>
        Akka.Actor.Props.Create(() => new NamespaceDiscoveryActor(discovered, ns, supervisor, options, relistInterval, attempt))
            .WithDispatcher(options.NetlinkDispatcher);

    protected override void PreStart()
    {
        try
        {
            _socket = RouteSocket.Open(_options.RequestSocket with { StrictChecking = true });
            using SafeFileHandle file = File.OpenHandle(_discovered.OpenPath);
            _nsid = _socket.AssignId(file);
        }
        catch (NetlinkErrnoException e) when (e.Errno == Errno.EPERM)
        {
            Context.Parent.Tell(new NamespaceAccessDenied(_namespace, e.Message));
            Context.Stop(Self);
            return;
        }
        catch (Exception e) when (e is NetlinkException or IOException or UnauthorizedAccessException)
        {
            // Most often the namespace went between the scan and now, and the next scan says so; else (no
            // descriptor left, say) the namespaces actor starts another one with the backoff while the namespace is there.
            // Said here, once, not at every retry: the namespaces actor's strategy does not log it again.
            if (_attempt == 0)
            {
                _log.Warning("Cannot watch network namespace {0} (netns:[{1}]), retrying with the backoff while it exists: {2}", _namespace.Name, _namespace.Inode, e.Message);
            }
            else
            {
                _log.Debug("Cannot watch network namespace {0} (netns:[{1}]), attempt {2}: {3}", _namespace.Name, _namespace.Inode, _attempt + 1, e.Message);
            }

            throw; // the namespaces actor's strategy stops it, and starts another after the backoff while the namespace exists
        }

        _namespace = _namespace with { Nsid = _nsid };
        _log.Info("Watching network namespace {0} (netns:[{1}], id {2} in ours)", _namespace.Name, _namespace.Inode, _nsid);
        ClaimId();
        Self.Tell(ListDevices.Instance);
        Timers.StartPeriodicTimer(ListDevices.Instance, ListDevices.Instance, _relistInterval);
    }

    protected override void PostStop()
    {
        if (_listed)
        {
            _supervisor.Tell(new NamespaceGone(_namespace)); // its devices' actors stop
        }

        _socket?.Dispose();
    }

    /// <summary>Lists the namespace's TUN devices the selection keeps and tells the supervisor; a failure waits for the next listing.</summary>
    private void List()
    {
        IReadOnlyList<LinkDescription> links;
        try
        {
            links = _socket!.DumpLinks(LinkTarget.Namespace(_nsid), tunOnly: true);
        }
        catch (NetlinkException e)
        {
            // Logged once per distinct failure: a namespace that is going fails until the scan sees it.
            if (e.Message != _lastFailure)
            {
                _lastFailure = e.Message;
                _log.Warning("Listing the devices of network namespace {0} (netns:[{1}]) failed, trying again at the next listing: {2}",
                    _namespace.Name, _namespace.Inode, e.Message);
            }

            return;
        }

        _lastFailure = null;
        var devices = new List<TunDevice>(links.Count);
        foreach (LinkDescription link in links)
        {
            if (_options.Devices.Select(link) is { } device)
            {
                devices.Add(device with { Namespace = _namespace });
            }
        }

        _listed = true;
        _supervisor.Tell(new DevicesListed(_namespace, devices));
    }

    private sealed class ListDevices
    {
        public static readonly ListDevices Instance = new();

        private ListDevices()
        {
        }
    }
}
