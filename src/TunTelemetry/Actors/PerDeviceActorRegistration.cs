using Akka.Actor;
using TunTelemetry.Devices;
using TunTelemetry.Hosting;

namespace TunTelemetry.Actors;

/// <summary>What a per-device actor is given when the supervisor starts it for a device.</summary>
/// <param name="Device">The device it serves; its ifindex identifies this incarnation of the device.</param>
/// <param name="Aggregator">Where to send measurements: <see cref="MetricsAggregatorActor"/>, the only metrics writer.</param>
/// <param name="Supervisor">
/// The <see cref="DeviceSupervisorActor"/>; tell it <see cref="DeviceVanished"/> when the device turns out to be gone.
/// </param>
public sealed record PerDeviceActorContext(TunDevice Device, IActorRef Aggregator, IActorRef Supervisor, TunTelemetryOptions Options);

/// <summary>
/// A kind of actor the supervisor starts once per watched device, beside the poller: supervised with the same backoff
/// (a thrown exception restarts it after a delay) and stopped when the device goes away. With <c>--all-namespaces</c>
/// it is started for the devices of every network namespace (<see cref="TunDevice.Namespace"/> says which).
/// </summary>
/// <param name="Name">A short actor-name-safe label (<c>link-state</c>); unique among registrations.</param>
public sealed record PerDeviceActorRegistration(string Name, Func<PerDeviceActorContext, Props> CreateProps)
{
    public string Name { get; } = ActorPath.IsValidPathElement(Name) && !Name.Contains('$')
        ? Name
        : throw new ArgumentException($"'{Name}' is not a valid actor name", nameof(Name));
}
