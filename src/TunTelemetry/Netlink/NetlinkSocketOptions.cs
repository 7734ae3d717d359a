namespace TunTelemetry.Netlink;

/// <summary>How a <see cref="RouteSocket"/> is opened.</summary>
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

    /// <summary>
    /// <c>NETLINK_GET_STRICT_CHK</c>: the kernel honours a dump's filters (a dump of TUN/TAP devices only) and refuses
    /// malformed requests instead of ignoring what it does not know. Off by default: kernels before 4.20 refuse the
    /// option, and only the filtered dumps of discovery need it.
    /// </summary>
    public bool StrictChecking { get; init; }

    /// <summary>
    /// <c>NETLINK_LISTEN_ALL_NSID</c>: <see cref="Groups"/> are heard from every namespace with an id in ours, each
    /// datagram's namespace in a control message. Needs <c>CAP_NET_BROADCAST</c>; without it opening throws <c>EPERM</c>.
    /// </summary>
    public bool ListenAllNamespaces { get; init; }

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
