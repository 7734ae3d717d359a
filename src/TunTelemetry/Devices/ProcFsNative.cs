using System.Runtime.InteropServices;

namespace TunTelemetry.Devices;

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

    [LibraryImport(Library, EntryPoint = "openat", SetLastError = true)]
    internal static partial int OpenAt(int directory, byte* path, int flags);

    [LibraryImport(Library, EntryPoint = "read", SetLastError = true)]
    internal static partial nint Read(int fd, byte* buffer, nuint length);

    [LibraryImport(Library, EntryPoint = "readlinkat", SetLastError = true)]
    internal static partial nint ReadLinkAt(int directory, byte* path, byte* buffer, nuint length);

    [LibraryImport(Library, EntryPoint = "getdents64", SetLastError = true)]
    internal static partial nint GetDents64(int fd, byte* buffer, nuint length);

    [LibraryImport(Library, EntryPoint = "close")]
    internal static partial int Close(int fd);
}
