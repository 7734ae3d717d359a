using TunTelemetry.Devices;
using TunTelemetry.Netlink;

namespace TunTelemetry.Polling;

/// <summary>
/// What a poller throws to be restarted. Whatever logs the failure sees the exception's full text; a netlink failure is
/// fully described by its message, so this carries the message and reason but no stack trace, and a device failing
/// for hours writes one line per retry rather than a page.
/// </summary>
internal sealed class PollFailedException(TunDevice device, NetlinkException cause)
    : Exception($"polling {device} failed: {cause.Message}")
{
    public TunDevice Device { get; } = device;

    /// <summary>The netlink failure's own text, for a log line that names the device already.</summary>
    public string Detail { get; } = cause.Message;

    /// <summary>The netlink failure's metric label (<see cref="NetlinkException.Reason"/>).</summary>
    public string Reason { get; } = cause.Reason;

    /// <summary>No descriptor was left for the poller's socket (<see cref="NetlinkSocketException.IsOutOfDescriptors"/>).</summary>
    public bool OutOfDescriptors { get; } = cause is NetlinkSocketException { IsOutOfDescriptors: true };

    public override string? StackTrace => null;

    public override string ToString() => $"{GetType().Name}: {Message}";
}
