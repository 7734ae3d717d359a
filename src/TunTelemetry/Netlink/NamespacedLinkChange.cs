namespace TunTelemetry.Netlink;

/// <summary>
/// A link notification heard on a socket with <c>NETLINK_LISTEN_ALL_NSID</c>: the change, the namespace it happened in
/// (its id in ours; null for our own namespace) and the namespace attributes that tell a move from a delete.
/// </summary>
internal sealed record NamespacedLinkChange(int? Nsid, LinkChange Change, LinkNetnsAttributes Netns);

/// <summary>An RTM_NEWNSID / RTM_DELNSID notification: a namespace got an id in ours, or died and its id was dropped.</summary>
internal sealed record NetnsIdChange(bool Added, int Nsid);
