using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace TunTelemetry.Discovery;

/// <summary>
/// An inotify descriptor watching directories for files created, deleted or moved: how a new <c>ip netns add</c> is
/// seen at once instead of at the next rescan. Only "something changed" matters, so events are drained, not decoded.
/// </summary>
internal sealed partial class InotifyWatch : IDisposable
{
    private const int IN_CLOEXEC = 0x80000;
    private const int IN_NONBLOCK = 0x800;
    private const uint IN_ATTRIB = 0x4;
    private const uint IN_MOVED_FROM = 0x40;
    private const uint IN_MOVED_TO = 0x80;
    private const uint IN_CREATE = 0x100;
    private const uint IN_DELETE = 0x200;
    private const int EAGAIN = 11;

    private readonly HashSet<string> _watched = [];

    public InotifyWatch()
    {
        int fd = InotifyInit1(IN_CLOEXEC | IN_NONBLOCK);
        if (fd < 0)
        {
            throw new IOException($"inotify_init1 failed: errno {Marshal.GetLastPInvokeError()}");
        }

        Handle = new SafeFileHandle(fd, ownsHandle: true);
    }

    public SafeFileHandle Handle { get; }

    /// <summary>Watches each directory that exists and is not watched yet (a directory may appear later: /run/netns does on the first <c>ip netns add</c>).</summary>
    public void WatchExisting(IEnumerable<string> directories)
    {
        foreach (string directory in directories)
        {
            if (_watched.Contains(directory) || !Directory.Exists(directory))
            {
                continue;
            }

            // IN_ATTRIB too: ip netns add creates the file, then mounts the namespace on it.
            if (InotifyAddWatch(Handle, directory, IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB) >= 0)
            {
                _watched.Add(directory);
            }
        }
    }

    /// <summary>Reads and discards every queued event; true when there was at least one.</summary>
    public unsafe bool Drain()
    {
        bool any = false;
        byte* buffer = stackalloc byte[4096];
        while (true)
        {
            nint read = Read(Handle, buffer, 4096);
            if (read > 0)
            {
                any = true;
                continue;
            }

            if (read < 0 && Marshal.GetLastPInvokeError() != EAGAIN)
            {
                // A queue overflow or a removed directory: forget the watches, so the next loop adds them again.
                _watched.Clear();
            }

            return any;
        }
    }

    public void Dispose() => Handle.Dispose();

    [LibraryImport("libc", EntryPoint = "inotify_init1", SetLastError = true)]
    private static partial int InotifyInit1(int flags);

    [LibraryImport("libc", EntryPoint = "inotify_add_watch", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int InotifyAddWatch(SafeFileHandle fd, string path, uint mask);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static unsafe partial nint Read(SafeFileHandle fd, byte* buffer, nuint count);
}
