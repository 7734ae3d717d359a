using TunTelemetry.Devices;

namespace TunTelemetry.Discovery;

/// <summary>
/// What discovery tells the device supervisor, for the agent's own namespace and every other alike: a namespace's
/// listing, a device that appeared or went, a namespace that went. The supervisor consumes nothing else from discovery.
/// </summary>
internal abstract record DeviceEvent;

/// <summary>
/// The complete set of a namespace's selected devices (the agent's own namespace too: <see cref="DeviceNamespace.Agents"/>): at start,
/// after notifications were lost or their socket failed, and at each re-listing. Anything the supervisor watches there
/// that is not in it is gone: deleted, moved away, or renamed (then listed under its new name).
/// </summary>
internal sealed record DevicesListed(DeviceNamespace Namespace, IReadOnlyList<TunDevice> Devices) : DeviceEvent;

/// <summary>A device appeared, was renamed into the selection, or changed its name (same ifindex, a new device for the series).</summary>
internal sealed record DeviceAppeared(TunDevice Device) : DeviceEvent;

/// <summary>A device was deleted, moved away or renamed out of the selection.</summary>
internal sealed record DeviceGone(TunDevice Device) : DeviceEvent;

/// <summary>A namespace's discovery stopped (its namespace died or is no longer watched): all its devices go.</summary>
internal sealed record NamespaceGone(DeviceNamespace Namespace) : DeviceEvent;

/// <summary>
/// Discovery could not list or follow devices; it retries on its own after <paramref name="RetryIn"/>. Said by the
/// discovery that failed, which logs it; the supervisor keeps watching what it knows.
/// </summary>
internal sealed record DiscoveryFailed(Exception Error, TimeSpan RetryIn) : DeviceEvent;
