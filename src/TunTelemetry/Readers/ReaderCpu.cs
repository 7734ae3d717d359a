namespace TunTelemetry.Readers;

/// <summary>
/// What the kernel says about a reading process's CPU, read at the reader interval: enough to tell why a running reader
/// falls behind. Cumulative values, as the kernel keeps them; a part that could not be read is null, never 0.
/// </summary>
/// <param name="UserSeconds">CPU time in user mode (<c>/proc/PID/stat</c> <c>utime</c>).</param>
/// <param name="SystemSeconds">CPU time in the kernel on its behalf (<c>stime</c>).</param>
/// <param name="RunDelaySeconds">Time it was ready to run but waited on a run queue (<c>/proc/PID/schedstat</c>); null without schedstats.</param>
/// <param name="Throttling">Its cgroup's CPU quota and how often it was throttled; null when the cgroup has no quota or cannot be read.</param>
internal sealed record ReaderCpu(double UserSeconds, double SystemSeconds, double? RunDelaySeconds, CgroupCpuThrottling? Throttling);

/// <summary>
/// The CPU bandwidth limit of a cgroup and what it did (cgroup v1 <c>cpu.stat</c>, <c>cpu.cfs_quota_us</c>,
/// <c>cpu.cfs_period_us</c>; v2 <c>cpu.stat</c> and <c>cpu.max</c>): a Kubernetes CPU limit is such a quota.
/// </summary>
/// <param name="Cgroup">The cgroup's path in its hierarchy (<c>/kubepods/…</c>), as <c>/proc/PID/cgroup</c> gives it.</param>
/// <param name="QuotaSeconds">CPU time the cgroup may use per period.</param>
/// <param name="PeriodSeconds">The period the quota renews in.</param>
/// <param name="Periods">Periods in which the cgroup wanted CPU (<c>nr_periods</c>).</param>
/// <param name="ThrottledPeriods">Of those, periods in which it used up its quota and was stopped (<c>nr_throttled</c>).</param>
/// <param name="ThrottledSeconds">Time its tasks spent stopped for that (<c>throttled_time</c> / <c>throttled_usec</c>).</param>
internal sealed record CgroupCpuThrottling(string Cgroup, double QuotaSeconds, double PeriodSeconds, ulong Periods, ulong ThrottledPeriods, double ThrottledSeconds)
{
    /// <summary>How many CPUs the quota amounts to (0.5: half a core).</summary>
    public double Cpus => QuotaSeconds / PeriodSeconds;
}
