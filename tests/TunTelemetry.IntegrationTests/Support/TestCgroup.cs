using System.Globalization;

namespace TunTelemetry.IntegrationTests.Support;

/// <summary>
/// A cgroup a test makes with a CPU quota, on whichever hierarchy the host offers for the CPU controller (v1's
/// <c>cpu</c>, else v2 with <c>cpu</c> enabled below the root), and removes when disposed.
/// </summary>
public sealed class TestCgroup : IDisposable
{
    private TestCgroup(string directory, string path)
    {
        Directory = directory;
        Path = path;
    }

    /// <summary>Its directory in the cgroup file system.</summary>
    public string Directory { get; }

    /// <summary>Its path in its hierarchy, as <c>/proc/PID/cgroup</c> names it.</summary>
    public string Path { get; }

    /// <param name="quota">CPU time per period.</param>
    /// <param name="period">The period the quota renews in.</param>
    public static TestCgroup CreateWithQuota(TimeSpan quota, TimeSpan period)
    {
        string name = $"tt{Random.Shared.Next():x8}";
        long quotaMicroseconds = (long)quota.TotalMicroseconds, periodMicroseconds = (long)period.TotalMicroseconds;
        if (System.IO.Directory.Exists("/sys/fs/cgroup/cpu") && File.Exists("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"))
        {
            string v1 = $"/sys/fs/cgroup/cpu/{name}";
            System.IO.Directory.CreateDirectory(v1);
            File.WriteAllText($"{v1}/cpu.cfs_period_us", periodMicroseconds.ToString(CultureInfo.InvariantCulture));
            File.WriteAllText($"{v1}/cpu.cfs_quota_us", quotaMicroseconds.ToString(CultureInfo.InvariantCulture));
            return new TestCgroup(v1, $"/{name}");
        }

        if (File.Exists("/sys/fs/cgroup/cgroup.controllers") && File.ReadAllText("/sys/fs/cgroup/cgroup.controllers").Split(' ', '\n').Contains("cpu"))
        {
            File.WriteAllText("/sys/fs/cgroup/cgroup.subtree_control", "+cpu");
            string v2 = $"/sys/fs/cgroup/{name}";
            System.IO.Directory.CreateDirectory(v2);
            File.WriteAllText($"{v2}/cpu.max", string.Create(CultureInfo.InvariantCulture, $"{quotaMicroseconds} {periodMicroseconds}"));
            return new TestCgroup(v2, $"/{name}");
        }

        throw new InvalidOperationException("no cgroup hierarchy with the cpu controller: neither /sys/fs/cgroup/cpu (v1) nor cpu in /sys/fs/cgroup/cgroup.controllers (v2)");
    }

    private string[] ReadPids()
    {
        try
        {
            return File.ReadAllText($"{Directory}/cgroup.procs").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (IOException)
        {
            return [];
        }
    }

    public void Add(int pid) => File.WriteAllText($"{Directory}/cgroup.procs", pid.ToString(CultureInfo.InvariantCulture));

    public void Dispose()
    {
        // Processes still in it go back to the parent (the hierarchy's root here), whatever disposes first.
        string parent = System.IO.Path.GetDirectoryName(Directory)!;
        foreach (string pid in ReadPids())
        {
            try
            {
                File.WriteAllText($"{parent}/cgroup.procs", pid);
            }
            catch (IOException)
            {
                // exited meanwhile
            }
        }

        // EBUSY until the processes moved out or killed have left.
        DateTime deadline = DateTime.UtcNow.AddSeconds(30);
        while (System.IO.Directory.Exists(Directory))
        {
            try
            {
                System.IO.Directory.Delete(Directory);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50);
            }
        }
    }
}
