using System.Collections.Concurrent;
using System.Diagnostics;
using TunTelemetry.Discovery;
using TunTelemetry.IntegrationTests.Support;
using Xunit;

namespace TunTelemetry.IntegrationTests.Discovery;

/// <summary>
/// Finding and following network namespaces on the real host: named ones (<c>ip netns add</c>), unnamed ones held by
/// <c>unshare -n</c> children, one inside a container-like cgroup; each made and removed by the test.
/// </summary>
public sealed class NamespaceDiscoveryTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private static NamespaceScanner Scanner => new(NamespaceScanner.DefaultDirectories);

    [NetAdminFact]
    public void A_named_namespace_is_found_once_by_its_bind_mount_and_its_processes_and_named_by_ip_netns()
    {
        using TestNetworkNamespace ns = TestNetworkNamespace.CreateNamed();
        using Process member = StartIn(ns.Path);
        using var memberGuard = new Stopper(member);

        DiscoveredNamespace found = FindByInode(Scanner.Scan(), ns.Inode);
        Assert.Equal([$"/run/netns/{ns.Name}"], found.BindMounts);
        Assert.Equal(member.Id, found.LowestPid);
        Assert.Equal(1, found.ProcessCount);
        Assert.Equal(ns.Name, NamespaceNaming.NameOf(found, Scanner.ReadCgroup));
    }

    [NetAdminFact]
    public void An_unnamed_namespace_is_named_after_its_lowest_pid()
    {
        using TestNetworkNamespace ns = TestNetworkNamespace.CreateUnnamed();
        using Process second = StartIn(ns.Path);
        using var secondGuard = new Stopper(second);

        DiscoveredNamespace found = FindByInode(Scanner.Scan(), ns.Inode);
        Assert.Empty(found.BindMounts);
        Assert.Equal(2, found.ProcessCount);
        int lowest = Math.Min(ns.HolderPid!.Value, second.Id);
        Assert.Equal(lowest, found.LowestPid);
        Assert.Equal($"pid:{lowest}", NamespaceNaming.NameOf(found, Scanner.ReadCgroup));
        Assert.Equal($"/proc/{lowest}/ns/net", found.OpenPath);
    }

    [NetAdminFact]
    public void A_namespace_whose_process_runs_in_a_container_cgroup_is_named_by_the_container_id()
    {
        string containerId = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()) + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());
        // The test's own parent (docker's would be /docker): two suites on one host never share or remove each other's.
        string parent = $"/sys/fs/cgroup/pids/tt{Random.Shared.Next():x8}-docker";
        string cgroup = $"{parent}/{containerId}";
        using TestNetworkNamespace ns = TestNetworkNamespace.CreateUnnamed();
        Directory.CreateDirectory(cgroup);
        try
        {
            File.WriteAllText($"{cgroup}/cgroup.procs", ns.HolderPid!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
            DiscoveredNamespace found = FindByInode(Scanner.Scan(), ns.Inode);
            Assert.Equal(containerId, NamespaceNaming.NameOf(found, Scanner.ReadCgroup));
        }
        finally
        {
            ns.Delete();
            RemoveCgroup(cgroup);
            RemoveCgroup(parent);
        }
    }

    [NetAdminFact]
    public void The_watcher_reports_namespaces_appearing_and_going_named_and_unnamed()
    {
        var changes = new BlockingCollection<NamespaceChange>();
        var warnings = new ConcurrentQueue<string>();
        using var watcher = new NamespaceFinder(Scanner, TimeSpan.FromSeconds(1), changes.Add, warnings.Enqueue);
        watcher.Start();

        using TestNetworkNamespace named = TestNetworkNamespace.CreateNamed();
        NamespaceChange appeared = WaitFor(changes, c => c.Kind == NamespaceChangeKind.Appeared && c.Namespace.Id.Inode == named.Inode);
        Assert.Equal(named.Name, appeared.Name);

        using TestNetworkNamespace unnamed = TestNetworkNamespace.CreateUnnamed();
        appeared = WaitFor(changes, c => c.Kind == NamespaceChangeKind.Appeared && c.Namespace.Id.Inode == unnamed.Inode);
        Assert.Equal($"pid:{unnamed.HolderPid}", appeared.Name);

        ulong namedInode = named.Inode, unnamedInode = unnamed.Inode;
        named.Delete();
        NamespaceChange gone = WaitFor(changes, c => c.Kind == NamespaceChangeKind.Gone && c.Namespace.Id.Inode == namedInode);
        Assert.Equal(named.Name, gone.Name);
        unnamed.Delete();
        WaitFor(changes, c => c.Kind == NamespaceChangeKind.Gone && c.Namespace.Id.Inode == unnamedInode);
        // Even root may be refused a process's namespace link (a non-dumpable init of another user namespace, as on
        // this test's own host): that is said in one line, once, not per scan.
        string? only = Assert.Single(warnings.Where(w => w.Contains("CAP_SYS_PTRACE", StringComparison.Ordinal)).DefaultIfEmpty());
        Assert.True(warnings.Count <= 1, string.Join(Environment.NewLine, warnings));
        Assert.True(only is null || only.StartsWith("cannot see the network namespaces of ", StringComparison.Ordinal), only);
    }

    [NetAdminFact]
    public void A_namespace_kept_alive_by_an_open_descriptor_is_gone_once_its_process_and_mount_are()
    {
        var changes = new BlockingCollection<NamespaceChange>();
        using var watcher = new NamespaceFinder(Scanner, TimeSpan.FromSeconds(1), changes.Add, _ => { });
        watcher.Start();
        using TestNetworkNamespace ns = TestNetworkNamespace.CreateUnnamed();
        ulong inode = ns.Inode;
        WaitFor(changes, c => c.Kind == NamespaceChangeKind.Appeared && c.Namespace.Id.Inode == inode);

        // The descriptor keeps the kernel's namespace alive; nothing is left in it to watch, so it must be reported gone.
        using Microsoft.Win32.SafeHandles.SafeFileHandle held = File.OpenHandle(ns.Path);
        ns.Delete();
        WaitFor(changes, c => c.Kind == NamespaceChangeKind.Gone && c.Namespace.Id.Inode == inode);
    }

    [Fact]
    public void A_namespace_found_at_a_known_inode_under_other_bind_mounts_only_is_another_one_the_known_one_is_gone()
    {
        // The kernel hands a dead namespace's inode to the next namespace made: when that happens between two scans,
        // only the bind mounts tell the two apart. A stand-in netns directory whose one entry is renamed does that in
        // one step (a link to our own namespace file: no privilege needed), so no scan can see the inode free between.
        string root = Directory.CreateTempSubdirectory("tuntelemetry-reuse-").FullName;
        string netns = Directory.CreateDirectory(Path.Combine(root, "netns")).FullName;
        string proc = Directory.CreateDirectory(Path.Combine(root, "proc")).FullName;
        try
        {
            string dead = Path.Combine(netns, "dead"), reborn = Path.Combine(netns, "reborn");
            File.CreateSymbolicLink(dead, "/proc/self/ns/net");
            var changes = new BlockingCollection<NamespaceChange>();
            using var watcher = new NamespaceFinder(new NamespaceScanner([netns], proc), TimeSpan.FromHours(1), changes.Add, _ => { });
            watcher.Start();
            NamespaceChange appeared = WaitFor(changes, c => c.Kind == NamespaceChangeKind.Appeared);
            Assert.Equal([dead], appeared.Namespace.BindMounts);

            File.Move(dead, reborn);
            NamespaceChange gone = WaitFor(changes, _ => true);
            Assert.Equal((NamespaceChangeKind.Gone, "dead"), (gone.Kind, gone.Name));
            NamespaceChange another = WaitFor(changes, _ => true);
            Assert.Equal((NamespaceChangeKind.Appeared, "reborn", appeared.Namespace.Id), (another.Kind, another.Name, another.Namespace.Id));
            Assert.Equal([reborn], another.Namespace.BindMounts);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static DiscoveredNamespace FindByInode(NamespaceScan scan, ulong inode) =>
        Assert.Single(scan.Namespaces.Values, n => n.Id.Inode == inode);

    private static NamespaceChange WaitFor(BlockingCollection<NamespaceChange> changes, Func<NamespaceChange, bool> match)
    {
        DateTime deadline = DateTime.UtcNow + Deadline;
        while (changes.TryTake(out NamespaceChange? change, deadline - DateTime.UtcNow > TimeSpan.Zero ? deadline - DateTime.UtcNow : TimeSpan.Zero))
        {
            if (match(change))
            {
                return change;
            }
        }

        throw new Xunit.Sdk.XunitException("the expected namespace change was not reported within 30 s");
    }

    private static Process StartIn(string namespacePath)
    {
        var start = new ProcessStartInfo("nsenter", [$"--net={namespacePath}", "sleep", "infinity"]) { UseShellExecute = false };
        Process process = Process.Start(start) ?? throw new InvalidOperationException("could not start nsenter");
        DateTime deadline = DateTime.UtcNow + Deadline;
        // nsenter enters, then execs sleep: wait until the process is in the namespace.
        while (!NetworkNamespaceId.TryOf($"/proc/{process.Id}/ns/net", out NetworkNamespaceId id, out _) ||
               !NetworkNamespaceId.TryOf(namespacePath, out NetworkNamespaceId target, out _) || id != target)
        {
            if (DateTime.UtcNow > deadline)
            {
                process.Kill();
                throw new InvalidOperationException("nsenter did not enter the namespace within 30 s");
            }

            Thread.Sleep(20);
        }

        return process;
    }

    private static void RemoveCgroup(string cgroup)
    {
        DateTime deadline = DateTime.UtcNow + Deadline;
        while (Directory.Exists(cgroup))
        {
            try
            {
                Directory.Delete(cgroup);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50); // EBUSY until the killed process has left the cgroup
            }
        }
    }

    private sealed class Stopper(Process process) : IDisposable
    {
        public void Dispose()
        {
            if (!process.HasExited)
            {
                process.Kill();
                process.WaitForExit(30_000);
            }
        }
    }
}
