namespace TunTelemetry.Readers;

/// <summary>
/// A process that holds a queue of a TUN/TAP device open (its <c>/proc/PID/fdinfo/FD</c> says <c>iff: NAME</c>), so
/// the process the kernel hands the device's packets to. One per (device, process) however many queues it holds.
/// </summary>
/// <param name="Name">The process's <c>comm</c> (at most 15 bytes: <c>wireguard-go</c>, <c>openvpn</c>).</param>
/// <param name="State">The state letter of <c>/proc/PID/stat</c> (<c>R</c>, <c>S</c>, <c>T</c>, ...; see proc(5)).</param>
internal sealed record TunReader(int Pid, string Name, char State)
{
    /// <summary>The state as a word: running, sleeping, disk-sleep, stopped, tracing-stop, zombie, dead, idle, ...</summary>
    public string StateName => State switch
    {
        'R' => "running",
        'S' => "sleeping",
        'D' => "disk-sleep",
        'T' => "stopped",
        't' => "tracing-stop",
        'Z' => "zombie",
        'X' => "dead",
        'I' => "idle",
        'P' => "parked",
        'W' => "waking",
        'K' => "wakekill",
        _ => "unknown",
    };

    /// <summary>Stopped by a signal (<c>T</c>) or by a tracer (<c>t</c>): it cannot read until continued.</summary>
    public bool IsStopped => State is 'T' or 't';

    /// <summary>Stopped, or exited and not yet reaped: nothing will drain its queue.</summary>
    public bool IsNotRunning => IsStopped || State is 'Z' or 'X';

    /// <summary><c>comm[pid]</c>, as the console view and <c>snapshot</c> show it.</summary>
    public override string ToString() => $"{Name}[{Pid}]";
}

/// <summary>A device name within one network namespace (by the inode of its <c>ns/net</c>): names repeat across namespaces.</summary>
internal readonly record struct NetnsDevice(ulong NetNamespace, string Device);

/// <summary>What one <c>/proc</c> scan found: the readers of every TUN/TAP device, keyed by namespace and name.</summary>
/// <param name="Processes">Processes looked at.</param>
/// <param name="HiddenProcesses">
/// Processes whose open files or network namespace could not be read (another user's, when the agent is not root);
/// their readers are not in the table.
/// </param>
internal sealed class TunReaderTable(IReadOnlyDictionary<NetnsDevice, IReadOnlyList<TunReader>> readers, int processes, int hiddenProcesses)
{
    public static TunReaderTable Empty { get; } = new(new Dictionary<NetnsDevice, IReadOnlyList<TunReader>>(), 0, 0);

    public IReadOnlyDictionary<NetnsDevice, IReadOnlyList<TunReader>> All { get; } = readers;

    public int Processes { get; } = processes;

    public int HiddenProcesses { get; } = hiddenProcesses;

    /// <summary>The readers of <paramref name="device"/> in namespace <paramref name="netNamespace"/>, by pid; empty if none.</summary>
    public IReadOnlyList<TunReader> Readers(ulong netNamespace, string device) =>
        All.TryGetValue(new NetnsDevice(netNamespace, device), out IReadOnlyList<TunReader>? found) ? found : [];
}
