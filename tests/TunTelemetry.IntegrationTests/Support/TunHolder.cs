using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace TunTelemetry.IntegrationTests.Support;

/// <summary>
/// A real process (Debian's <c>python3</c> running <c>Support/tun_holder.py</c>) that creates a TUN/TAP device, holds
/// its queues open without reading them, and exits (deleting the device) when disposed. Optionally runs inside a
/// network namespace (<c>ip netns exec</c>) and forks a child that holds the same descriptors.
/// </summary>
public sealed partial class TunHolder : IDisposable
{
    private const int SigKill = 9;
    private const int SigStop = 19;
    private const int SigCont = 18;

    private readonly Process _process;

    private TunHolder(Process process, string name, IReadOnlyList<int> pids)
    {
        _process = process;
        Name = name;
        Pids = pids;
    }

    public string Name { get; }

    /// <summary>The holder's pid, then its forked child's (with <c>--fork</c>).</summary>
    public IReadOnlyList<int> Pids { get; }

    public int Pid => Pids[0];

    /// <param name="arguments">Options of tun_holder.py: <c>--queues N</c>, <c>--detach K</c>, <c>--fork</c>, <c>--tap</c>, <c>--pi</c>, <c>--vnet-hdr</c>.</param>
    public static Task<TunHolder> StartAsync(string name, string? netns = null, params string[] arguments) =>
        StartAsync(name, netns, asNobody: false, arguments);

    /// <summary>
    /// A holder that runs as uid/gid 65534 without capabilities, the way VPN daemons get there: it opens its queues as
    /// root, then drops to 65534 (<c>--as-user</c>), so it works where <c>/dev/net/tun</c> is root-only (mode 0600).
    /// Attaching to an existing persistent device owned by 65534 (<c>ip tuntap add ... user 65534</c>) shows that
    /// owner in the device's TUN settings.
    /// </summary>
    public static Task<TunHolder> StartAsNobodyAsync(string name, params string[] arguments) =>
        StartAsync(name, netns: null, asNobody: true, arguments);

    private static async Task<TunHolder> StartAsync(string name, string? netns, bool asNobody, string[] arguments)
    {
        string script = Path.Combine(AppContext.BaseDirectory, "Support", "tun_holder.py");
        var start = new ProcessStartInfo
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (netns is not null)
        {
            start.FileName = "ip";
            foreach (string a in new[] { "netns", "exec", netns, "/usr/bin/python3" })
            {
                start.ArgumentList.Add(a);
            }
        }
        else
        {
            start.FileName = "/usr/bin/python3";
        }

        start.ArgumentList.Add(script);
        start.ArgumentList.Add(name);
        foreach (string a in asNobody ? [.. arguments, "--as-user", "65534"] : arguments)
        {
            start.ArgumentList.Add(a);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("python3 did not start");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        string? line = await process.StandardOutput.ReadLineAsync(timeout.Token);
        if (line is null || !line.StartsWith("ready ", StringComparison.Ordinal))
        {
            string error = await process.StandardError.ReadToEndAsync(timeout.Token);
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw new InvalidOperationException($"tun_holder.py {name} did not get ready: {line} {error}");
        }

        int[] pids = line["ready ".Length..].Split(' ').Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
        return new TunHolder(process, name, pids);
    }

    /// <summary>
    /// Tells a holder started with <c>--commands</c> to change its open files (<c>open NAME</c>, <c>swap NAME</c>,
    /// <c>move NAME</c>; see tun_holder.py) and waits until it has.
    /// </summary>
    public async Task CommandAsync(string command)
    {
        await _process.StandardInput.WriteLineAsync(command);
        await _process.StandardInput.FlushAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        string? line = await _process.StandardOutput.ReadLineAsync(timeout.Token);
        if (line != "done")
        {
            string error = _process.HasExited ? await _process.StandardError.ReadToEndAsync(timeout.Token) : string.Empty;
            throw new InvalidOperationException($"tun_holder.py {Name}: '{command}' answered {line} {error}");
        }
    }

    public void Stop(int pid) => Signal(pid, SigStop);

    public void Continue(int pid) => Signal(pid, SigCont);

    /// <summary>Kills one of the holder's processes (the other keeps the device, if it was forked).</summary>
    public void Kill(int pid) => Signal(pid, SigKill);

    public void Dispose()
    {
        foreach (int pid in Pids)
        {
            _ = KillSyscall(pid, SigCont); // a stopped process would not see its input close
        }

        try
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or IOException)
        {
            // already gone
        }

        foreach (int pid in Pids.Skip(1))
        {
            _ = KillSyscall(pid, SigKill);
        }

        _process.Dispose();
    }

    private static void Signal(int pid, int signal)
    {
        if (KillSyscall(pid, signal) != 0)
        {
            throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int KillSyscall(int pid, int signal);
}
