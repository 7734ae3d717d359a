using System.Runtime.InteropServices;

namespace TunTelemetry.Netlink;

/// <summary>
/// The few libc calls a netlink socket needs. .NET's <c>AddressFamily</c> has no netlink member, and measured on a
/// 2-core Linux 6.18 host, direct <c>send</c>/<c>recv</c> cost about half of going through <c>System.Net.Sockets.Socket</c>
/// (7 µs against 15 µs per poll), so the hot path calls libc itself. Source-generated (<c>LibraryImport</c>) with only
/// blittable arguments: no marshalling allocations per call.
/// </summary>
internal static unsafe partial class LibC
{
    private const string Library = "libc";

    internal const int AF_NETLINK = 16;
    internal const int SOCK_RAW = 3;
    internal const int SOCK_CLOEXEC = 0x80000;
    internal const int NETLINK_ROUTE = 0;

    internal const int SOL_SOCKET = 1;
    internal const int SO_RCVBUF = 8;
    internal const int SO_RCVTIMEO = 20;
    internal const int SO_SNDTIMEO = 21;

    internal const int SOL_NETLINK = 270;
    internal const int NETLINK_EXT_ACK = 11;

    // recv(2) flag: report the datagram's real length even when it did not fit, so truncation is detected.
    internal const int MSG_TRUNC = 0x20;

    // recv(2) flag: look at the next datagram without taking it (with MSG_TRUNC: learn its size).
    internal const int MSG_PEEK = 0x2;

    [LibraryImport(Library, EntryPoint = "socket", SetLastError = true)]
    internal static partial int Socket(int domain, int type, int protocol);

    [LibraryImport(Library, EntryPoint = "bind", SetLastError = true)]
    internal static partial int Bind(SafeNetlinkHandle fd, SockAddrNetlink* address, int addressLength);

    [LibraryImport(Library, EntryPoint = "getsockname", SetLastError = true)]
    internal static partial int GetSockName(SafeNetlinkHandle fd, SockAddrNetlink* address, int* addressLength);

    [LibraryImport(Library, EntryPoint = "setsockopt", SetLastError = true)]
    internal static partial int SetSockOpt(SafeNetlinkHandle fd, int level, int name, void* value, int valueLength);

    [LibraryImport(Library, EntryPoint = "send", SetLastError = true)]
    internal static partial nint Send(SafeNetlinkHandle fd, byte* buffer, nuint length, int flags);

    [LibraryImport(Library, EntryPoint = "recv", SetLastError = true)]
    internal static partial nint Recv(SafeNetlinkHandle fd, byte* buffer, nuint length, int flags);

    [LibraryImport(Library, EntryPoint = "close", SetLastError = true)]
    internal static partial int Close(int fd);

    internal const int EFD_CLOEXEC = 0x80000;
    internal const int EFD_NONBLOCK = 0x800;
    internal const short POLLIN = 0x1;

    [LibraryImport(Library, EntryPoint = "eventfd", SetLastError = true)]
    internal static partial int EventFd(uint initialValue, int flags);

    [LibraryImport(Library, EntryPoint = "write", SetLastError = true)]
    internal static partial nint Write(SafeNetlinkHandle fd, void* buffer, nuint length);

    [LibraryImport(Library, EntryPoint = "poll", SetLastError = true)]
    internal static partial int Poll(PollFd* fds, nuint count, int timeoutMilliseconds);

    /// <summary><c>struct pollfd</c> from <c>poll.h</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct PollFd
    {
        internal int Fd;
        internal short Events;
        internal short ReturnedEvents;
    }

    /// <summary><c>struct sockaddr_nl</c> from <c>uapi/linux/netlink.h</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct SockAddrNetlink
    {
        internal ushort Family;
        internal ushort Pad;
        internal uint PortId;
        internal uint Groups;
    }

    /// <summary><c>struct timeval</c> on 64-bit Linux.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct TimeVal
    {
        internal long Seconds;
        internal long Microseconds;
    }
}
