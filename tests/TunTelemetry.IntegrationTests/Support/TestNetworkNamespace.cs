using System.Diagnostics;
using System.Text.Json;

namespace TunTelemetry.IntegrationTests.Support;

/// <summary>
/// A network namespace a test makes and always removes: named (<c>ip netns add</c>, a bind mount in /run/netns) or
/// unnamed (held only by an <c>unshare -n</c> child, reachable through /proc/PID/ns/net). Commands run inside with
/// <c>ip -n</c> / <c>nsenter</c>; counters are read with <c>ip -s -j link</c> (nsenter keeps the host's /sys).
/// </summary>
public sealed class TestNetworkNamespace : IDisposable
{
    private readonly Process? _holder;

    private TestNetworkNamespace(string? name, Process? holder, string path)
    {
        Name = name;
        _holder = holder;
        Path = path;
    }

    /// <summary>The <c>ip netns</c> name; null for an unnamed namespace.</summary>
    public string? Name { get; }

    /// <summary>A file that opens the namespace: /run/netns/NAME or /proc/PID/ns/net.</summary>
    public string Path { get; }

    /// <summary>The process holding an unnamed namespace.</summary>
    public int? HolderPid => _holder?.Id;

    /// <param name="name">The <c>ip netns</c> name (any bytes a file name may have); by default one of this run's own.</param>
    public static TestNetworkNamespace CreateNamed(string? name = null)
    {
        name ??= $"ttn{Random.Shared.Next():x8}";
        Command.Run("ip", "netns", "add", name);
        var ns = new TestNetworkNamespace(name, null, $"/run/netns/{name}");
        ns.Ip("link", "set", "lo", "up");
        return ns;
    }

    public static TestNetworkNamespace CreateUnnamed()
    {
        var start = new ProcessStartInfo("unshare", ["-n", "sleep", "infinity"]) { UseShellExecute = false };
        Process holder = Process.Start(start) ?? throw new InvalidOperationException("could not start unshare");
        string path = $"/proc/{holder.Id}/ns/net";
        // unshare creates the namespace, then execs sleep: wait until the child's namespace differs from ours.
        DateTime deadline = DateTime.UtcNow.AddSeconds(30);
        while (InodeOf(path) == InodeOf("/proc/self/ns/net"))
        {
            if (DateTime.UtcNow > deadline || holder.HasExited)
            {
                holder.Kill();
                throw new InvalidOperationException("unshare -n did not enter a new network namespace within 30 s");
            }

            Thread.Sleep(20);
        }

        var ns = new TestNetworkNamespace(null, holder, path);
        ns.Ip("link", "set", "lo", "up");
        return ns;
    }

    /// <summary>Runs <c>ip ARGS</c> inside the namespace.</summary>
    public string Ip(params string[] arguments) =>
        Name is not null
            ? Command.Run("ip", ["-n", Name, .. arguments])
            : Command.Run("nsenter", [$"--net={Path}", "ip", .. arguments]);

    /// <summary>Adds a persistent TUN device (nobody reads it: every packet sent into it counts as tx_dropped).</summary>
    public void AddTun(string device)
    {
        Ip("tuntap", "add", "dev", device, "mode", "tun");
        Ip("link", "set", device, "up");
    }

    /// <summary>One counter of a device as <c>ip -s -j link</c> reports it (the kernel's rtnl_link_stats64).</summary>
    public ulong Statistic(string device, string direction, string field)
    {
        using JsonDocument json = JsonDocument.Parse(Ip("-s", "-j", "link", "show", "dev", device));
        return json.RootElement[0].GetProperty("stats64").GetProperty(direction).GetProperty(field).GetUInt64();
    }

    public int IfIndex(string device)
    {
        using JsonDocument json = JsonDocument.Parse(Ip("-j", "link", "show", "dev", device));
        return json.RootElement[0].GetProperty("ifindex").GetInt32();
    }

    /// <summary>Sends <paramref name="count"/> IPv4 packets into <paramref name="device"/> from inside the namespace.</summary>
    public int DropPackets(string device, int count) => NamespacePackets.Send(Path, device, count);

    /// <summary>The nsfs inode of the namespace (what identifies it).</summary>
    public ulong Inode => InodeOf(Path);

    /// <summary>Removes the namespace: deletes the bind mount, or stops the holding process.</summary>
    public void Delete()
    {
        if (Name is not null)
        {
            Command.TryRun("ip", "netns", "del", Name);
        }

        if (_holder is { HasExited: false })
        {
            _holder.Kill();
            _holder.WaitForExit(30_000);
        }
    }

    public void Dispose()
    {
        Delete();
        _holder?.Dispose();
    }

    private static ulong InodeOf(string path)
    {
        // stat -L: the nsfs inode behind the bind mount or the /proc link.
        return ulong.Parse(Command.Run("stat", "-L", "-c", "%i", path).Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
