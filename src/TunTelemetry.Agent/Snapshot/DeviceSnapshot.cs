using TunTelemetry.Devices;
using TunTelemetry.Netlink;
using TunTelemetry.Readers;

namespace TunTelemetry.Agent.Snapshot;

/// <summary>One link, its counters and (for TUN/TAP devices) the processes reading it, read once.</summary>
/// <param name="Readers">Null for links that are not TUN/TAP devices.</param>
/// <param name="Netns">The link's network namespace; null unless <c>--all-namespaces</c> was given.</param>
internal sealed record DeviceSnapshot(LinkDescription Link, LinkStats64 Stats, IReadOnlyList<TunReader>? Readers = null, DeviceNamespace? Netns = null);
