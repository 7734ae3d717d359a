namespace TunTelemetry.Devices;

/// <summary>
/// What identifies a device: its namespace's nsfs inode and its ifindex there, since ifindexes repeat across
/// namespaces. A device re-created under its name gets a new ifindex, and so a new identity.
/// </summary>
internal readonly record struct DeviceId(ulong Netns, int IfIndex);
