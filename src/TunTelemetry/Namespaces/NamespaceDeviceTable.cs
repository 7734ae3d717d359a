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
/// A reading equal to the device's last one is not returned, as a poller's <c>ReadingSlot</c> does not announce one:
/// it would add zero everywhere, and most devices are idle most of the time, so an idle namespace costs the aggregator
/// nothing (measured in docs/performance.md, "1,000 devices over 100 namespaces").
/// </remarks>
internal sealed class NamespaceDeviceTable(DeviceNamespace ns, DeviceSelection selection)
{
    private readonly Dictionary<int, TunDevice?> _known = [];
    private readonly Dictionary<int, LinkStats64> _last = [];
    private readonly HashSet<int> _seen = [];

    /// <summary>The watched devices now.</summary>
    public IEnumerable<TunDevice> Devices => _known.Values.OfType<TunDevice>();

    /// <summary>How many devices are watched now.</summary>
    public int Count { get; private set; }

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
                    Forget(link.IfIndex);
                }
            }
        }

        return (observed, renamed);
    }

    /// <summary>
    /// Takes one poll's readings: returns each watched device's reading that differs from its last one (a device's
    /// first reading always), and the devices that left. Ifindexes not seen before are named from
    /// <paramref name="listLinks"/> (called at most once); one the selection leaves out is remembered as not watched,
    /// so it costs no more link lists.
    /// </summary>
    public (List<(TunDevice Device, LinkStats64 Stats)> Readings, List<TunDevice> Left) Update(
        IReadOnlyList<LinkStatsReading> readings, Func<IReadOnlyList<LinkDescription>> listLinks)
    {
        Dictionary<int, LinkDescription>? links = null;
        var found = new List<(TunDevice, LinkStats64)>();
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

            if (device is not null && !(_last.TryGetValue(reading.IfIndex, out LinkStats64 last) && last == reading.Stats))
            {
                _last[reading.IfIndex] = reading.Stats;
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

            Forget(ifIndex);
        }

        Count = _known.Values.Count(d => d is not null);
        return (found, left);
    }

    private void Forget(int ifIndex)
    {
        _known.Remove(ifIndex);
        _last.Remove(ifIndex);
    }
}
