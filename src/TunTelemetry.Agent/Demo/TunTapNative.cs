using System.Runtime.InteropServices;

namespace TunTelemetry.Agent.Demo;

/// <summary>libc calls for creating TUN/TAP devices and writing packets into them (demo and tests only).</summary>
internal static unsafe partial class TunTapNative
{
    internal const int O_RDWR = 2;
    internal const int O_CLOEXEC = 0x80000;
    internal const uint TUNSETIFF = 0x400454ca;
    internal const uint SIOCGIFFLAGS = 0x8913;
    internal const uint SIOCSIFFLAGS = 0x8914;
    internal const short IFF_TUN = 0x0001;
    internal const short IFF_TAP = 0x0002;
    internal const short IFF_NO_PI = 0x1000;
    internal const short IFF_UP = 0x1;
    internal const int AF_INET = 2;
    internal const int AF_PACKET = 17;
    internal const int SOCK_DGRAM = 2;
    internal const int SOCK_CLOEXEC = 0x80000;
    internal const ushort ETH_P_IP = 0x0800;
    internal const int MSG_DONTWAIT = 0x40;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    internal static partial int Ioctl(int fd, nuint request, IfReq* ifr);

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    internal static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "sendto", SetLastError = true)]
    internal static partial nint SendTo(int fd, byte* buffer, nuint length, int flags, SockAddrLl* address, int addressLength);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    internal static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "if_nametoindex", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial uint IfNameToIndex(string name);

    /// <summary><c>struct ifreq</c>: a 16-byte name and a 24-byte union, of which we use the flags.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 40)]
    internal struct IfReq
    {
        internal fixed byte Name[16];
        internal short Flags;
    }

    /// <summary><c>struct sockaddr_ll</c> from <c>linux/if_packet.h</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct SockAddrLl
    {
        internal ushort Family;
        internal ushort Protocol; // network byte order
        internal int IfIndex;
        internal ushort HaType;
        internal byte PacketType;
        internal byte HaLength;
        internal fixed byte Address[8];
    }

    internal static ushort HostToNetwork(ushort value) =>
        BitConverter.IsLittleEndian ? System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(value) : value;

    internal static void ThrowErrno(string what) =>
        throw new IOException($"{what} failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())} (errno {Marshal.GetLastPInvokeError()})");
}
