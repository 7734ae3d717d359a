using System.Buffers.Text;
using System.Diagnostics;
using System.Runtime.InteropServices;
using TunTelemetry.Netlink;

namespace TunTelemetry.Readers;

/// <summary>
/// Finds the readers of every TUN/TAP device: walks <c>/proc/PID/fd</c> of every process, and for each descriptor that
/// is <c>/dev/net/tun</c> reads the <c>iff:</c> line of its <c>fdinfo</c> (the device it is attached to), then the
/// process's network namespace (<c>ns/net</c>), name and state (<c>stat</c>). The result is keyed by (namespace inode,
/// device name), because device names repeat across namespaces.
/// </summary>
/// <remarks>
/// Reading another process's <c>fd</c> directory and <c>ns/net</c> link needs ptrace read access to it: as root, every
/// process; unprivileged, only the agent's own user's. A process whose files or namespace cannot be read is counted in
/// <see cref="TunReaderTable.HiddenProcesses"/> and left out: a reader whose namespace is unknown could belong to a
/// same-named device of another namespace, so it is not guessed. A descriptor is recognised by its link target
/// <c>/dev/net/tun</c>; a process that opened the clone device under another path is not seen.
/// Cost: one <c>getdents64</c> per process and one <c>readlinkat</c> per open file; measured in
/// <c>perf/reader-scan.sh</c>. The agent scans with a <see cref="ReaderScanCache"/> (<see cref="Incremental"/>), which
/// lists again only the processes that changed or hold a queue, and costs one <c>statx</c> for each other process.
/// The agent's own descriptors (a netlink socket per device and per-device actor, so tens of thousands on a large
/// host) are looked through only while it holds devices itself (<see cref="OwnTunDescriptors"/>).
/// </remarks>
internal static unsafe class TunReaderScan
{
    private const int ProcRoot = -100; // AT_FDCWD: paths below are absolute

    private static readonly int OwnPid = Environment.ProcessId;

    private static ReadOnlySpan<byte> TunPath => "/dev/net/tun"u8;

    /// <summary>The inode of the calling process's network namespace; null if <c>/proc/self/ns/net</c> cannot be read.</summary>
    public static ulong? OwnNetNamespace()
    {
        Span<byte> link = stackalloc byte[64];
        int length = ReadLink("/proc/self/ns/net\0"u8, link);
        return length > 0 && ProcText.TryReadNetNamespace(link[..length], out ulong inode) ? inode : null;
    }

    /// <summary>Scans every process once, listing each one's descriptors.</summary>
    public static TunReaderTable Scan() => Scan(cache: null);

    /// <summary>
    /// Whether this kernel reports a process's open-file count as the size of <c>/proc/PID/fd</c> (Linux ≥ 6.2): the
    /// agent's own process always has files open, so 0 means it does not.
    /// </summary>
    internal static bool CountsOpenFiles() => TryFingerprint("/proc/self/fd\0"u8, out ProcessFingerprint own) && own.OpenFiles > 0;

    /// <summary>
    /// A scan that remembers what it found between calls (<see cref="ReaderScanCache"/>): it lists only the processes
    /// that are new, changed or hold a <c>/dev/net/tun</c>, and every process when a device appeared since the last
    /// call (<c>deviceAppeared</c>) or <paramref name="fullScanInterval"/> passed since the last full scan.
    /// </summary>
    internal static Func<bool, TunReaderTable> Incremental(TimeSpan fullScanInterval)
    {
        var cache = new ReaderScanCache(fullScanInterval, CountsOpenFiles());
        long start = Stopwatch.GetTimestamp();
        return deviceAppeared => Scan(cache, Stopwatch.GetElapsedTime(start), deviceAppeared);
    }

    /// <summary>One scan with <paramref name="cache"/> at <paramref name="now"/> (monotonic).</summary>
    internal static TunReaderTable Scan(ReaderScanCache cache, TimeSpan now, bool deviceAppeared)
    {
        cache.Begin(now, deviceAppeared);
        try
        {
            return Scan(cache);
        }
        finally
        {
            cache.End();
        }
    }

    private static TunReaderTable Scan(ReaderScanCache? cache)
    {
        var readers = new Dictionary<NetnsDevice, List<TunReader>>();
        var names = new Dictionary<string, string>(); // one string per device name, however many processes hold it
        int processes = 0, hidden = 0;
        var pids = new List<int>(1024);
        int procDirectory = OpenDirectory("/proc\0"u8, out _);
        if (procDirectory >= 0)
        {
            ListNumericEntries(procDirectory, pids);
            _ = ProcFsNative.Close(procDirectory);
        }

        var fds = new List<int>(64);
        var devices = new List<string>(4);
        Span<byte> path = stackalloc byte[64];
        foreach (int pid in pids)
        {
            processes++;
            fds.Clear();
            devices.Clear();
            if (pid == OwnPid && !OwnTunDescriptors.Any)
            {
                continue;
            }

            // The agent's own descriptors change all the time (a socket per device actor): while it holds devices
            // itself it is listed every scan, as without a cache.
            ProcessFingerprint fingerprint = default;
            bool remembered = cache is not null && pid != OwnPid && TryFingerprint(Format(path, pid, "/fd\0"u8), out fingerprint);
            if (remembered)
            {
                switch (cache!.Look(pid, fingerprint))
                {
                    case ProcessLook.Skip:
                        continue;
                    case ProcessLook.SkipHidden:
                        hidden++;
                        continue;
                }
            }

            int fdDirectory = OpenDirectory(Format(path, pid, "/fd\0"u8), out bool denied);
            if (fdDirectory < 0)
            {
                hidden += denied ? 1 : 0; // otherwise it exited since /proc was listed
                if (denied && remembered)
                {
                    cache!.Record(pid, fingerprint, ProcessFinding.Hidden);
                }

                continue;
            }

            int tunFiles;
            try
            {
                ListNumericEntries(fdDirectory, fds);
                tunFiles = FindTunDevices(pid, fdDirectory, fds, devices, names, path);
            }
            finally
            {
                _ = ProcFsNative.Close(fdDirectory);
            }

            if (remembered)
            {
                cache!.Record(pid, fingerprint, tunFiles > 0 ? ProcessFinding.HoldsTun : ProcessFinding.Plain);
            }

            if (devices.Count == 0)
            {
                continue;
            }

            if (ReadNetNamespace(pid, path) is not { } netns || ReadStat(pid, path) is not { } stat)
            {
                hidden++;
                continue;
            }

            foreach (string device in devices)
            {
                var key = new NetnsDevice(netns, device);
                if (!readers.TryGetValue(key, out List<TunReader>? list))
                {
                    readers[key] = list = [];
                }

                list.Add(new TunReader(pid, stat.Comm, stat.State));
            }
        }

        return new TunReaderTable(
            readers.ToDictionary(r => r.Key, r => (IReadOnlyList<TunReader>)r.Value.OrderBy(x => x.Pid).ToArray()),
            processes, hidden);
    }

    /// <summary>The fingerprint of a process from one <c>statx</c> of its <c>fd</c> directory; false when it is gone.</summary>
    private static bool TryFingerprint(ReadOnlySpan<byte> fdDirectory, out ProcessFingerprint fingerprint)
    {
        byte* statx = stackalloc byte[ProcFsNative.StatxSize];
        int result;
        fixed (byte* p = fdDirectory)
        {
            result = ProcFsNative.Statx(ProcRoot, p, 0, ProcFsNative.STATX_INO | ProcFsNative.STATX_SIZE, statx);
        }

        fingerprint = result == 0 ? new ProcessFingerprint(*(ulong*)(statx + 32), *(long*)(statx + 40)) : default;
        return result == 0;
    }

    /// <summary>Adds the devices the process's queues are attached to; returns how many <c>/dev/net/tun</c> it has open, attached or not.</summary>
    private static int FindTunDevices(int pid, int fdDirectory, List<int> fds, List<string> devices, Dictionary<string, string> names, Span<byte> path)
    {
        int tunFiles = 0;
        Span<byte> link = stackalloc byte[TunPath.Length + 1];
        Span<byte> fdinfo = stackalloc byte[512];
        Span<byte> fdName = stackalloc byte[12];
        foreach (int fd in fds)
        {
            // Relative to the open fd directory: the kernel walks one path component, not four.
            Utf8Formatter.TryFormat(fd, fdName, out int digits);
            fdName[digits] = 0;

            // A longer target cannot be /dev/net/tun: the buffer holds one byte more to tell.
            int length = ReadLink(fdDirectory, fdName[..(digits + 1)], link);
            if (length != TunPath.Length || !link[..length].SequenceEqual(TunPath))
            {
                continue;
            }

            tunFiles++;
            int read = ReadFile(Format(path, pid, "/fdinfo/"u8, fd), fdinfo);
            if (read <= 0 || !ProcText.TryReadIff(fdinfo[..read], out ReadOnlySpan<byte> iff))
            {
                continue; // closed since listed, or not attached to a device
            }

            string name = InterfaceName.Decode(iff);
            if (!names.TryGetValue(name, out string? shared))
            {
                names[name] = shared = name;
            }

            if (!devices.Contains(shared))
            {
                devices.Add(shared); // one reader per device however many queues the process holds
            }
        }

        return tunFiles;
    }

    private static ulong? ReadNetNamespace(int pid, Span<byte> path)
    {
        Span<byte> link = stackalloc byte[64];
        int length = ReadLink(Format(path, pid, "/ns/net\0"u8), link);
        return length > 0 && ProcText.TryReadNetNamespace(link[..length], out ulong inode) ? inode : null;
    }

    private static (string Comm, char State)? ReadStat(int pid, Span<byte> path)
    {
        Span<byte> stat = stackalloc byte[1024];
        int read = ReadFile(Format(path, pid, "/stat\0"u8), stat);
        return read > 0 && ProcText.TryReadStat(stat[..read], out ReadOnlySpan<byte> comm, out char state)
            ? (InterfaceName.Decode(comm), state) // comm has the same 15-byte, any-byte rules as a device name
            : null;
    }

    /// <summary>Writes <c>/proc/PID{suffix}</c> (NUL-terminated, or followed by <paramref name="number"/> and a NUL).</summary>
    private static ReadOnlySpan<byte> Format(Span<byte> path, int pid, ReadOnlySpan<byte> suffix, int number = -1)
    {
        "/proc/"u8.CopyTo(path);
        int length = "/proc/"u8.Length;
        Utf8Formatter.TryFormat(pid, path[length..], out int written);
        length += written;
        suffix.CopyTo(path[length..]);
        length += suffix.Length;
        if (number >= 0)
        {
            Utf8Formatter.TryFormat(number, path[length..], out written);
            length += written;
            path[length++] = 0;
        }

        return path[..length];
    }

    /// <summary>Opens a directory; -1 with <paramref name="denied"/> when another user's, else gone.</summary>
    private static int OpenDirectory(ReadOnlySpan<byte> directory, out bool denied)
    {
        int fd;
        fixed (byte* p = directory)
        {
            fd = ProcFsNative.OpenAt(ProcRoot, p, ProcFsNative.O_RDONLY | ProcFsNative.O_DIRECTORY | ProcFsNative.O_CLOEXEC);
        }

        denied = fd < 0 && Marshal.GetLastPInvokeError() is ProcFsNative.EACCES or ProcFsNative.EPERM;
        return fd;
    }

    /// <summary>Adds the numeric names in a directory (pids in <c>/proc</c>, descriptors in <c>fd</c>) to <paramref name="into"/>.</summary>
    private static void ListNumericEntries(int directory, List<int> into)
    {
        byte* buffer = stackalloc byte[8192];
        while (true)
        {
            nint read = ProcFsNative.GetDents64(directory, buffer, 8192);
            if (read <= 0)
            {
                return; // 0: the end; an error part way (the process exited) keeps what was listed
            }

            // struct linux_dirent64: u64 d_ino, s64 d_off, u16 d_reclen, u8 d_type, char d_name[] (NUL-terminated).
            for (nint offset = 0; offset < read;)
            {
                ushort recordLength = *(ushort*)(buffer + offset + 16);
                var name = new ReadOnlySpan<byte>(buffer + offset + 19, recordLength - 19);
                name = name[..name.IndexOf((byte)0)];
                if (Utf8Parser.TryParse(name, out int number, out int consumed) && consumed == name.Length)
                {
                    into.Add(number);
                }

                offset += recordLength;
            }
        }
    }

    /// <summary>The link target's length (at most the buffer's), or -1.</summary>
    private static int ReadLink(ReadOnlySpan<byte> path, Span<byte> target) => ReadLink(ProcRoot, path, target);

    private static int ReadLink(int directory, ReadOnlySpan<byte> path, Span<byte> target)
    {
        fixed (byte* p = path)
        fixed (byte* t = target)
        {
            return (int)ProcFsNative.ReadLinkAt(directory, p, t, (nuint)target.Length);
        }
    }

    /// <summary>Reads the start of a small file (one read: fdinfo and stat are generated whole); -1 on error.</summary>
    private static int ReadFile(ReadOnlySpan<byte> path, Span<byte> content)
    {
        int fd;
        fixed (byte* p = path)
        {
            fd = ProcFsNative.OpenAt(ProcRoot, p, ProcFsNative.O_RDONLY | ProcFsNative.O_CLOEXEC);
        }

        if (fd < 0)
        {
            return -1;
        }

        try
        {
            fixed (byte* c = content)
            {
                return (int)ProcFsNative.Read(fd, c, (nuint)content.Length);
            }
        }
        finally
        {
            _ = ProcFsNative.Close(fd);
        }
    }
}
