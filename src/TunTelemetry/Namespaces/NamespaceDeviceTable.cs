using TunTelemetry.Devices;
using TunTelemetry.Netlink;

namespace TunTelemetry.Namespaces;

/// <summary>
/// The watched devices of one other network namespace, kept from its poll dumps: a device is found when its ifindex
/// first shows up in a dump and retired when a dump no longer has it (deleted, or moved to another namespace). The
/// stats dump carries no names, so a dump with an ifindex not seen before asks for the namespace's link list once.
/// </summary>
/// <remarks>
/// Pure: the namespace poller actor does the netlink calls and the telling. A device renamed in place keeps its
/// ifindex: the stats dump cannot tell, so the rename is seen when the link list is read again
/// (<see cref="Observe"/>, at the link-state interval), which retires the old name and lets the next poll find the new.
/// </remarks>
internal sealed class NamespaceDeviceTable(DeviceNamespace ns, DeviceSelection selection)
{
    private readonly Dictionary<int, TunDevice?> _known = [];
    private readonly HashSet<int> _seen = [];

    /// <summary>The watched devices now.</summary>
    public IEnumerable<TunDevice> Devices => _known.Values.OfType<TunDevice>();

    /// <summary>
    /// Takes one poll's readings: returns each watched device's reading, and the devices that left. Ifindexes not seen
    /// before are named from <paramref name="listLinks"/> (called at most once); one the selection leaves out is
    /// remembered as not watched, so it costs no more link lists.
    /// </summary>
    /// <summary>
    /// Takes a fresh link list: returns each watched device with its link (for the link-state gauges), and the devices
    /// renamed since they were found, which are forgotten (the next <see cref="Update"/> finds them under their new name).
    /// </summary>
    public (List<(TunDevice Device, LinkDescription Link)> Observed, List<TunDevice> Renamed) Observe(IReadOnlyList<LinkDescription> links)
    {
        var observed = new List<(TunDevice, LinkDescription)>(links.Count);
        var renamed = new List<TunDevice>();
        foreach (LinkDescription link in links)
        {
            if (_known.TryGetValue(link.IfIndex, out TunDevice? device) && device is not null)
            {
                if (link.Name == device.Name)
                {
                    observed.Add((device, link));
                }
                else
                {
                    renamed.Add(device);
                    _known.Remove(link.IfIndex);
                }
            }
        }

        return (observed, renamed);
    }

    public (List<(TunDevice Device, LinkStats64 Stats)> Readings, List<TunDevice> Left) Update(
        IReadOnlyList<LinkStatsReading> readings, Func<IReadOnlyList<LinkDescription>> listLinks)
    {
        Dictionary<int, LinkDescription>? links = null;
        var found = new List<(TunDevice, LinkStats64)>(readings.Count);
        _seen.Clear();
        foreach (LinkStatsReading reading in readings)
        {
            _seen.Add(reading.IfIndex);
            if (!_known.TryGetValue(reading.IfIndex, out TunDevice? device))
            {
                links ??= listLinks().ToDictionary(l => l.IfIndex);
                device = links.TryGetValue(reading.IfIndex, out LinkDescription? link) && selection.Select(link) is { } selected
                    ? selected with { Namespace = ns }
                    : null;
                if (device is null && link is null)
                {
                    continue; // gone between the two dumps: the next poll decides
                }

                _known[reading.IfIndex] = device;
            }

            if (device is not null)
            {
                found.Add((device, reading.Stats));
            }
        }

        var left = new List<TunDevice>();
        foreach (int ifIndex in _known.Keys.Where(i => !_seen.Contains(i)).ToList())
        {
            if (_known[ifIndex] is { } device)
            {
                left.Add(device);
            }

            _known.Remove(ifIndex);
        }

        return (found, left);
    }
}
