using Microsoft.Win32.SafeHandles;
using TunTelemetry.Devices;
using TunTelemetry.Discovery;
using TunTelemetry.Netlink;

namespace TunTelemetry.Agent.Snapshot;

/// <summary>
/// <c>snapshot --all-namespaces</c>: the TUN/TAP devices of every network namespace other than the agent's own, read
/// the way the agent reads them (one targeted <c>RTM_GETLINK</c> dump per namespace, from a socket in our namespace;
/// docs/design.md, "Other network namespaces").
/// </summary>
internal static class OtherNamespaces
{
    /// <summary>
    /// Every other namespace's TUN/TAP devices with their counters (readers not yet filled in), and the inodes of the
    /// namespaces read (with or without devices). Without <c>CAP_NET_ADMIN</c> the kernel refuses to give a namespace an
    /// id in ours: one line on <paramref name="error"/> says so, and no device of another namespace is returned.
    /// </summary>
    internal static (List<DeviceSnapshot> Devices, List<ulong> Namespaces) Read(TextWriter error)
    {
        var snapshots = new List<DeviceSnapshot>();
        var read = new List<ulong>();
        var scanner = new NamespaceScanner(NamespaceScanner.DefaultDirectories);
        NamespaceScan scan = scanner.Scan();
        _ = NetworkNamespaceId.TryOf("/proc/self/ns/net", out NetworkNamespaceId own, out _);
        using RouteSocket socket = RouteSocket.Open(new NetlinkSocketOptions { StrictChecking = true });
        foreach (DiscoveredNamespace found in scan.Namespaces.Values.OrderBy(n => n.Id.Inode))
        {
            if (found.Id == own)
            {
                continue;
            }

            var ns = new DeviceNamespace(found.Id.Inode, NamespaceNaming.NameOf(found, scanner.ReadCgroup));
            int nsid;
            try
            {
                using SafeFileHandle file = File.OpenHandle(found.OpenPath);
                nsid = socket.AssignId(file);
            }
            catch (NetlinkErrnoException e) when (e.Errno == Errno.EPERM)
            {
                error.WriteLine("tuntelemetry: cannot read other network namespaces: giving a namespace an id in ours " +
                    "(RTM_NEWNSID) needs CAP_NET_ADMIN; showing the agent's own namespace only");
                return ([], []);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or NetlinkException)
            {
                continue; // gone between the scan and now
            }

            var stats = new List<LinkStatsReading>();
            IReadOnlyList<LinkDescription> links;
            try
            {
                socket.ReadTunStats(LinkTarget.Namespace(nsid), stats);
                links = socket.DumpLinks(LinkTarget.Namespace(nsid), tunOnly: true);
            }
            catch (NetlinkErrnoException)
            {
                continue; // the namespace died mid-read
            }

            read.Add(ns.Inode);
            foreach (LinkDescription link in links.OrderBy(l => l.IfIndex))
            {
                int index = stats.FindIndex(s => s.IfIndex == link.IfIndex);
                if (index >= 0)
                {
                    snapshots.Add(new DeviceSnapshot(link, stats[index].Stats, [], ns));
                }
            }
        }

        return (snapshots, read);
    }
}
