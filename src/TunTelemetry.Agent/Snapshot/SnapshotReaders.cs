using TunTelemetry.Devices;
using TunTelemetry.Readers;

namespace TunTelemetry.Agent.Snapshot;

/// <summary>
/// Fills in each TUN/TAP device's readers from one <c>/proc</c> scan, by the rules the running agent follows
/// (<see cref="ReaderAttribution"/>): a reader goes to the device of its name in its process's namespace, or, when
/// that namespace was read and has none, to the one device of that name in the namespaces read.
/// </summary>
internal static class SnapshotReaders
{
    /// <param name="ownNetns">The agent's namespace inode: its devices' snapshots carry no namespace without <c>--all-namespaces</c>.</param>
    /// <param name="otherNamespaces">The other namespaces read (<c>--all-namespaces</c>), with or without devices.</param>
    internal static List<DeviceSnapshot> Fill(List<DeviceSnapshot> snapshots, TunReaderTable table, ulong ownNetns, IReadOnlyList<ulong> otherNamespaces)
    {
        var devices = new List<(ulong Netns, TunDevice Device)>();
        var indexes = new List<int>();
        for (int i = 0; i < snapshots.Count; i++)
        {
            if (snapshots[i].Readers is not null && TunDevice.FromLink(snapshots[i].Link) is { } device)
            {
                devices.Add((snapshots[i].Netns?.Inode ?? ownNetns, device));
                indexes.Add(i);
            }
        }

        var listed = new HashSet<ulong>(otherNamespaces) { ownNetns };
        ReaderAttribution.Attributed attributed = ReaderAttribution.Attribute(table, devices, listed);
        var filled = new List<DeviceSnapshot>(snapshots);
        for (int d = 0; d < indexes.Count; d++)
        {
            filled[indexes[d]] = snapshots[indexes[d]] with { Readers = attributed.Readers[d] };
        }

        return filled;
    }
}
