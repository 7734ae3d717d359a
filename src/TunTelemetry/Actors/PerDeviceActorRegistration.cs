using Akka.Actor;
using TunTelemetry.Devices;
using TunTelemetry.Hosting;

namespace TunTelemetry.Actors;

/// <summary>
/// What a per-device actor is given when the supervisor starts it for a device. A spec can make one with probes for
/// the aggregator and the supervisor.
/// </summary>
public sealed class PerDeviceActorContext(TunDevice device, IActorRef aggregator, IActorRef supervisor, TunTelemetryOptions options)
{
    /// <summary>The device it serves; its ifindex identifies this incarnation of the device.</summary>
    public TunDevice Device { get; } = device ?? throw new ArgumentNullException(nameof(device));

    /// <summary>
    /// Where to send <see cref="DeviceMeasured"/> and <see cref="DeviceSeriesEnded"/>: the metrics aggregator, the
    /// only metrics writer.
    /// </summary>
    public IActorRef Aggregator { get; } = aggregator ?? throw new ArgumentNullException(nameof(aggregator));

    /// <summary>
    /// The device supervisor: tell it <see cref="PerDeviceActorSucceeded"/> after a good read and
    /// <see cref="DeviceVanished"/> when the device turns out to be gone.
    /// </summary>
    public IActorRef Supervisor { get; } = supervisor ?? throw new ArgumentNullException(nameof(supervisor));

    /// <summary>The options the library runs with.</summary>
    public TunTelemetryOptions Options { get; } = options ?? throw new ArgumentNullException(nameof(options));
}

/// <summary>
/// A kind of actor the supervisor starts once per watched device, beside the poller: supervised with the same backoff
/// (a thrown exception restarts it after a delay) and stopped when the device goes away. With <c>--all-namespaces</c>
/// it is started for the devices of every network namespace (<see cref="TunDevice.Namespace"/> says which).
/// </summary>
/// <param name="Name">A short actor-name-safe label (<c>link-state</c>); unique among registrations.</param>
internal sealed record PerDeviceActorRegistration(string Name, Func<PerDeviceActorContext, Props> CreateProps)
{
    public string Name { get; } = ActorPath.IsValidPathElement(Name) && !Name.Contains('$')
        ? Name
        : throw new ArgumentException($"'{Name}' is not a valid actor name", nameof(Name));
}
