namespace TunTelemetry.Netlink;

internal enum LinkChangeKind
{
    /// <summary>RTM_NEWLINK: a link appeared, or an existing one changed (state, MTU, name).</summary>
    AddedOrChanged,

    /// <summary>RTM_DELLINK: a link was deleted.</summary>
    Removed,
}

/// <summary>One link notification from the <c>RTNLGRP_LINK</c> multicast group.</summary>
internal sealed record LinkChange(LinkChangeKind Kind, LinkDescription Link);
