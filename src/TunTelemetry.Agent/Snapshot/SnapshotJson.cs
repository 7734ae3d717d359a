using System.Text.Encodings.Web;
using System.Text.Json;
using TunTelemetry.Netlink;

namespace TunTelemetry.Agent.Snapshot;

/// <summary>
/// <c>snapshot --json</c>: an array of <c>{"name", "ifindex", "kind", "stats": {kernel field name: integer}}</c>.
/// <c>rx_otherhost_dropped</c> appears only when the kernel sends it, so a missing value is never shown as 0.
/// </summary>
internal static class SnapshotJson
{
    internal static void Write(IReadOnlyList<DeviceSnapshot> snapshots, TextWriter output)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions
        {
            Indented = true,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        }))
        {
            json.WriteStartArray();
            foreach (DeviceSnapshot snapshot in snapshots)
            {
                json.WriteStartObject();
                json.WriteString("name", snapshot.Link.Name);
                json.WriteNumber("ifindex", snapshot.Link.IfIndex);
                json.WriteString("kind", snapshot.Link.Kind);
                json.WriteStartObject("stats");
                for (int i = 0; i < snapshot.Stats.FieldCount; i++)
                {
                    var field = (LinkStats64Field)i;
                    json.WriteNumber(field.KernelName(), snapshot.Stats[field]);
                }

                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
    }
}
