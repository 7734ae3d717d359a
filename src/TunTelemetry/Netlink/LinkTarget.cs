namespace TunTelemetry.Netlink;

/// <summary>
/// Which network namespace a link request of a <see cref="RouteSocket"/> is about: the agent's own (the socket's), or
/// another, named by its id in ours (<c>IFLA_TARGET_NETNSID</c>). The default is the agent's own.
/// </summary>
internal readonly record struct LinkTarget
{
    private LinkTarget(int nsid) => Nsid = nsid;

    /// <summary>The agent's own namespace.</summary>
    public static LinkTarget Own => default;

    /// <summary>The other namespace's id in ours; null for the agent's own.</summary>
    public int? Nsid { get; }

    /// <summary>
    /// The namespace with id <paramref name="nsid"/> in ours. Not checked here: the kernel answers an id no namespace
    /// has (<see cref="NetnsId.NotAssigned"/> among them) with <c>EINVAL</c>, which a read of a device takes as gone.
    /// </summary>
    public static LinkTarget Namespace(int nsid) => new(nsid);

    public override string ToString() => Nsid is { } nsid ? $"namespace id {nsid}" : "own namespace";
}
