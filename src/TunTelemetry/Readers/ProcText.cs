namespace TunTelemetry.Readers;

/// <summary>
/// Allocation-free parsers for the <c>/proc</c> texts the reader scan needs (formats in proc(5) and
/// <c>tun_chr_show_fdinfo</c> in <c>drivers/net/tun.c</c>).
/// </summary>
internal static class ProcText
{
    private static ReadOnlySpan<byte> IffPrefix => "iff:\t"u8;

    private static ReadOnlySpan<byte> NetPrefix => "net:["u8;

    /// <summary>
    /// The device name in the <c>iff:\tNAME</c> line of an <c>fdinfo</c> file of an open <c>/dev/net/tun</c>; false
    /// when there is none (a tun file not attached to any device yet).
    /// </summary>
    public static bool TryReadIff(ReadOnlySpan<byte> fdinfo, out ReadOnlySpan<byte> name)
    {
        while (!fdinfo.IsEmpty)
        {
            int end = fdinfo.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = end < 0 ? fdinfo : fdinfo[..end];
            if (line.StartsWith(IffPrefix) && line.Length > IffPrefix.Length)
            {
                name = line[IffPrefix.Length..];
                return true;
            }

            fdinfo = end < 0 ? default : fdinfo[(end + 1)..];
        }

        name = default;
        return false;
    }

    /// <summary>
    /// The command name and state letter of <c>/proc/PID/stat</c>: <c>PID (COMM) S ...</c>. The name may itself hold
    /// spaces and parentheses, so it ends at the last <c>)</c>.
    /// </summary>
    public static bool TryReadStat(ReadOnlySpan<byte> stat, out ReadOnlySpan<byte> comm, out char state)
    {
        int open = stat.IndexOf((byte)'(');
        int close = stat.LastIndexOf((byte)')');
        if (open < 0 || close < open || close + 2 >= stat.Length || stat[close + 1] != (byte)' ')
        {
            comm = default;
            state = '\0';
            return false;
        }

        comm = stat[(open + 1)..close];
        state = (char)stat[close + 2];
        return true;
    }

    /// <summary>
    /// The user and system CPU time of <c>/proc/PID/stat</c> (fields 14 and 15, <c>utime</c> and <c>stime</c>, in clock
    /// ticks), counted after the command name, which may hold spaces and parentheses.
    /// </summary>
    internal static bool TryReadCpuTicks(ReadOnlySpan<byte> stat, out ulong userTicks, out ulong systemTicks)
    {
        userTicks = systemTicks = 0;
        int close = stat.LastIndexOf((byte)')');
        if (close < 0 || close + 2 >= stat.Length)
        {
            return false;
        }

        // After ") ": field 3 (state) is the first; utime is field 14, the twelfth after it.
        ReadOnlySpan<byte> rest = stat[(close + 2)..];
        for (int field = 3; field < 14; field++)
        {
            int space = rest.IndexOf((byte)' ');
            if (space < 0)
            {
                return false;
            }

            rest = rest[(space + 1)..];
        }

        return System.Buffers.Text.Utf8Parser.TryParse(rest, out userTicks, out int used)
            && used < rest.Length && rest[used] == (byte)' '
            && System.Buffers.Text.Utf8Parser.TryParse(rest[(used + 1)..], out systemTicks, out _);
    }

    /// <summary>
    /// The time spent waiting on a run queue, in nanoseconds: the second of <c>/proc/PID/schedstat</c>'s three numbers
    /// (time on a CPU, time waiting for one, time slices run; Documentation/scheduler/sched-stats.rst).
    /// </summary>
    internal static bool TryReadRunDelay(ReadOnlySpan<byte> schedstat, out ulong waitNanoseconds)
    {
        waitNanoseconds = 0;
        int space = schedstat.IndexOf((byte)' ');
        return space > 0 && System.Buffers.Text.Utf8Parser.TryParse(schedstat[(space + 1)..], out waitNanoseconds, out int used) && used > 0;
    }

    /// <summary>The inode of a network namespace link (<c>readlink /proc/PID/ns/net</c>: <c>net:[4026531840]</c>).</summary>
    public static bool TryReadNetNamespace(ReadOnlySpan<byte> link, out ulong inode)
    {
        inode = 0;
        if (!link.StartsWith(NetPrefix) || link.Length < NetPrefix.Length + 2 || link[^1] != (byte)']')
        {
            return false;
        }

        return System.Buffers.Text.Utf8Parser.TryParse(link[NetPrefix.Length..^1], out inode, out int consumed)
            && consumed == link.Length - NetPrefix.Length - 1;
    }
}
