namespace TunTelemetry.Devices;

/// <summary>
/// The network namespace a device lives in, as its series name it: <c>linux.netns.inode</c> (the inode of its nsfs
/// file, what <c>ls -Li /proc/PID/ns/net</c> prints) and <c>linux.netns.name</c> (see
/// <see cref="Namespaces.NamespaceNaming"/>). Ifindexes are per namespace, so a device is (namespace, ifindex).
/// </summary>
internal sealed record DeviceNamespace(ulong Inode, string Name)
{
    /// <summary>The agent's own namespace (the one its netlink sockets were made in).</summary>
    public static DeviceNamespace Own()
    {
        ulong inode = Namespaces.NetworkNamespaceId.TryOf("/proc/self/ns/net", out Namespaces.NetworkNamespaceId id, out _) ? id.Inode : 0;
        return new DeviceNamespace(inode, OwnName);
    }

    /// <summary>What the agent's own namespace is called on its series in <c>--all-namespaces</c> mode.</summary>
    public const string OwnName = "host";
}
