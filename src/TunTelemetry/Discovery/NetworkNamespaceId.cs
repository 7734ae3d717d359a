using System.Runtime.InteropServices;

namespace TunTelemetry.Discovery;

/// <summary>
/// What identifies a network namespace: the device and inode of its nsfs file (<c>stat -L /proc/PID/ns/net</c>). Every
/// way to reach one namespace (bind mounts in /run/netns, any member process's /proc link) stats to the same pair.
/// </summary>
internal readonly record struct NetworkNamespaceId(ulong Device, ulong Inode)
{
    public override string ToString() => $"netns:[{Inode}]";

    /// <summary>The id of the namespace <paramref name="path"/> leads to, or the errno when it cannot be stat'ed.</summary>
    public static bool TryOf(string path, out NetworkNamespaceId id, out int errno) => FileIdentity.TryStat(path, out id, out errno);
}

/// <summary><c>stat(2)</c> for the two fields a namespace is known by.</summary>
internal static unsafe partial class FileIdentity
{
    // struct stat begins with st_dev and st_ino (both 64-bit) on x86_64 and on arm64's generic layout; 256 bytes
    // is more than either architecture's whole struct.
    private const int StatBufferSize = 256;

    internal static bool TryStat(string path, out NetworkNamespaceId id, out int errno)
    {
        byte* buffer = stackalloc byte[StatBufferSize];
        if (Stat(path, buffer) != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            id = default;
            return false;
        }

        errno = 0;
        id = new NetworkNamespaceId(*(ulong*)buffer, *(ulong*)(buffer + 8));
        return true;
    }

    [LibraryImport("libc", EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Stat(string path, byte* buffer);
}
