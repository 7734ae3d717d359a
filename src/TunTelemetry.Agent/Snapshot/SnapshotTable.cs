using System.Globalization;
using TunTelemetry.Devices;
using TunTelemetry.Netlink;
using TunTelemetry.Readers;

namespace TunTelemetry.Agent.Snapshot;

/// <summary>
/// <c>snapshot</c> for people: one column per device, one row per counter, so 25 counters stay readable in a terminal.
/// </summary>
internal static class SnapshotTable
{
    /// <summary>
    /// <c>name[pid]</c> per reader, with a stopped or not running one flagged in capitals; <c>none</c>. Escaped for a
    /// person (<see cref="HumanText"/>): a process names itself.
    /// </summary>
    internal static string Readers(IReadOnlyList<TunReader> readers) =>
        readers.Count == 0 ? "none" : HumanText.Escape(string.Join(",", readers.Select(r => r.IsNotRunning ? $"{r}:{r.StateName.ToUpperInvariant()}" : r.ToString())));

    private static string TunSettings(TunLinkInfo tun)
    {
        var flags = new List<string>();
        if (tun.PacketInfo)
        {
            flags.Add("pi");
        }

        if (tun.VnetHeader)
        {
            flags.Add("vnet_hdr");
        }

        if (tun.Persist)
        {
            flags.Add("persist");
        }

        if (tun.MultiQueue)
        {
            flags.Add("multi_queue");
        }

        if (tun.Owner is { } owner)
        {
            flags.Add(string.Create(CultureInfo.InvariantCulture, $"owner={owner}"));
        }

        if (tun.Group is { } group)
        {
            flags.Add(string.Create(CultureInfo.InvariantCulture, $"group={group}"));
        }

        return flags.Count == 0 ? "-" : string.Join(",", flags);
    }

    internal static void Write(IReadOnlyList<DeviceSnapshot> snapshots, TextWriter output)
    {
        if (snapshots.Count == 0)
        {
            output.WriteLine("No TUN/TAP devices found (use --all-links to show every link).");
            return;
        }

        var rows = new List<string[]>
        {
            Row("device", s => s.Link.Name),
            Row("ifindex", s => s.Link.IfIndex.ToString(CultureInfo.InvariantCulture)),
            Row("kind", s => s.Link.Kind),
        };
        if (snapshots.Any(s => s.Netns is not null))
        {
            // With --all-namespaces: devices are columns here, so the namespace is a row, named as on the series.
            rows.Add(Row("netns", s => s.Netns is { } ns ? $"{ns.Name} [{ns.Inode}]" : "-"));
        }

        rows.AddRange(
        [
            Row("link_up", s => s.Link.IsUpWithCarrier ? "yes" : "no"),
            Row("tun", s => s.Link.Tun is { } tun ? TunSettings(tun) : "-"),
            Row("queues", s => s.Link.Tun is { Queues: { } queues } tun ? $"{queues} enabled, {tun.DisabledQueues ?? 0} disabled" : "-"),
            Row("readers", s => s.Readers is null ? "-" : Readers(s.Readers)),
        ]);
        for (int i = 0; i < LinkStats64.MaxFieldCount; i++)
        {
            var field = (LinkStats64Field)i;
            rows.Add(Row(field.KernelName(), s => i < s.Stats.FieldCount ? s.Stats[field].ToString(CultureInfo.InvariantCulture) : "-"));
        }

        int[] widths = new int[snapshots.Count + 1];
        foreach (string[] row in rows)
        {
            for (int c = 0; c < row.Length; c++)
            {
                widths[c] = Math.Max(widths[c], row[c].Length);
            }
        }

        foreach (string[] row in rows)
        {
            var line = new System.Text.StringBuilder(row[0].PadRight(widths[0]));
            for (int c = 1; c < row.Length; c++)
            {
                line.Append("  ").Append(row[c].PadLeft(widths[c]));
            }

            output.WriteLine(line.ToString());
        }

        // Every cell escaped: names (device, namespace, readers' comm) are anyone's to choose.
        string[] Row(string label, Func<DeviceSnapshot, string> cell) =>
            [label, .. snapshots.Select(s => HumanText.Escape(cell(s)))];
    }
}
