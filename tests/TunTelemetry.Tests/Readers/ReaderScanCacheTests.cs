using TunTelemetry.Readers;
using Xunit;

namespace TunTelemetry.Tests.Readers;

/// <summary>
/// Which processes a reader scan lists, without <c>/proc</c>: each test plays scans as the scan would (Begin, a Look per
/// process, a Record per listing, End) and checks the decisions. The real scan is tested against real processes in
/// the integration tests (ReaderDiscoveryTests).
/// </summary>
public sealed class ReaderScanCacheTests
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan FullEvery = TimeSpan.FromMinutes(15);

    private readonly ReaderScanCache _cache = new(FullEvery, countsOpenFiles: true);

    /// <summary>
    /// One scan at <paramref name="minute"/> over <paramref name="processes"/>: each listed process is recorded with what
    /// <paramref name="found"/> says (Plain when absent). Returns the pids listed and the ones counted hidden.
    /// </summary>
    private (int[] Listed, int[] Hidden) Scan(int minute, (int Pid, ProcessFingerprint Fingerprint)[] processes,
        Dictionary<int, ProcessFinding>? found = null, bool deviceAppeared = false)
    {
        _cache.Begin(Minute * minute, deviceAppeared);
        var listed = new List<int>();
        var hidden = new List<int>();
        foreach ((int pid, ProcessFingerprint fingerprint) in processes)
        {
            switch (_cache.Look(pid, fingerprint))
            {
                case ProcessLook.List:
                    listed.Add(pid);
                    ProcessFinding finding = found?.GetValueOrDefault(pid) ?? ProcessFinding.Plain;
                    hidden.AddRange(finding == ProcessFinding.Hidden ? [pid] : []);
                    _cache.Record(pid, fingerprint, finding);
                    break;
                case ProcessLook.SkipHidden:
                    hidden.Add(pid);
                    break;
            }
        }

        _cache.End();
        Assert.Equal(listed.Count, _cache.Listed);
        Assert.All(processes, p => Assert.Equal(listed.Contains(p.Pid), _cache.WasListed(p.Pid)));
        return (listed.ToArray(), hidden.ToArray());
    }

    private static (int, ProcessFingerprint) P(int pid, ulong instance, long files) => (pid, new ProcessFingerprint(instance, files));

    [Fact]
    public void The_first_scan_lists_everyone_and_the_next_lists_nobody_unchanged()
    {
        var host = new[] { P(1, 11, 40), P(2, 12, 50), P(3, 13, 50) };

        Assert.Equal([1, 2, 3], Scan(0, host).Listed);
        Assert.True(_cache.Full);
        Assert.Empty(Scan(1, host).Listed);
        Assert.False(_cache.Full);
        Assert.Equal(3, _cache.Known);
    }

    [Fact]
    public void A_process_whose_open_file_count_changed_is_listed_again_then_left_while_it_stays()
    {
        Scan(0, [P(1, 11, 40), P(2, 12, 50)]);

        Assert.Equal([2], Scan(1, [P(1, 11, 40), P(2, 12, 51)]).Listed); // opened one more: maybe a TUN queue
        Assert.Equal([2], Scan(2, [P(1, 11, 40), P(2, 12, 49)]).Listed); // closed two: maybe a queue
        Assert.Empty(Scan(3, [P(1, 11, 40), P(2, 12, 49)]).Listed);
    }

    [Fact]
    public void A_pid_taken_by_another_process_is_listed_even_with_the_same_count()
    {
        Scan(0, [P(7, 11, 50)]);

        // The fd directory's inode is another: another process holds pid 7 now.
        Assert.Equal([7], Scan(1, [P(7, 99, 50)]).Listed);
    }

    [Fact]
    public void A_holder_of_dev_net_tun_is_listed_at_every_scan_even_unchanged_and_a_former_holder_is_not()
    {
        var processes = new[] { P(1, 11, 40), P(2, 12, 50) };
        Scan(0, processes, new() { [2] = ProcessFinding.HoldsTun });

        // Its state, name and namespace are read again, and a queue it holds may have been attached or renamed.
        Assert.Equal([2], Scan(1, processes, new() { [2] = ProcessFinding.HoldsTun }).Listed);
        Assert.Equal([2], Scan(2, processes, new() { [2] = ProcessFinding.Plain }).Listed); // found without a queue now
        Assert.Empty(Scan(3, processes).Listed);
    }

    [Fact]
    public void A_process_that_swaps_one_file_for_a_queue_keeps_its_count_and_is_found_by_the_full_scan()
    {
        // The limit the full scan is there for: pid 5 closes one file and opens a queue between two scans.
        var processes = new[] { P(1, 11, 40), P(5, 15, 50) };
        Scan(0, processes);
        for (int minute = 1; minute < 15; minute++)
        {
            Assert.Empty(Scan(minute, processes).Listed);
        }

        Assert.Equal([1, 5], Scan(15, processes, new() { [5] = ProcessFinding.HoldsTun }).Listed);
        Assert.True(_cache.Full);
        Assert.Equal([5], Scan(16, processes).Listed); // a holder from then on
    }

    [Fact]
    public void Full_scans_come_every_interval_give_or_take_a_late_or_early_tick()
    {
        var processes = new[] { P(1, 11, 40) };
        var full = new List<TimeSpan>();
        for (TimeSpan now = TimeSpan.Zero; now <= TimeSpan.FromMinutes(60); now += Minute)
        {
            // The timer fires a few milliseconds off the minute, either way.
            if (_cache.Begin(now + TimeSpan.FromMilliseconds(now.Minutes % 2 == 0 ? 5 : -5), deviceAppeared: false))
            {
                full.Add(now);
            }

            Assert.Equal(ProcessLook.List == _cache.Look(1, processes[0].Item2), _cache.Full);
            if (_cache.Full)
            {
                _cache.Record(1, processes[0].Item2, ProcessFinding.Plain);
            }

            _cache.End();
        }

        Assert.Equal([0, 15, 30, 45, 60], full.Select(t => (int)t.TotalMinutes));
    }

    [Fact]
    public void A_device_appearing_makes_the_next_scan_full_and_restarts_the_wait_for_the_next()
    {
        var processes = new[] { P(1, 11, 40), P(2, 12, 50) };
        Scan(0, processes);

        Assert.Equal([1, 2], Scan(7, processes, deviceAppeared: true).Listed);
        Assert.Empty(Scan(15, processes).Listed); // 8 minutes after the last full scan
        Assert.Equal([1, 2], Scan(22, processes).Listed);
    }

    [Fact]
    public void Processes_gone_are_forgotten_so_a_pid_seen_again_is_listed()
    {
        Scan(0, [P(1, 11, 40), P(2, 12, 50)]);

        Scan(1, [P(1, 11, 40)]); // 2 exited: not listed, not known
        Assert.Equal(1, _cache.Known);
        Assert.Equal([2], Scan(2, [P(1, 11, 40), P(2, 12, 50)]).Listed); // even with what it had before
    }

    [Fact]
    public void A_hidden_process_is_counted_hidden_again_without_a_listing_until_it_changes()
    {
        var processes = new[] { P(1, 11, 40), P(2, 12, 50) };
        Assert.Equal([2], Scan(0, processes, new() { [2] = ProcessFinding.Hidden }).Hidden);

        (int[] listed, int[] hidden) = Scan(1, processes);
        Assert.Empty(listed);
        Assert.Equal([2], hidden);
        Assert.Equal([2], Scan(2, [P(1, 11, 40), P(2, 12, 51)]).Listed);
    }

    [Fact]
    public void Without_open_file_counts_every_scan_is_full()
    {
        // Before Linux 6.2 every fd directory's size is 0: a fingerprint would hide every new queue.
        var cache = new ReaderScanCache(FullEvery, countsOpenFiles: false);
        for (int minute = 0; minute < 3; minute++)
        {
            Assert.True(cache.Begin(Minute * minute, deviceAppeared: false));
            Assert.Equal(ProcessLook.List, cache.Look(1, new ProcessFingerprint(11, 0)));
            cache.Record(1, new ProcessFingerprint(11, 0), ProcessFinding.Plain);
            cache.End();
        }
    }
}
