using System.Diagnostics.Metrics;
using TunTelemetry.Devices;
using TunTelemetry.Readers;

namespace TunTelemetry.Metrics;

/// <summary>
/// <c>tundev.reader</c> and <c>tundev.reader.stopped</c>: one series per (device, reading process), from the last
/// <see cref="ReadersObserved"/>. Observable gauges, so a reader that exited, or whose device is no longer watched,
/// leaves the export with the next observation that lacks it. The aggregator replaces the whole table at once; the
/// export thread reads whichever table is current.
/// </summary>
/// <remarks>
/// Like a device name, every (device, process) pair the gauges ever reported keeps a point in the SDK's store until the
/// per-device instruments are renewed, and a daemon that restarts reports a new pid each time; so <see cref="Set"/> says
/// how many pairs the store gained and how many left the export, for the same renewal rule
/// (<see cref="SeriesStoreRenewal"/>).
/// </remarks>
internal sealed class ReaderGauges
{
    private readonly HashSet<ReaderIdentity> _inStore = [];
    private ReaderPoint[] _points = [];

    /// <summary>Makes the gauges on the per-device meter (again after each renewal); the table outlives them.</summary>
    public void CreateInstruments(Meter meter)
    {
        // Why a running reader falls behind: its CPU, the run queue it waits on, its cgroup's quota. Counters of the
        // kernel's cumulative values; a reader whose value could not be read has no point, never a false 0.
        meter.CreateObservableCounter(MetricNames.ProcessCpuTime, () => ObserveCpu(
            p => [(p.UserSeconds, CpuModeUser), (p.SystemSeconds, CpuModeSystem)]), "s",
            "CPU time of the reading process, by cpu.mode (user, system), from /proc/PID/stat.");
        meter.CreateObservableCounter(MetricNames.ReaderCpuDelay, () => ObserveCpu(p => p.RunDelaySeconds is { } d ? [(d, null)] : []), "s",
            "Time the reading process was ready to run but waited for a CPU (run-queue delay, /proc/PID/schedstat).");
        meter.CreateObservableCounter(MetricNames.ReaderCgroupPeriods, () => ObserveCpu(p => p.Throttling is { } t ? [(t.Periods, null)] : []), "{period}",
            "CPU bandwidth periods in which the reading process's cgroup wanted CPU (cpu.stat nr_periods); only for a cgroup with a CPU quota.");
        meter.CreateObservableCounter(MetricNames.ReaderCgroupThrottled, () => ObserveCpu(p => p.Throttling is { } t ? [(t.ThrottledPeriods, null)] : []), "{period}",
            "Periods in which the reading process's cgroup used up its CPU quota and was stopped (cpu.stat nr_throttled).");
        meter.CreateObservableCounter(MetricNames.ReaderCgroupThrottledTime, () => ObserveCpu(p => p.Throttling is { } t ? [(t.ThrottledSeconds, null)] : []), "s",
            "Time the reading process's cgroup spent stopped by its CPU quota (cpu.stat throttled_time / throttled_usec).");
        meter.CreateObservableGauge(MetricNames.ReaderCgroupQuota, () => ObserveCpu(p => p.Throttling is { } t ? [(t.QuotaSeconds, null)] : []), "s",
            "CPU time the reading process's cgroup may use per period (cpu.cfs_quota_us / cpu.max).");
        meter.CreateObservableGauge(MetricNames.ReaderCgroupPeriod, () => ObserveCpu(p => p.Throttling is { } t ? [(t.PeriodSeconds, null)] : []), "s",
            "The period the reading process's cgroup's CPU quota renews in (cpu.cfs_period_us / cpu.max).");
        meter.CreateObservableGauge(MetricNames.Reader, () => Observe(_ => 1), "{process}",
            "1 per process holding a queue of the TUN/TAP device open (the process its packets wait for), from /proc.");
        // A count of processes (1 or 0), not unit 1, which the collector's Prometheus exporter would suffix with _ratio.
        meter.CreateObservableGauge(MetricNames.ReaderStopped, () => Observe(p => p.Stopped ? 1 : 0), "{process}",
            "1 when the reading process is stopped (state T, or t under a tracer): it cannot drain the device, else 0.");
    }

    /// <param name="deviceTags">
    /// The attributes naming a device, as its other series carry them (its name, and its namespace's inode and name for a
    /// device of another namespace, or for every device with <c>--all-namespaces</c>).
    /// </param>
    /// <returns>The pairs new to the SDK's store, and the pairs that were exported before and are not now.</returns>
    public (int Added, int Left) Set(ReadersObserved observed, Func<TunDevice, KeyValuePair<string, object?>[]> deviceTags)
    {
        var points = new List<ReaderPoint>();
        foreach (DeviceReaders device in observed.Devices)
        {
            if (device.Readers.Count == 0)
            {
                continue;
            }

            KeyValuePair<string, object?>[] tags = deviceTags(device.Device);
            foreach (TunReader reader in device.Readers)
            {
                points.Add(new ReaderPoint(
                    [
                        .. tags,
                        new(MetricNames.ProcessPid, reader.Pid),
                        new(MetricNames.ProcessExecutableName, reader.Name),
                    ],
                    reader.IsStopped,
                    observed.Cpu.GetValueOrDefault(reader.Pid),
                    new ReaderIdentity(device.Device.Home.Inode, device.Device.Name, reader.Pid, reader.Name)));
            }
        }

        ReaderPoint[] previous = Volatile.Read(ref _points);
        Volatile.Write(ref _points, points.ToArray());
        int added = points.Count(p => _inStore.Add(p.Identity));
        var now = points.Select(p => p.Identity).ToHashSet();
        int left = previous.Count(p => !now.Contains(p.Identity));
        return (added, left);
    }

    /// <summary>The (device, process) pairs exported now.</summary>
    public int Count => Volatile.Read(ref _points).Length;

    /// <summary>The instruments were made anew: the new store holds the pairs exported now.</summary>
    public int Renewed()
    {
        _inStore.Clear();
        foreach (ReaderPoint point in Volatile.Read(ref _points))
        {
            _inStore.Add(point.Identity);
        }

        return _inStore.Count;
    }

    private IEnumerable<Measurement<long>> Observe(Func<ReaderPoint, long> value)
    {
        foreach (ReaderPoint point in Volatile.Read(ref _points))
        {
            yield return new Measurement<long>(value(point), point.Tags);
        }
    }

    private IEnumerable<Measurement<double>> ObserveCpu(Func<ReaderCpu, (double Value, KeyValuePair<string, object?>? Extra)[]> values)
    {
        foreach (ReaderPoint point in Volatile.Read(ref _points))
        {
            if (point.Cpu is not { } cpu)
            {
                continue;
            }

            foreach ((double value, KeyValuePair<string, object?>? extra) in values(cpu))
            {
                yield return new Measurement<double>(value, extra is { } tag ? [.. point.Tags, tag] : point.Tags);
            }
        }
    }

    private static readonly KeyValuePair<string, object?> CpuModeUser = new(MetricNames.CpuMode, "user");
    private static readonly KeyValuePair<string, object?> CpuModeSystem = new(MetricNames.CpuMode, "system");

    private sealed record ReaderPoint(KeyValuePair<string, object?>[] Tags, bool Stopped, ReaderCpu? Cpu, ReaderIdentity Identity);

    private readonly record struct ReaderIdentity(ulong Netns, string Device, int Pid, string Executable);
}
