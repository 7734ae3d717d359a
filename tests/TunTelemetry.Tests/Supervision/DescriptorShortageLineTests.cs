using TunTelemetry.Supervision;
using Xunit;

namespace TunTelemetry.Tests.Supervision;

public sealed class DescriptorShortageLineTests
{
    private static readonly string[] Kinds = ["poller", "link-state"];

    [Fact]
    public void The_first_line_gives_the_limit_the_counts_and_what_to_do()
    {
        (bool warning, string text) = DescriptorShortageLine.For(new DescriptorShortageReport(0, 101, 201), devices: 150, limit: 360, reserve: 64, Kinds, linkState: true);

        Assert.True(warning);
        Assert.Equal(
            "Out of file descriptors: 49 devices watched, 101 not watched (RLIMIT_NOFILE 360, of which 64 are kept for the agent itself; "
            + "each device takes one per actor: poller, link-state). To watch them all, raise LimitNOFILE= (systemd) or ulimit -n to at "
            + "least 561, or set tuntelemetry.metrics.link-state = off to halve the need. The devices not watched are retried as "
            + "descriptors free up; tuntelemetry.poll.failures counts each try (error.type=socket)",
            text);
    }

    [Fact]
    public void More_devices_left_out_is_a_warning_fewer_is_news_and_the_end_says_all_are_watched()
    {
        (bool more, string moreText) = DescriptorShortageLine.For(new DescriptorShortageReport(2, 5, 9), devices: 20, limit: 300, reserve: 64, ["poller"], linkState: false);
        Assert.True(more);
        Assert.Equal("Still out of file descriptors: 5 devices not watched now (was 2), 15 watched (RLIMIT_NOFILE 300). "
            + "To watch them all, raise LimitNOFILE= (systemd) or ulimit -n to at least 309", moreText);

        (bool fewer, string fewerText) = DescriptorShortageLine.For(new DescriptorShortageReport(5, 1, 1), devices: 20, limit: null, reserve: 64, ["poller"], linkState: false);
        Assert.False(fewer);
        Assert.Equal("Still out of file descriptors: 1 devices not watched now (was 5), 19 watched (RLIMIT_NOFILE unlimited or unknown)", fewerText);

        (bool ended, string endText) = DescriptorShortageLine.For(new DescriptorShortageReport(1, 0, 0), devices: 20, limit: 300, reserve: 64, ["poller"], linkState: false);
        Assert.False(ended);
        Assert.Equal("File descriptors suffice again: all 20 devices watched (RLIMIT_NOFILE 300)", endText);
    }
}
