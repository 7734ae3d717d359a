using System.Globalization;

namespace TunTelemetry.Agent.Diagnose;

/// <summary>What a reader did over the window, from the kernel's counters at its start and end.</summary>
/// <param name="State">Its state letter at the end (<c>T</c>/<c>t</c>: stopped or traced).</param>
/// <param name="CpuShare">CPU it used (user + system) per second of the window: 1.0 is a whole core.</param>
/// <param name="RunDelayShare">Time it waited for a CPU per second of the window; null when unreadable.</param>
/// <param name="Throttling">Its cgroup's quota and what it did over the window; null when no quota or unreadable.</param>
internal sealed record ReaderWindow(int Pid, string Name, char State, double? CpuShare, double? RunDelayShare, ThrottlingWindow? Throttling)
{
    public string Shown => $"{Name}[{Pid}]";
}

/// <summary>A cgroup's CPU quota and its periods over the window.</summary>
internal sealed record ThrottlingWindow(string Cgroup, double QuotaSeconds, double PeriodSeconds, ulong Periods, ulong ThrottledPeriods, double ThrottledSeconds)
{
    public double ThrottledShare => Periods == 0 ? 0 : (double)ThrottledPeriods / Periods;
}

/// <summary>What a device did over the window.</summary>
/// <param name="Drops">Packets its TX queue dropped (growth of <c>tx_dropped</c>).</param>
/// <param name="TxQueueLength">Its <c>txqueuelen</c>: packets that wait before the kernel drops.</param>
/// <param name="LargestBurst">The most packets sent to it (delivered or dropped) within one sampling step.</param>
/// <param name="DropsOutsideBursts">Drops in steps where fewer than <see cref="TxQueueLength"/> packets came.</param>
/// <param name="ReadersHidden">Whether some processes' open files could not be read (not root): a reader may be among them.</param>
internal sealed record DeviceWindow(string Name, string? Namespace, ulong Drops, uint TxQueueLength, ulong LargestBurst, ulong DropsOutsideBursts,
    IReadOnlyList<ReaderWindow> Readers, bool ReadersHidden);

/// <summary>The cause of a device's drops, its evidence in words, and what to change.</summary>
internal sealed record DropCause(string Code, string Evidence, string Remedy)
{
    public const string NobodyHolds = "nobody_holds";
    public const string NoReaderVisible = "no_reader_visible";
    public const string ReaderStopped = "reader_stopped";
    public const string CgroupThrottled = "cgroup_throttled";
    public const string ReaderSaturated = "reader_saturated";
    public const string CpuContention = "cpu_contention";
    public const string Bursts = "bursts";
    public const string Unknown = "unknown";

    /// <summary>A reader using this share of a core or more cannot keep up on one core.</summary>
    public const double SaturatedShare = 0.9;

    /// <summary>A reader that waited this share of the window or more for a CPU was held back by a busy host.</summary>
    public const double ContendedShare = 0.1;

    /// <summary>
    /// The cause of <paramref name="device"/>'s drops, from the evidence in this order: nobody holds it; its reader is
    /// stopped or traced; its reader's cgroup was throttled; its reader used most of a core; its reader waited for a
    /// CPU; bursts larger than its queue with a reader that keeps up otherwise; else unknown, saying what was seen.
    /// The first that holds is the cause: a stopped reader is not throttled, and a throttled one also waits on the run
    /// queue (measured: a task throttled for 2.84 s of 3 s showed 2.84 s of run delay), so the order matters.
    /// </summary>
    public static DropCause Of(DeviceWindow device)
    {
        IReadOnlyList<ReaderWindow> readers = device.Readers;
        if (readers.Count == 0)
        {
            return device.ReadersHidden
                ? new DropCause(NoReaderVisible, "no process this user can see holds it",
                    "run diagnose as root to see every process's open files")
                : new DropCause(NobodyHolds, "nobody holds it: no process has its queue open, so every packet sent to it is dropped",
                    "start the program that reads it (its VPN daemon), or delete the device");
        }

        if (readers.FirstOrDefault(r => r.State is 'T' or 't') is { } stopped)
        {
            string how = stopped.State == 't' ? "stopped by a tracer (a debugger)" : "stopped (SIGSTOP)";
            return new DropCause(ReaderStopped, $"its reader {stopped.Shown} is {how}",
                string.Create(CultureInfo.InvariantCulture, $"resume it (kill -CONT {stopped.Pid}) or detach the tracer"));
        }

        if (readers.Where(r => r.Throttling is { ThrottledPeriods: > 0 }).OrderByDescending(r => r.Throttling!.ThrottledShare).FirstOrDefault() is { } throttled)
        {
            ThrottlingWindow t = throttled.Throttling!;
            return new DropCause(CgroupThrottled, string.Create(CultureInfo.InvariantCulture,
                $"its reader {throttled.Shown}'s cgroup {t.Cgroup} was throttled in {t.ThrottledShare:P0} of its CPU periods ({t.ThrottledPeriods} of {t.Periods}, {t.ThrottledSeconds:0.00} s stopped) by its quota of {t.QuotaSeconds * 1000:0.##} ms per {t.PeriodSeconds * 1000:0.##} ms ({t.QuotaSeconds / t.PeriodSeconds:0.###} CPU)"),
                "raise its CPU limit (cpu.max or cpu.cfs_quota_us; in Kubernetes resources.limits.cpu), or remove it");
        }

        if (readers.Where(r => r.CpuShare >= SaturatedShare).OrderByDescending(r => r.CpuShare).FirstOrDefault() is { } busy)
        {
            return new DropCause(ReaderSaturated, string.Create(CultureInfo.InvariantCulture,
                $"its reader {busy.Shown} used {busy.CpuShare:P0} of a core: it cannot keep up on one core"),
                "spread the device over several queues (IFF_MULTI_QUEUE) read by several threads, or use a faster reader");
        }

        if (readers.Where(r => r.RunDelayShare >= ContendedShare).OrderByDescending(r => r.RunDelayShare).FirstOrDefault() is { } waiting)
        {
            return new DropCause(CpuContention, string.Create(CultureInfo.InvariantCulture,
                $"its reader {waiting.Shown} waited {waiting.RunDelayShare:P0} of the time for a CPU: the host's CPUs are busy"),
                "give the reader priority (nice, cpu.weight or a reserved CPU) or move other load away");
        }

        if (device.LargestBurst > device.TxQueueLength && device.DropsOutsideBursts == 0)
        {
            return new DropCause(Bursts, string.Create(CultureInfo.InvariantCulture,
                $"bursts of up to {device.LargestBurst} packets, more than its queue holds (txqueuelen {device.TxQueueLength}), while its reader keeps up otherwise"),
                string.Create(CultureInfo.InvariantCulture, $"raise its queue (ip link set dev {device.Name} txqueuelen {Math.Max(device.TxQueueLength * 4, 1000)})"));
        }

        return new DropCause(Unknown, "cause unknown: " + string.Join("; ", readers.Select(Seen)),
            "watch it longer (--for 60s), and check the reader's own log");
    }

    private static string Seen(ReaderWindow r) => string.Create(CultureInfo.InvariantCulture,
        $"its reader {r.Shown} used {Share(r.CpuShare)} of a core, waited {Share(r.RunDelayShare)} of the time for a CPU, {(r.Throttling is null ? "had no CPU quota" : "was not throttled")}");

    private static string Share(double? share) => share is { } s ? s.ToString("P0", CultureInfo.InvariantCulture) : "an unknown share";
}
