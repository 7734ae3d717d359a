using System.Text.RegularExpressions;
using TunTelemetry.Metrics;
using TunTelemetry.Netlink;
using Xunit;

namespace TunTelemetry.Tests.Metrics;

/// <summary>README's metric table is a public contract: it must say exactly what the code exports.</summary>
public sealed partial class ReadmeMetricTableTests
{
    [Fact]
    public void Every_rtnl_link_stats64_field_is_documented_as_it_is_exported()
    {
        string readme = File.ReadAllText(FindReadme());
        var documented = FieldRow().Matches(readme)
            .Select(m => (Field: m.Groups[1].Value, Metric: m.Groups[2].Value, Unit: m.Groups[3].Value, Attributes: m.Groups[4].Value, Detailed: m.Groups[5].Value.Contains("detailed", StringComparison.Ordinal)))
            .ToList();

        Assert.Equal(LinkStatsMetricMap.Bindings.Count, documented.Count);
        foreach (LinkStatsMetricBinding binding in LinkStatsMetricMap.Bindings)
        {
            Assert.Contains(documented, d =>
                d.Field == binding.Field.KernelName()
                && d.Metric == binding.Metric
                && d.Unit == binding.Unit
                && d.Detailed == binding.Detailed
                && (binding.Direction is null || d.Attributes.Contains($"network.io.direction={binding.Direction}", StringComparison.Ordinal))
                && (binding.ErrorType is null || d.Attributes.Contains($"error.type={binding.ErrorType}", StringComparison.Ordinal)));
        }

        Assert.Equal(LinkStats64FieldNames.All.Order(), documented.Select(d => d.Field).Distinct().Order());
    }

    private static string FindReadme()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "README.md");
            if (File.Exists(candidate) && File.Exists(Path.Combine(dir.FullName, "TunTelemetry.sln")))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("README.md next to TunTelemetry.sln");
    }

    [GeneratedRegex(@"^\| `([a-z_]+)` \| `([a-z._]+)` \| `([^`]+)` \| ([^|]*) \| ([^|]*) \|$", RegexOptions.Multiline)]
    private static partial Regex FieldRow();
}
