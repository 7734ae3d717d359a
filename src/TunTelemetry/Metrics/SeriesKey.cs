using TunTelemetry.Devices;

namespace TunTelemetry.Metrics;

/// <summary>What a series is kept by: a device name in a namespace (its inode).</summary>
internal readonly record struct SeriesKey(ulong Netns, string Name)
{
    public static SeriesKey Of(TunDevice device) => new(device.Home.Inode, device.Name);

    /// <summary>The series of the agent's own namespace's device of this name.</summary>
    public static SeriesKey Own(string name) => new(DeviceNamespace.Agents.Inode, name);

    public override string ToString() => Netns == DeviceNamespace.Agents.Inode ? Name : $"{Name} in netns:[{Netns}]";
}
