using TunTelemetry.Netlink;

namespace TunTelemetry.Agent.Snapshot;

/// <summary>One link and its counters, read once.</summary>
internal sealed record DeviceSnapshot(LinkDescription Link, LinkStats64 Stats);
