using System.Diagnostics;

namespace TunTelemetry.IntegrationTests.Support;

/// <summary>A named network namespace made by a test (<c>ip netns add</c>) and deleted with it.</summary>
public sealed class TestNetns : IDisposable
{
    private TestNetns(string name) => Name = name;

    public string Name { get; }

    public static TestNetns Create()
    {
        var netns = new TestNetns($"ttns{Random.Shared.Next():x8}");
        Run("ip", "netns", "add", netns.Name);
        return netns;
    }

    public void Dispose() => Run("ip", "netns", "delete", Name);

    internal static void Run(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using Process process = Process.Start(start)!;
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} failed ({process.ExitCode}): {error}");
        }
    }
}
