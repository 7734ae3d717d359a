namespace TunTelemetry.Netlink;

/// <summary>Message types from <c>uapi/linux/netlink.h</c> and <c>uapi/linux/rtnetlink.h</c>.</summary>
internal static class NetlinkMessageType
{
    internal const ushort Noop = 1;      // NLMSG_NOOP
    internal const ushort Error = 2;     // NLMSG_ERROR
    internal const ushort Done = 3;      // NLMSG_DONE
    internal const ushort Overrun = 4;   // NLMSG_OVERRUN
    internal const ushort NewLink = 16;  // RTM_NEWLINK
    internal const ushort DelLink = 17;  // RTM_DELLINK
    internal const ushort GetLink = 18;  // RTM_GETLINK
    internal const ushort NewStats = 92; // RTM_NEWSTATS
    internal const ushort GetStats = 94; // RTM_GETSTATS
}

/// <summary><c>nlmsg_flags</c> bits from <c>uapi/linux/netlink.h</c>.</summary>
internal static class NetlinkMessageFlags
{
    internal const ushort Request = 0x1;    // NLM_F_REQUEST
    internal const ushort Multi = 0x2;      // NLM_F_MULTI
    internal const ushort Ack = 0x4;        // NLM_F_ACK
    internal const ushort DumpInterrupted = 0x10; // NLM_F_DUMP_INTR
    internal const ushort Dump = 0x300;     // NLM_F_ROOT | NLM_F_MATCH
    internal const ushort AckTlvs = 0x200;  // NLM_F_ACK_TLVS, on NLMSG_ERROR replies
    internal const ushort Capped = 0x100;   // NLM_F_CAPPED, on NLMSG_ERROR replies
}

/// <summary>Multicast groups a route socket can join (<c>RTMGRP_*</c> bit masks for <c>nl_groups</c>).</summary>
[Flags]
internal enum NetlinkRouteGroups : uint
{
    None = 0,
    Link = 1, // RTMGRP_LINK: RTM_NEWLINK / RTM_DELLINK notifications
    NamespaceIds = LibC.RTMGRP_NSID, // RTM_NEWNSID / RTM_DELNSID: an id given or dropped; any user may join it
}
