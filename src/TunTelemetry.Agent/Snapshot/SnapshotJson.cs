using System.Text.Encodings.Web;
using System.Text.Json;
using TunTelemetry.Netlink;
using TunTelemetry.Readers;

namespace TunTelemetry.Agent.Snapshot;

/// <summary>
/// <c>snapshot --json</c>: an array of <c>{"name", "ifindex", "kind", "link_up", "stats": {kernel field name: integer}}</c>,
/// with <c>--all-namespaces</c> <c>"netns": {"inode", "name"}</c>, and for TUN/TAP devices <c>"tun"</c> (the kernel's TUN settings) and <c>"readers": [{"pid", "name", "state"}]</c>.
/// <c>rx_otherhost_dropped</c> appears only when the kernel sends it, so a missing value is never shown as 0; a TUN
/// setting the kernel omits (owner, group unset; queue counts of a single-queue device) is null. Names are exact (a
/// machine output: control characters only as JSON's <c>\u001b</c>); a device or process name that is not valid UTF-8
/// is printable ASCII with its other bytes and its backslashes as <c>\xNN</c> (<see cref="InterfaceName.Decode"/>).
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
                json.WriteBoolean("link_up", snapshot.Link.IsUpWithCarrier);
                if (snapshot.Netns is { } netns)
                {
                    json.WriteStartObject("netns");
                    json.WriteNumber("inode", netns.Inode);
                    json.WriteString("name", netns.Name);
                    json.WriteEndObject();
                }
                if (snapshot.Link.Tun is { } tun)
                {
                    WriteTun(json, tun);
                }

                if (snapshot.Readers is { } readers)
                {
                    json.WriteStartArray("readers");
                    foreach (TunReader reader in readers)
                    {
                        json.WriteStartObject();
                        json.WriteNumber("pid", reader.Pid);
                        json.WriteString("name", reader.Name);
                        json.WriteString("state", reader.StateName);
                        json.WriteEndObject();
                    }

                    json.WriteEndArray();
                }

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

    private static void WriteTun(Utf8JsonWriter json, TunLinkInfo tun)
    {
        json.WriteStartObject("tun");
        json.WriteString("type", tun.Type);
        WriteNumberOrNull(json, "owner", tun.Owner);
        WriteNumberOrNull(json, "group", tun.Group);
        json.WriteBoolean("pi", tun.PacketInfo);
        json.WriteBoolean("vnet_hdr", tun.VnetHeader);
        json.WriteBoolean("persist", tun.Persist);
        json.WriteBoolean("multi_queue", tun.MultiQueue);
        WriteNumberOrNull(json, "num_queues", tun.Queues);
        WriteNumberOrNull(json, "num_disabled_queues", tun.DisabledQueues);
        json.WriteEndObject();
    }

    private static void WriteNumberOrNull(Utf8JsonWriter json, string name, uint? value)
    {
        if (value is { } number)
        {
            json.WriteNumber(name, number);
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
