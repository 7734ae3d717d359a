namespace TunTelemetry.Discovery;

/// <summary>
/// The name a namespace's series carry (<c>linux.netns.name</c>): its <c>ip netns</c> name; else the id of the
/// container a member process runs in, read from its /proc/PID/cgroup; else <c>pid:</c> and its lowest pid.
/// </summary>
internal static class NamespaceNaming
{
    private const int ContainerIdLength = 64;

    /// <summary>
    /// Names <paramref name="ns"/>. <paramref name="readCgroup"/> returns a process's /proc/PID/cgroup text, or null
    /// when it cannot be read (the process left).
    /// </summary>
    public static string NameOf(DiscoveredNamespace ns, Func<int, string?> readCgroup)
    {
        string? ipNetnsName = ns.BindMounts
            .Where(path => Path.GetDirectoryName(path) is "/run/netns" or "/var/run/netns")
            .Select(Path.GetFileName)
            .FirstOrDefault();
        if (!string.IsNullOrEmpty(ipNetnsName))
        {
            return ipNetnsName;
        }

        if (ns.LowestPid is int pid)
        {
            string? cgroup = readCgroup(pid);
            if (cgroup is not null && ContainerIdFromCgroup(cgroup) is string containerId)
            {
                return containerId;
            }

            return $"pid:{pid}";
        }

        // Held only by a bind mount outside /run/netns (docker's): its file name is docker's sandbox id.
        return Path.GetFileName(ns.BindMounts[0]);
    }

    /// <summary>
    /// The container id in a /proc/PID/cgroup text: the first run of exactly 64 hex digits in a cgroup path, which is
    /// how Docker (<c>/docker/ID</c>, <c>docker-ID.scope</c>), containerd (<c>cri-containerd-ID.scope</c>), CRI-O
    /// (<c>crio-ID.scope</c>), Podman (<c>libpod-ID.scope</c>) and the kubelet's cgroupfs driver
    /// (<c>/kubepods/…/podUID/ID</c>) name a container's cgroup. Null when there is none (a process on the host).
    /// </summary>
    public static string? ContainerIdFromCgroup(string cgroupText)
    {
        foreach (string line in cgroupText.Split('\n'))
        {
            // hierarchy-id:controllers:path
            int pathStart = line.IndexOf(':', line.IndexOf(':') + 1) + 1;
            if (pathStart <= 0)
            {
                continue;
            }

            string path = line[pathStart..];
            int run = 0;
            for (int i = 0; i <= path.Length; i++)
            {
                if (i < path.Length && char.IsAsciiHexDigitLower(path[i]))
                {
                    run++;
                    continue;
                }

                if (run == ContainerIdLength)
                {
                    return path.Substring(i - run, run);
                }

                run = 0;
            }
        }

        return null;
    }
}
