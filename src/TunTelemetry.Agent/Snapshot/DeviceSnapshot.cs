using TunTelemetry.Devices;
using TunTelemetry.Netlink;

namespace TunTelemetry.Agent.Snapshot;

/// <summary>One link, its counters and (for TUN/TAP devices) the processes reading it, read once.</summary>
/// <param name="Readers">Null for links that are not TUN/TAP devices.</param>
internal sealed record DeviceSnapshot(LinkDescription Link, LinkStats64 Stats, IReadOnlyList<TunReader>? Readers = null);
