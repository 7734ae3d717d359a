namespace TunTelemetry.Netlink;

/// <summary>Namespace-id message types from <c>uapi/linux/rtnetlink.h</c>.</summary>
internal static class NetnsMessageType
{
    internal const ushort NewNsid = 88; // RTM_NEWNSID: assign an id (request), an id's answer or notification
    internal const ushort DelNsid = 89; // RTM_DELNSID: an id was dropped (its namespace died)
    internal const ushort GetNsid = 90; // RTM_GETNSID
}

/// <summary><c>NETNSA_*</c> attributes of RTM_NEWNSID / RTM_GETNSID, from <c>uapi/linux/net_namespace.h</c>.</summary>
internal static class NetnsAttribute
{
    internal const ushort Nsid = 1;
    internal const ushort Pid = 2;
    internal const ushort Fd = 3;
    internal const ushort TargetNsid = 4;
    internal const ushort CurrentNsid = 5;
}

/// <summary>Namespace ids: small integers the kernel gives another namespace as seen from ours.</summary>
internal static class NetnsId
{
    /// <summary><c>NETNSA_NSID_NOT_ASSIGNED</c>: the namespace has no id in ours (or, in a request: let the kernel pick).</summary>
    public const int NotAssigned = -1;
}
