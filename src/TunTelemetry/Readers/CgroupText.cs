using System.Globalization;

namespace TunTelemetry.Readers;

/// <summary>
/// Parsers for the cgroup texts that say whether a process is CPU-throttled, for both hierarchies (formats in
/// Documentation/admin-guide/cgroup-v1/cgroups.rst and scheduler/sched-bwc.rst, and admin-guide/cgroup-v2.rst):
/// <c>/proc/PID/cgroup</c>, <c>/proc/self/mountinfo</c>, <c>cpu.stat</c>, <c>cpu.max</c>.
/// </summary>
internal static class CgroupText
{
    /// <summary>Where a process's CPU controller is: v1's <c>cpu</c> hierarchy, or v2's single one.</summary>
    /// <param name="V1CpuPath">Its path in the v1 hierarchy that has the <c>cpu</c> controller; null if none.</param>
    /// <param name="V2Path">Its path in the v2 hierarchy (the <c>0::</c> line); null if none.</param>
    public readonly record struct ProcessCgroups(string? V1CpuPath, string? V2Path);

    /// <summary>A cgroup file system as mounted: where, which root of its hierarchy, v1 or v2, and (v1) its controllers.</summary>
    public sealed record CgroupMount(string MountPoint, string Root, bool V2, IReadOnlyList<string> Controllers);

    /// <summary>The throttling counters of a <c>cpu.stat</c> (v1 <c>throttled_time</c> in ns, v2 <c>throttled_usec</c> in µs).</summary>
    public readonly record struct CpuStat(ulong Periods, ulong ThrottledPeriods, double ThrottledSeconds);

    /// <summary>The lines of <c>/proc/PID/cgroup</c>: <c>ID:CONTROLLERS:PATH</c> (v1), <c>0::PATH</c> (v2).</summary>
    public static ProcessCgroups ReadProcessCgroups(string text)
    {
        string? v1 = null, v2 = null;
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            int first = line.IndexOf(':');
            int second = first < 0 ? -1 : line.IndexOf(':', first + 1);
            if (second < 0)
            {
                continue;
            }

            string controllers = line[(first + 1)..second];
            string path = line[(second + 1)..];
            if (controllers.Length == 0 && line.StartsWith("0:", StringComparison.Ordinal))
            {
                v2 = path;
            }
            else if (controllers.Split(',').Contains("cpu"))
            {
                v1 = path;
            }
        }

        return new ProcessCgroups(v1, v2);
    }

    /// <summary>
    /// The cgroup mounts of a <c>/proc/PID/mountinfo</c>: <c>ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [TAGS] - TYPE
    /// SOURCE SUPEROPTIONS</c>; the controllers of a v1 mount are among its super options.
    /// </summary>
    public static IReadOnlyList<CgroupMount> ReadMounts(string mountinfo)
    {
        var mounts = new List<CgroupMount>();
        foreach (string line in mountinfo.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] fields = line.Split(' ');
            int separator = Array.IndexOf(fields, "-");
            if (separator < 6 || separator + 3 >= fields.Length)
            {
                continue;
            }

            string type = fields[separator + 1];
            if (type is not ("cgroup" or "cgroup2"))
            {
                continue;
            }

            string[] superOptions = fields[separator + 3].Split(',');
            mounts.Add(new CgroupMount(Unescape(fields[4]), Unescape(fields[3]), type == "cgroup2",
                type == "cgroup" ? superOptions.Where(o => o is not ("rw" or "ro") && !o.Contains('=')).ToArray() : []));
        }

        return mounts;
    }

    /// <summary>
    /// The directory of cgroup <paramref name="path"/> under <paramref name="mount"/>, or null when the mount does not
    /// show it (the mount's root is elsewhere in the hierarchy, as in a container).
    /// </summary>
    public static string? DirectoryOf(CgroupMount mount, string path)
    {
        string root = mount.Root.TrimEnd('/');
        if (root.Length > 0 && !(path == root || path.StartsWith(root + "/", StringComparison.Ordinal)))
        {
            return null;
        }

        return mount.MountPoint.TrimEnd('/') + path[root.Length..];
    }

    /// <summary>The throttling counters of a v1 or v2 <c>cpu.stat</c>; false when it has none (no CPU controller).</summary>
    public static bool TryReadCpuStat(string text, out CpuStat stat)
    {
        ulong? periods = null, throttled = null;
        double? seconds = null;
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            int space = line.IndexOf(' ');
            if (space < 0 || !ulong.TryParse(line.AsSpan(space + 1), NumberStyles.None, CultureInfo.InvariantCulture, out ulong value))
            {
                continue;
            }

            switch (line[..space])
            {
                case "nr_periods": periods = value; break;
                case "nr_throttled": throttled = value; break;
                case "throttled_time": seconds = value / 1e9; break; // v1: nanoseconds
                case "throttled_usec": seconds = value / 1e6; break; // v2: microseconds
            }
        }

        stat = new CpuStat(periods ?? 0, throttled ?? 0, seconds ?? 0);
        return periods is not null && throttled is not null && seconds is not null;
    }

    /// <summary>
    /// A v2 <c>cpu.max</c>: <c>QUOTA PERIOD</c> in µs, or <c>max PERIOD</c> for no limit (false). v1 keeps the two
    /// apart: <c>cpu.cfs_quota_us</c> (-1 for no limit) and <c>cpu.cfs_period_us</c> (<see cref="TryReadV1Quota"/>).
    /// </summary>
    public static bool TryReadCpuMax(string text, out double quotaSeconds, out double periodSeconds)
    {
        quotaSeconds = periodSeconds = 0;
        string[] words = text.Trim().Split(' ');
        if (words.Length != 2 || words[0] == "max"
            || !ulong.TryParse(words[0], NumberStyles.None, CultureInfo.InvariantCulture, out ulong quota)
            || !ulong.TryParse(words[1], NumberStyles.None, CultureInfo.InvariantCulture, out ulong period) || period == 0)
        {
            return false;
        }

        quotaSeconds = quota / 1e6;
        periodSeconds = period / 1e6;
        return true;
    }

    /// <summary>v1's <c>cpu.cfs_quota_us</c> and <c>cpu.cfs_period_us</c>; false for no limit (a quota of -1).</summary>
    public static bool TryReadV1Quota(string quotaText, string periodText, out double quotaSeconds, out double periodSeconds)
    {
        quotaSeconds = periodSeconds = 0;
        if (!long.TryParse(quotaText.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long quota) || quota <= 0
            || !ulong.TryParse(periodText.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out ulong period) || period == 0)
        {
            return false;
        }

        quotaSeconds = quota / 1e6;
        periodSeconds = period / 1e6;
        return true;
    }

    // mountinfo escapes space, tab, newline and backslash as \ooo (octal).
    private static string Unescape(string field)
    {
        if (!field.Contains('\\'))
        {
            return field;
        }

        var text = new System.Text.StringBuilder(field.Length);
        for (int i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length && field.AsSpan(i + 1, 3).IndexOfAnyExceptInRange('0', '7') < 0)
            {
                text.Append((char)Convert.ToInt32(field.Substring(i + 1, 3), 8));
                i += 3;
            }
            else
            {
                text.Append(field[i]);
            }
        }

        return text.ToString();
    }
}
