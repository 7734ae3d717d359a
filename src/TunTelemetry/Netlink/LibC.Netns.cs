using System.Runtime.InteropServices;

namespace TunTelemetry.Netlink;

/// <summary>The calls and options that reading other network namespaces adds to <see cref="LibC"/>.</summary>
internal static unsafe partial class LibC
{
    // Dumps honour the filters a request carries (a link kind, a master) only with strict checking on.
    internal const int NETLINK_GET_STRICT_CHK = 12;

    // RTNLGRP_NSID: RTM_NEWNSID / RTM_DELNSID notifications, as an nl_groups bit (1 << (28 - 1)).
    internal const uint RTMGRP_NSID = 1u << 27;

    [LibraryImport(Library, EntryPoint = "recvmsg", SetLastError = true)]
    internal static partial nint RecvMsg(SafeNetlinkHandle fd, MsgHdr* message, int flags);

    /// <summary><c>struct iovec</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct IoVec
    {
        internal void* Base;
        internal nuint Length;
    }

    /// <summary><c>struct msghdr</c> on 64-bit Linux.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct MsgHdr
    {
        internal void* Name;
        internal int NameLength;
        internal IoVec* Iov;
        internal nuint IovLength;
        internal void* Control;
        internal nuint ControlLength;
        internal int Flags;
    }
}
