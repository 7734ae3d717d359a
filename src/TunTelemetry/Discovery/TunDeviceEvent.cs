using TunTelemetry.Devices;

namespace TunTelemetry.Discovery;

/// <summary>What <see cref="TunLinkEvents"/> reports.</summary>
internal abstract record TunDeviceEvent;

/// <summary>
/// The complete set of watched devices: at start, and again after notifications were lost or the notification socket
/// failed. Anything the consumer knows that is not in it is gone.
/// </summary>
internal sealed record TunDevicesListed(IReadOnlyList<TunDevice> Devices) : TunDeviceEvent;

/// <summary>A watched device appeared (or was renamed into the selection).</summary>
internal sealed record TunDeviceAppeared(TunDevice Device) : TunDeviceEvent;

/// <summary>A watched device was deleted (or renamed out of the selection).</summary>
internal sealed record TunDeviceRemoved(TunDevice Device) : TunDeviceEvent;

/// <summary>Discovery could not list or follow devices; it retries on its own after <paramref name="RetryIn"/>.</summary>
internal sealed record TunDeviceWatchFailed(Exception Error, TimeSpan RetryIn) : TunDeviceEvent;
