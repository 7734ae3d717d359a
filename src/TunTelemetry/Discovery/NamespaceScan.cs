namespace TunTelemetry.Discovery;

/// <summary>
/// The network namespaces one scan found, and what it could not look at.
/// </summary>
/// <param name="Namespaces">Every namespace found, by id.</param>
/// <param name="ProcessesDenied">Processes whose namespace link could not be followed (other users' processes without <c>CAP_SYS_PTRACE</c>).</param>
/// <param name="UnreadyBindMounts">Files in a netns directory that are not (yet) a namespace: <c>ip netns add</c> creates the file before it mounts the namespace on it.</param>
internal sealed record NamespaceScan(IReadOnlyDictionary<NetworkNamespaceId, DiscoveredNamespace> Namespaces, int ProcessesDenied, int UnreadyBindMounts);
