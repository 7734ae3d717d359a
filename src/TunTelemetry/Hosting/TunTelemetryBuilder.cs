using System.Diagnostics.Metrics;
using Akka.Actor;
using TunTelemetry.Actors;
using TunTelemetry.Devices;
using TunTelemetry.Discovery;
using TunTelemetry.Metrics;
using TunTelemetry.Netlink;
using TunTelemetry.Polling;

namespace TunTelemetry.Hosting;

/// <summary>
/// What <see cref="AkkaConfigurationBuilderExtensions.WithTunTelemetry"/> lets a user add or replace: per-device
/// actors, and (for tests and fault injection) the stats reader, the meter and discovery.
/// </summary>
public sealed class TunTelemetryBuilder
{
    public const string PollerName = "poller";

    private readonly List<PerDeviceActorRegistration> _extensions = [];
    private readonly List<DeviceInstrument> _instruments = [];

    public TunTelemetryBuilder(TunTelemetryOptions options)
    {
        Options = options;
    }

    internal TunTelemetryOptions Options { get; }

    /// <summary>The reader every poller opens (tests); null: the kernel's, by each device's namespace.</summary>
    internal LinkStatsReaderFactory? OpenReader { get; private set; }

    internal Meter? Meter { get; private set; }

    internal bool WatchKernel { get; private set; } = true;

    /// <summary>
    /// Starts one actor from <paramref name="createProps"/> per watched device, beside its poller: restarted with the
    /// configured backoff when it throws, stopped when the device goes. It reports its <paramref name="instruments"/>
    /// by telling <see cref="PerDeviceActorContext.Aggregator"/> <see cref="DeviceMeasured"/>. See README, "Adding a
    /// per-device actor".
    /// </summary>
    public TunTelemetryBuilder AddPerDeviceActor(string name, Func<PerDeviceActorContext, Props> createProps, params DeviceInstrument[] instruments)
    {
        ArgumentNullException.ThrowIfNull(createProps);
        ArgumentNullException.ThrowIfNull(instruments);
        if (name == PollerName || _extensions.Any(r => r.Name == name))
        {
            throw new ArgumentException($"a per-device actor named '{name}' is already registered", nameof(name));
        }

        foreach (DeviceInstrument instrument in instruments)
        {
            if (_instruments.Any(i => i.Name == instrument.Name))
            {
                throw new ArgumentException($"instrument '{instrument.Name}' is already declared", nameof(instruments));
            }
        }

        _extensions.Add(new PerDeviceActorRegistration(name, createProps));
        _instruments.AddRange(instruments);
        return this;
    }

    /// <summary>The instruments declared by the per-device actors added so far.</summary>
    internal IReadOnlyList<DeviceInstrument> Instruments => _instruments;

    /// <summary>Replaces how every poller, in any namespace, opens its socket (fault injection in tests).</summary>
    internal TunTelemetryBuilder UseLinkStatsReader(LinkStatsReaderFactory openReader)
    {
        OpenReader = openReader ?? throw new ArgumentNullException(nameof(openReader));
        return this;
    }

    /// <summary>Records into this meter instead of one named <c>TunTelemetry</c> from the host's meter factory.</summary>
    public TunTelemetryBuilder UseMeter(Meter meter)
    {
        Meter = meter ?? throw new ArgumentNullException(nameof(meter));
        return this;
    }

    /// <summary>Do not follow the kernel's devices; the caller tells the supervisor <see cref="DeviceEvent"/>s.</summary>
    internal TunTelemetryBuilder WithoutKernelDiscovery()
    {
        WatchKernel = false;
        return this;
    }

    /// <summary>The poller first, then link state (when enabled), then the user's actors.</summary>
    internal IReadOnlyList<PerDeviceActorRegistration> Registrations()
    {
        LinkStatsReaderFactory? open = OpenReader;
        var all = new List<PerDeviceActorRegistration> { new(PollerName, context => DevicePollerActor.Props(context, open ?? ReaderFor(context))) };
        if (Options.LinkStateMetrics)
        {
            all.Add(LinkStateActor.Registration);
        }

        all.AddRange(_extensions);
        return all;
    }

    /// <summary>
    /// A device of the agent's namespace is read with RTM_GETSTATS; one of another namespace through that namespace's
    /// id in ours (RTM_GETLINK with <c>IFLA_TARGET_NETNSID</c>).
    /// </summary>
    private static LinkStatsReaderFactory ReaderFor(PerDeviceActorContext context) =>
        () => DeviceLinkReader.Open(context.Options.RequestSocket, context.Device.Target, context.Device.Name);

    internal Func<TunLinkEvents>? LinkEventsFactory() =>
        WatchKernel ? () => new TunLinkEvents(Options.Devices, backoff: Options.Backoff) : null;

    internal Func<string, TunDevice?>? NameResolver()
    {
        if (!WatchKernel)
        {
            return null;
        }

        NetlinkSocketOptions socketOptions = Options.RequestSocket;
        return name =>
        {
            try
            {
                using RouteSocket socket = RouteSocket.Open(socketOptions);
                return socket.GetLink(LinkTarget.Own, name) is { } link ? TunDevice.FromLink(link) : null;
            }
            catch (Exception e) when (e is NetlinkException or ArgumentException)
            {
                return null; // discovery will report the device if it exists
            }
        };
    }
}
