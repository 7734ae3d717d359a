using System.Globalization;

namespace TunTelemetry.Discovery;

/// <summary>
/// Finds the host's network namespaces: the files in the netns directories (<c>ip netns</c>'s /run/netns, docker's
/// /var/run/docker/netns) and the namespace of every process in /proc, deduplicated by nsfs device and inode. A
/// namespace is there while a process is in it or a bind mount holds it; the kernel may keep one longer (an open
/// socket or descriptor holds it too), but nothing is left to watch there, so a scan that no longer finds it means gone.
/// </summary>
internal sealed class NamespaceScanner(IReadOnlyList<string> netnsDirectories, string procRoot = "/proc")
{
    /// <summary>The directories <c>ip netns</c> and docker keep namespaces in.</summary>
    public static IReadOnlyList<string> DefaultDirectories { get; } = ["/run/netns", "/var/run/docker/netns"];

    public IReadOnlyList<string> NetnsDirectories => netnsDirectories;

    // Every namespace file is on nsfs: a netns-directory file on another device is not mounted yet.
    private readonly ulong _nsfsDevice = NetworkNamespaceId.TryOf("/proc/self/ns/net", out NetworkNamespaceId own, out _) ? own.Device : 0;

    public NamespaceScan Scan()
    {
        var bindMounts = new Dictionary<NetworkNamespaceId, List<string>>();
        var processes = new Dictionary<NetworkNamespaceId, (int LowestPid, int Count)>();
        int unready = 0, denied = 0;

        foreach (string directory in netnsDirectories)
        {
            IEnumerable<string> files;
            try
            {
                files = Directory.EnumerateFiles(directory).ToList();
            }
            catch (Exception e) when (e is DirectoryNotFoundException or UnauthorizedAccessException or IOException)
            {
                continue; // absent (no ip netns yet, no docker) or unreadable: the /proc scan still finds their members
            }

            foreach (string file in files)
            {
                if (!NetworkNamespaceId.TryOf(file, out NetworkNamespaceId id, out _) || id.Device != _nsfsDevice)
                {
                    unready++;
                    continue;
                }

                if (!bindMounts.TryGetValue(id, out List<string>? paths))
                {
                    bindMounts[id] = paths = [];
                }

                paths.Add(file);
            }
        }

        foreach (string entry in Directory.EnumerateDirectories(procRoot))
        {
            string name = Path.GetFileName(entry);
            if (name.Length == 0 || !char.IsAsciiDigit(name[0]) || !int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                continue;
            }

            if (!NetworkNamespaceId.TryOf(entry + "/ns/net", out NetworkNamespaceId id, out int errno))
            {
                // EACCES/EPERM: another user's process and no CAP_SYS_PTRACE. ENOENT: it exited, or is a kernel thread.
                if (errno is 1 or 13)
                {
                    denied++;
                }

                continue;
            }

            processes[id] = processes.TryGetValue(id, out (int LowestPid, int Count) seen)
                ? (Math.Min(seen.LowestPid, pid), seen.Count + 1)
                : (pid, 1);
        }

        var found = new Dictionary<NetworkNamespaceId, DiscoveredNamespace>();
        foreach (NetworkNamespaceId id in bindMounts.Keys.Union(processes.Keys))
        {
            List<string> paths = bindMounts.TryGetValue(id, out List<string>? p) ? p : [];
            paths.Sort(StringComparer.Ordinal);
            (int LowestPid, int Count)? members = processes.TryGetValue(id, out (int LowestPid, int Count) m) ? m : null;
            found[id] = new DiscoveredNamespace(id, paths, members?.LowestPid, members?.Count ?? 0);
        }

        return new NamespaceScan(found, denied, unready);
    }

    /// <summary>A process's /proc/PID/cgroup text, or null when it cannot be read (it left, or it is not ours to read).</summary>
    public string? ReadCgroup(int pid)
    {
        try
        {
            return File.ReadAllText($"{procRoot}/{pid}/cgroup");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
