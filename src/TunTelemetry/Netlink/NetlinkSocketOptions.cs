namespace TunTelemetry.Netlink;

/// <summary>How a <see cref="NetlinkRouteSocket"/> is opened.</summary>
internal sealed record NetlinkSocketOptions
{
    public static NetlinkSocketOptions Default { get; } = new();

    /// <summary>
    /// Longest wait for a reply (or, on a notification socket, for the next notification). The kernel answers a stats
    /// request in microseconds; a second means something is wrong, and the poll fails instead of hanging its actor.
    /// </summary>
    public TimeSpan ReceiveTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Multicast groups to join; none for a request/reply socket.</summary>
    public NetlinkRouteGroups Groups { get; init; } = NetlinkRouteGroups.None;

    /// <summary>SO_RCVBUF in bytes, 0 for the system default. A notification socket wants room for bursts.</summary>
    public int ReceiveBufferBytes { get; init; }

    /// <summary>
    /// Descriptors under <c>RLIMIT_NOFILE</c> this socket must leave free (<see cref="DescriptorReserve"/>); 0, the
    /// default, takes whatever is left. Opening fails as <c>EMFILE</c> when it would eat into them, so per-device sockets
    /// give way to the process's own needs instead of starving them.
    /// </summary>
    public int KeepFreeDescriptors { get; init; }

    internal void Validate()
    {
        if (ReceiveTimeout <= TimeSpan.Zero || ReceiveTimeout > TimeSpan.FromMinutes(10))
        {
            throw new ArgumentOutOfRangeException(nameof(ReceiveTimeout), ReceiveTimeout, "must be more than 0 and at most 10 minutes");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(ReceiveBufferBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(KeepFreeDescriptors);
    }
}
