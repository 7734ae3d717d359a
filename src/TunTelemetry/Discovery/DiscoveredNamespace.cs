namespace TunTelemetry.Discovery;

/// <summary>
/// A network namespace found on the host, and the ways to reach it.
/// </summary>
/// <param name="Id">Its nsfs device and inode.</param>
/// <param name="BindMounts">Its files in the netns directories (<c>/run/netns/NAME</c>, docker's), sorted.</param>
/// <param name="LowestPid">The lowest pid of a process in it; null when no process is (a bind mount alone holds it).</param>
/// <param name="ProcessCount">How many processes were found in it.</param>
internal sealed record DiscoveredNamespace(NetworkNamespaceId Id, IReadOnlyList<string> BindMounts, int? LowestPid, int ProcessCount)
{
    /// <summary>
    /// A file that opens the namespace: a bind mount when there is one (opening it needs no privilege; a process's
    /// link needs <c>CAP_SYS_PTRACE</c> over other users' processes), else the lowest pid's /proc link.
    /// </summary>
    public string OpenPath => BindMounts.Count > 0 ? BindMounts[0] : $"/proc/{LowestPid}/ns/net";
}
