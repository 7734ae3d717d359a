using System.Diagnostics;
using System.Globalization;

namespace TunTelemetry.IntegrationTests.Support;

/// <summary>Writes packets into a device held by another process (Support/send_packets.py, optionally in a namespace).</summary>
public static class PacketWriter
{
    /// <summary>Returns how many packets the kernel accepted (queued or counted as dropped).</summary>
    public static int Send(string device, int count, string? netns = null)
    {
        string script = Path.Combine(AppContext.BaseDirectory, "Support", "send_packets.py");
        var start = new ProcessStartInfo(netns is null ? "/usr/bin/python3" : "ip")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string[] arguments = netns is null
            ? [script, device, $"{count}"]
            : ["netns", "exec", netns, "/usr/bin/python3", script, device, $"{count}"];
        foreach (string a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using Process process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"send_packets.py {device} {count} failed: {error}");
        }

        return int.Parse(output.Trim(), CultureInfo.InvariantCulture);
    }
}
