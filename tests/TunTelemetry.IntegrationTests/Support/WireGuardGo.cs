using System.Diagnostics;

namespace TunTelemetry.IntegrationTests.Support;

/// <summary>
/// Debian's <c>wireguard-go</c> (package <c>wireguard-go</c>) in the foreground inside a test's namespace, creating a
/// real TUN device and reading it like a VPN daemon; with no peer, nothing it reads leaves the namespace. Killed (and
/// continued first, if stopped) when disposed.
/// </summary>
public sealed class WireGuardGo : IDisposable
{
    public const string Program = "/usr/bin/wireguard-go";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly Process _process;

    private WireGuardGo(Process process) => _process = process;

    /// <summary>Its pid: <c>ip netns exec</c> execs it.</summary>
    public int Pid => _process.Id;

    /// <summary>Starts it on <paramref name="device"/> in <paramref name="netns"/> and waits until the device exists.</summary>
    public static async Task<WireGuardGo> StartAsync(string netns, string device)
    {
        if (!File.Exists(Program))
        {
            throw new InvalidOperationException($"{Program} is missing: apt-get install wireguard-go (.ci/run does)");
        }

        var start = new ProcessStartInfo("ip") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "netns", "exec", netns, Program, device })
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["WG_PROCESS_FOREGROUND"] = "1";
        var wireguard = new WireGuardGo(Process.Start(start)!);
        DateTime deadline = DateTime.UtcNow + Patience;
        while (!Command.TryRun("ip", "-n", netns, "link", "show", device))
        {
            if (DateTime.UtcNow > deadline)
            {
                wireguard.Dispose();
                throw new TimeoutException($"wireguard-go did not create {device} within {Patience}");
            }

            await Task.Delay(100);
        }

        return wireguard;
    }

    private bool _disposed;

    /// <summary>Ends it; again does nothing (a test may end it early, before the cgroup it is in goes).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Command.TryRun("kill", "-CONT", $"{_process.Id}");
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        _process.WaitForExit(30_000);
        _process.Dispose();
    }
}
