using TunTelemetry.Devices;

namespace TunTelemetry.Metrics;

/// <summary>What a series is kept by: a device name in a namespace (null: the agent's own).</summary>
internal readonly record struct SeriesKey(ulong? Netns, string Name)
{
    public static SeriesKey Of(TunDevice device) => new(device.Namespace?.Inode, device.Name);

    public override string ToString() => Netns is null ? Name : $"{Name} in netns:[{Netns}]";
}
