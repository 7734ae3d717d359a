using System.Text.RegularExpressions;
using TunTelemetry.IntegrationTests.Support;
using Xunit;

namespace TunTelemetry.IntegrationTests.EndToEnd;

/// <summary><c>demo</c> as a first-time user runs it: real drops, the exported count beside the kernel's, clean exit.</summary>
public sealed partial class DemoCommandTests
{
    private static readonly Dictionary<string, string> NoEnvironment = [];

    [NetAdminFact]
    public void Shows_the_exported_drops_equal_to_the_kernels_and_removes_its_device()
    {
        using AgentProcess demo = AgentProcess.Start(NoEnvironment, "demo", "--seconds", "4", "--packets", "800");
        Assert.Equal(0, demo.WaitForExit(TimeSpan.FromSeconds(60)));

        string device = CreatedDevice().Match(demo.Output).Groups[1].Value;
        (long Exported, long Kernel)[] lines = DropsLine().Matches(demo.Output)
            .Select(m => (long.Parse(m.Groups[1].Value), long.Parse(m.Groups[2].Value))).ToArray();
        Assert.Equal(4, lines.Length);
        // The user watches it grow, and it is the kernel's count: each line shows the last poll (1 s polls), so the
        // exported total never runs ahead of the kernel and catches up with it.
        Assert.All(lines, l => Assert.InRange(l.Exported, 0, l.Kernel));
        Assert.True(lines[^1].Exported > lines[0].Exported, demo.Output);
        Assert.Contains(lines, l => l.Exported == l.Kernel && l.Kernel > 0);
        Assert.False(Sysfs.Exists(device), $"{device} must be removed on exit");
    }

    [NetAdminFact]
    public void Ctrl_C_stops_it_and_removes_its_device()
    {
        using AgentProcess demo = AgentProcess.Start(NoEnvironment, "demo");
        DateTime deadline = DateTime.UtcNow.AddSeconds(30);
        while (DropsLine().Matches(demo.Output).Count < 2 && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(100);
        }

        string device = CreatedDevice().Match(demo.Output).Groups[1].Value;
        Assert.True(Sysfs.Exists(device));
        Assert.Equal(0, demo.Interrupt(TimeSpan.FromSeconds(30)));
        Assert.Contains("Removed the demo device.", demo.Output, StringComparison.Ordinal);
        Assert.False(Sysfs.Exists(device));
    }

    [GeneratedRegex(@"Created TUN device (\S+) ")]
    private static partial Regex CreatedDevice();

    [GeneratedRegex(@"tundev\.txq\.drops\{network\.interface\.name=(?:\S+)\} =\s+(\d+)\s+kernel tx_dropped =\s+(\d+)")]
    private static partial Regex DropsLine();
}
