using System.Globalization;
using TunTelemetry.Netlink;

namespace TunTelemetry.Agent.Snapshot;

/// <summary>
/// <c>snapshot</c> for people: one column per device, one row per counter, so 25 counters stay readable in a terminal.
/// </summary>
internal static class SnapshotTable
{
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

        string[] Row(string label, Func<DeviceSnapshot, string> cell) =>
            [label, .. snapshots.Select(cell)];
    }
}
