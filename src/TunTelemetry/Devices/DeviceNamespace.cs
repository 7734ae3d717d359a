using TunTelemetry.Discovery;

namespace TunTelemetry.Devices;

/// <summary>
/// The network namespace a device lives in, as its series name it: <c>linux.netns.inode</c> (the inode of its nsfs
/// file, what <c>ls -Li /proc/PID/ns/net</c> prints) and <c>linux.netns.name</c> (see <see cref="NamespaceNaming"/>).
/// Ifindexes are per namespace, so a device is (namespace, ifindex).
/// </summary>
/// <remarks>
/// A per-device extension sees it as <see cref="TunDevice.Namespace"/>: a device of another namespace cannot be read
/// through the agent's own <c>/sys/class/net</c> or by ifindex alone.
/// </remarks>
/// <param name="Inode">The inode of the namespace's nsfs file (<c>linux.netns.inode</c>).</param>
/// <param name="Name">Its <c>ip netns</c> name, else the container id of a member process, else <c>pid:</c> its lowest pid (<c>linux.netns.name</c>).</param>
public sealed record DeviceNamespace(ulong Inode, string Name)
{
    public ulong Inode { get; internal init; } = Inode;

    public string Name { get; internal init; } = Name;

    /// <summary>
    /// The namespace's id in the agent's own (<c>RTM_NEWNSID</c>), by which its devices are read
    /// (<c>IFLA_TARGET_NETNSID</c>); <see cref="Netlink.NetnsId.NotAssigned"/> until its discovery gave it one. The
    /// kernel keeps an id for its namespace's whole life.
    /// </summary>
    internal int Nsid { get; init; } = Netlink.NetnsId.NotAssigned;

    /// <summary>The agent's own namespace (the one its netlink sockets were made in), as <see cref="TunDevice.Home"/> names it.</summary>
    internal bool IsAgents { get; private init; }

    /// <summary>
    /// The agent's own namespace as its devices carry it: the inode of <c>/proc/self/ns/net</c> (0 if that cannot be
    /// read), flagged <see cref="IsAgents"/>, unnamed. Its name takes a /proc scan, so the series' attributes take it
    /// from <see cref="Own"/>, once, and only with <c>--all-namespaces</c>.
    /// </summary>
    internal static DeviceNamespace Agents { get; } = new(
        NetworkNamespaceId.TryOf("/proc/self/ns/net", out NetworkNamespaceId own, out _) ? own.Inode : 0, "")
    {
        IsAgents = true,
    };

    /// <summary>
    /// The agent's own namespace (the one its netlink sockets were made in), named by the rule every namespace is
    /// named by: on a host that is <c>pid:1</c>, in a container its container id. One /proc scan, at start.
    /// </summary>
    internal static DeviceNamespace Own()
    {
        if (!NetworkNamespaceId.TryOf("/proc/self/ns/net", out NetworkNamespaceId own, out _))
        {
            return new DeviceNamespace(0, $"pid:{Environment.ProcessId}");
        }

        var scanner = new NamespaceScanner(NamespaceScanner.DefaultDirectories);
        return scanner.Scan().Namespaces.TryGetValue(own, out DiscoveredNamespace? found)
            ? new DeviceNamespace(own.Inode, NamespaceNaming.NameOf(found, scanner.ReadCgroup))
            : new DeviceNamespace(own.Inode, $"pid:{Environment.ProcessId}");
    }
}
