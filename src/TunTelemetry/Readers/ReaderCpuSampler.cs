using System.Runtime.InteropServices;

namespace TunTelemetry.Readers;

/// <summary>
/// Reads a reader's <see cref="ReaderCpu"/>: its <c>/proc/PID/stat</c> CPU times and <c>schedstat</c> run delay, and
/// the CPU quota and throttling of its cgroup in whichever hierarchy has the CPU controller: v1's <c>cpu</c> when
/// mounted (a hybrid host), else v2's. The cgroup mounts are found once, from <c>/proc/self/mountinfo</c>.
/// </summary>
/// <remarks>
/// A handful of small reads per reader of a watched device and interval, nothing for devices without readers
/// (docs/performance.md, "Reader CPU"). Any of them may fail (the process exited, <c>/sys/fs/cgroup</c> not mounted in
/// this mount namespace, as under <c>ip netns exec</c>): that part is null, the rest stays.
/// </remarks>
internal sealed partial class ReaderCpuSampler
{
    private readonly string _procRoot;
    private readonly CgroupText.CgroupMount? _v1Cpu;
    private readonly CgroupText.CgroupMount? _v2;
    private readonly double _ticksPerSecond;

    /// <param name="procRoot">Where proc is mounted (a test's stand-in directory, or <c>/proc</c>).</param>
    /// <param name="mountinfo">The text of a mountinfo file; null reads <c>/proc/self/mountinfo</c>.</param>
    public ReaderCpuSampler(string procRoot = "/proc", string? mountinfo = null)
    {
        _procRoot = procRoot;
        IReadOnlyList<CgroupText.CgroupMount> mounts = CgroupText.ReadMounts(mountinfo ?? ReadAll("/proc/self/mountinfo"));
        _v1Cpu = mounts.FirstOrDefault(m => !m.V2 && m.Controllers.Contains("cpu"));
        _v2 = mounts.FirstOrDefault(m => m.V2);
        long ticks = SysConf(ScClkTck);
        _ticksPerSecond = ticks > 0 ? ticks : 100;
    }

    /// <summary>Whether a cgroup file system is mounted where this process sees it: without, no quota can be read.</summary>
    public bool SeesCgroups => _v1Cpu is not null || _v2 is not null;

    /// <summary>
    /// The CPU of each of <paramref name="readers"/>, once per process however many devices it reads, by pid; a reader
    /// whose CPU could not be read is absent.
    /// </summary>
    public static Dictionary<int, ReaderCpu> SampleEach(IEnumerable<TunReader> readers, Func<int, ReaderCpu?> sample)
    {
        var cpu = new Dictionary<int, ReaderCpu>();
        foreach (TunReader reader in readers)
        {
            if (!cpu.ContainsKey(reader.Pid) && sample(reader.Pid) is { } sampled)
            {
                cpu[reader.Pid] = sampled;
            }
        }

        return cpu;
    }

    /// <summary>The reader's CPU, or null when its <c>/proc/PID/stat</c> cannot be read (it exited).</summary>
    public ReaderCpu? Sample(int pid)
    {
        if (!ProcText.TryReadCpuTicks(ReadBytes($"{_procRoot}/{pid}/stat"), out ulong user, out ulong system))
        {
            return null;
        }

        double? runDelay = ProcText.TryReadRunDelay(ReadBytes($"{_procRoot}/{pid}/schedstat"), out ulong waited)
            ? waited / 1e9
            : null;
        return new ReaderCpu(user / _ticksPerSecond, system / _ticksPerSecond, runDelay, Throttling(pid));
    }

    private CgroupCpuThrottling? Throttling(int pid)
    {
        CgroupText.ProcessCgroups cgroups = CgroupText.ReadProcessCgroups(ReadOrEmpty($"{_procRoot}/{pid}/cgroup"));
        if (_v1Cpu is { } v1 && cgroups.V1CpuPath is { } v1Path && CgroupText.DirectoryOf(v1, v1Path) is { } v1Directory)
        {
            return CgroupText.TryReadV1Quota(ReadOrEmpty($"{v1Directory}/cpu.cfs_quota_us"), ReadOrEmpty($"{v1Directory}/cpu.cfs_period_us"), out double quota, out double period)
                && CgroupText.TryReadCpuStat(ReadOrEmpty($"{v1Directory}/cpu.stat"), out CgroupText.CpuStat stat)
                ? new CgroupCpuThrottling(v1Path, quota, period, stat.Periods, stat.ThrottledPeriods, stat.ThrottledSeconds)
                : null;
        }

        if (_v2 is { } v2 && cgroups.V2Path is { } v2Path && CgroupText.DirectoryOf(v2, v2Path) is { } v2Directory)
        {
            return CgroupText.TryReadCpuMax(ReadOrEmpty($"{v2Directory}/cpu.max"), out double quota, out double period)
                && CgroupText.TryReadCpuStat(ReadOrEmpty($"{v2Directory}/cpu.stat"), out CgroupText.CpuStat stat)
                ? new CgroupCpuThrottling(v2Path, quota, period, stat.Periods, stat.ThrottledPeriods, stat.ThrottledSeconds)
                : null;
        }

        return null;
    }

    // One buffer for the small files read per sample (proc and cgroup files of a few hundred bytes): a sample is taken
    // by one actor at a time, and File.ReadAllText allocated about 40 KB a sample in buffers (perf reader-cpu).
    private readonly byte[] _buffer = new byte[4096];

    private ReadOnlySpan<byte> ReadBytes(string path)
    {
        try
        {
            using Microsoft.Win32.SafeHandles.SafeFileHandle file = File.OpenHandle(path);
            return _buffer.AsSpan(0, RandomAccess.Read(file, _buffer, 0));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return default;
        }
    }

    private string ReadOrEmpty(string path) => System.Text.Encoding.UTF8.GetString(ReadBytes(path));

    private static string ReadAll(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return string.Empty;
        }
    }

    private const int ScClkTck = 2; // _SC_CLK_TCK in glibc's bits/confname.h

    [LibraryImport("libc", EntryPoint = "sysconf")]
    private static partial long SysConf(int name);
}
