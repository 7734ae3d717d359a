namespace TunTelemetry.Netlink;

/// <summary>
/// What the link-state actor needs from its socket: one device's link by ifindex, null when it is gone. Implemented for
/// the agent's namespace (<see cref="NetlinkRouteSocket"/>) and for another (<see cref="NamespaceLinkReader"/>).
/// </summary>
internal interface ILinkLookup : IDisposable
{
    LinkDescription? GetLink(int ifIndex);
}
