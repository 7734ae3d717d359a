using System.Text;
using TunTelemetry.Readers;
using TunTelemetry.Tests.Support;
using Xunit;

namespace TunTelemetry.Tests.Readers;

/// <summary>
/// The cgroup and /proc texts that say why a reader falls behind. Captured on Linux 6.18 (a hybrid host: v1 <c>cpu</c>
/// controller, v2 without controllers) from a busy shell loop in a v1 cgroup with <c>cpu.cfs_quota_us</c> 1000 and
/// period 100000; the v2 throttling texts follow the format of the kernel's Documentation/admin-guide/cgroup-v2.rst,
/// since this host has no v2 CPU controller to capture from.
/// </summary>
public sealed class CgroupTextTests
{
    private static string Text(string name) => Encoding.ASCII.GetString(Fixture.Read(name));

    [Fact]
    public void A_v1_cpu_stat_of_a_throttled_cgroup_gives_its_periods_and_throttled_time_in_seconds()
    {
        Assert.True(CgroupText.TryReadCpuStat(Text("cgroup_v1_cpu_stat_throttled_k6.18.txt"), out CgroupText.CpuStat stat));
        Assert.Equal(new CgroupText.CpuStat(30, 30, 2.83752843), stat);
    }

    [Fact]
    public void A_v2_cpu_stat_gives_the_same_in_microseconds_and_one_without_a_controller_gives_none()
    {
        Assert.True(CgroupText.TryReadCpuStat(Text("cgroup_v2_cpu_stat_throttled_cgroup-v2-rst.txt"), out CgroupText.CpuStat stat));
        Assert.Equal(new CgroupText.CpuStat(81, 79, 3.946), stat);
        Assert.False(CgroupText.TryReadCpuStat(Text("cgroup_v2_cpu_stat_root_nocontroller_k6.18.txt"), out _)); // no false 0
    }

    [Theory]
    [InlineData("1000\n", "100000\n", true, 0.001, 0.1)]
    [InlineData("-1\n", "100000\n", false, 0, 0)] // no limit
    [InlineData("", "100000\n", false, 0, 0)] // unreadable
    public void A_v1_quota_is_a_limit_unless_minus_one(string quota, string period, bool limited, double quotaSeconds, double periodSeconds)
    {
        Assert.Equal(limited, CgroupText.TryReadV1Quota(quota, period, out double q, out double p));
        Assert.Equal((quotaSeconds, periodSeconds), (q, p));
        Assert.True(CgroupText.TryReadV1Quota(Text("cgroup_v1_cpu_cfs_quota_us_k6.18.txt"), Text("cgroup_v1_cpu_cfs_period_us_k6.18.txt"), out q, out p));
        Assert.Equal((0.001, 0.1), (q, p));
    }

    [Theory]
    [InlineData("50000 100000\n", true, 0.05, 0.1)]
    [InlineData("max 100000\n", false, 0, 0)]
    [InlineData("garbage", false, 0, 0)]
    public void A_v2_cpu_max_is_a_limit_unless_max(string text, bool limited, double quotaSeconds, double periodSeconds)
    {
        Assert.Equal(limited, CgroupText.TryReadCpuMax(text, out double q, out double p));
        Assert.Equal((quotaSeconds, periodSeconds), (q, p));
    }

    [Fact]
    public void A_process_cgroup_file_names_its_v1_cpu_cgroup_and_its_v2_cgroup()
    {
        Assert.Equal(new CgroupText.ProcessCgroups("/ttcap1103", "/"), CgroupText.ReadProcessCgroups(Text("proc_cgroup_v1_throttled_k6.18.txt")));
        Assert.Equal(new CgroupText.ProcessCgroups(null, "/kubepods.slice/kubepods-burstable.slice/cri-containerd-0123.scope"),
            CgroupText.ReadProcessCgroups(Text("proc_cgroup_v2_only_cgroup-v2-rst.txt")));
        Assert.Equal(new CgroupText.ProcessCgroups("/docker/ab", null), CgroupText.ReadProcessCgroups("4:cpu,cpuacct:/docker/ab\n"));
    }

    [Fact]
    public void Mountinfo_gives_each_cgroup_mount_with_its_version_and_controllers()
    {
        IReadOnlyList<CgroupText.CgroupMount> mounts = CgroupText.ReadMounts(Text("proc_mountinfo_cgroup_hybrid_k6.18.txt"));
        CgroupText.CgroupMount cpu = Assert.Single(mounts, m => m.Controllers.Contains("cpu"));
        Assert.Equal(("/sys/fs/cgroup/cpu", "/", false), (cpu.MountPoint, cpu.Root, cpu.V2));
        Assert.Equal(["cpu"], cpu.Controllers);
        CgroupText.CgroupMount unified = Assert.Single(mounts, m => m.V2);
        Assert.Equal("/sys/fs/cgroup/unified", unified.MountPoint);
        Assert.DoesNotContain(mounts, m => m.MountPoint == "/sys/fs/cgroup"); // the tmpfs above them
        Assert.Empty(mounts.Single(m => m.MountPoint == "/sys/fs/cgroup/systemd").Controllers); // a named hierarchy: no controller
    }

    [Fact]
    public void A_cgroup_directory_is_found_under_a_mount_whose_root_is_above_it_only()
    {
        var host = new CgroupText.CgroupMount("/sys/fs/cgroup/cpu", "/", false, ["cpu"]);
        Assert.Equal("/sys/fs/cgroup/cpu/ttcap1103", CgroupText.DirectoryOf(host, "/ttcap1103"));
        var container = new CgroupText.CgroupMount("/sys/fs/cgroup", "/kubepods/pod1", true, []);
        Assert.Equal("/sys/fs/cgroup/c1", CgroupText.DirectoryOf(container, "/kubepods/pod1/c1"));
        Assert.Null(CgroupText.DirectoryOf(container, "/kubepods/pod2/c1"));
        Assert.Equal("/mnt/a b/x", CgroupText.DirectoryOf(CgroupText.ReadMounts("40 30 0:37 / /mnt/a\\040b rw - cgroup2 cgroup2 rw\n")[0], "/x"));
    }

    [Fact]
    public void Stat_and_schedstat_give_cpu_ticks_and_run_delay()
    {
        Assert.True(ProcText.TryReadCpuTicks(Fixture.Read("proc_stat_busy_throttled_k6.18.txt"), out ulong user, out ulong system));
        Assert.Equal((3UL, 0UL), (user, system));
        Assert.True(ProcText.TryReadCpuTicks(Fixture.Read(Fixture.StoppedStatWithParens), out _, out _)); // a comm with ") (" in it
        Assert.True(ProcText.TryReadRunDelay(Fixture.Read("proc_schedstat_throttled_k6.18.txt"), out ulong waited));
        Assert.Equal(2838709592UL, waited); // nearly all of it throttled: a throttled task waits on the run queue
        Assert.False(ProcText.TryReadCpuTicks("12 (x) S 1"u8, out _, out _));
        Assert.False(ProcText.TryReadRunDelay("garbage"u8, out _));
    }
}
