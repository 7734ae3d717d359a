using System.Runtime.InteropServices;

namespace TunTelemetry.Readers;

/// <summary>
/// The libc calls the reader scan makes: directory listing with <c>getdents64</c> (glibc ≥ 2.30) and <c>*at</c> calls
/// relative to a process's <c>/proc</c> directory. .NET's directory enumeration stats every symlink to learn whether it
/// points at a directory, which for <c>/proc/PID/fd</c> is one extra system call per open file of every process.
/// </summary>
internal static unsafe partial class ProcFsNative
{
    private const string Library = "libc";

    internal const int O_RDONLY = 0;
    internal const int O_DIRECTORY = 0x10000;
    internal const int O_CLOEXEC = 0x80000;
    internal const int EACCES = 13;
    internal const int EPERM = 1;
    internal const uint STATX_INO = 0x100;
    internal const uint STATX_SIZE = 0x200;

    /// <summary>Room for <c>struct statx</c> (256 bytes in uapi/linux/stat.h); <c>stx_ino</c> at 32, <c>stx_size</c> at 40.</summary>
    internal const int StatxSize = 256;

    [LibraryImport(Library, EntryPoint = "openat", SetLastError = true)]
    internal static partial int OpenAt(int directory, byte* path, int flags);

    [LibraryImport(Library, EntryPoint = "read", SetLastError = true)]
    internal static partial nint Read(int fd, byte* buffer, nuint length);

    [LibraryImport(Library, EntryPoint = "readlinkat", SetLastError = true)]
    internal static partial nint ReadLinkAt(int directory, byte* path, byte* buffer, nuint length);

    [LibraryImport(Library, EntryPoint = "getdents64", SetLastError = true)]
    internal static partial nint GetDents64(int fd, byte* buffer, nuint length);

    [LibraryImport(Library, EntryPoint = "statx", SetLastError = true)]
    internal static partial int Statx(int directory, byte* path, int flags, uint mask, byte* buffer);

    [LibraryImport(Library, EntryPoint = "close")]
    internal static partial int Close(int fd);
}
