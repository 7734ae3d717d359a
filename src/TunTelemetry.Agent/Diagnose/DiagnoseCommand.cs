using System.Diagnostics;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using TunTelemetry.Agent.Snapshot;
using TunTelemetry.Devices;
using TunTelemetry.Netlink;
using TunTelemetry.Polling;
using TunTelemetry.Readers;

namespace TunTelemetry.Agent.Diagnose;

/// <summary>
/// <c>diagnose</c>: watches the TUN/TAP devices' drops, their readers and the readers' CPU for a window, then says for
/// each device that dropped why, in one line with what to change (<see cref="DropCause"/>), and for the others one
/// summary line. Exit code 0 when nothing dropped, 3 when something did, so a script or a probe can act on it.
/// </summary>
/// <remarks>
/// Counters are read every <see cref="Step"/> to see bursts; readers and their CPU at the window's start and end
/// (a <c>/proc</c> scan each). Everything it reads, the running agent reads too: this only compares and explains.
/// </remarks>
internal static class DiagnoseCommand
{
    /// <summary>The exit code when a device dropped.</summary>
    internal const int Dropped = 3;

    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(200);

    internal static async Task<int> RunAsync(IReadOnlyList<string> deviceNames, bool allNamespaces, TimeSpan window, bool json,
        TextWriter output, TextWriter error, CancellationToken cancel)
    {
        if (allNamespaces && deviceNames.Count > 0)
        {
            error.WriteLine("tuntelemetry: diagnose --all-namespaces watches every device; it takes no DEVICE names (a name may be in several namespaces)");
            return ExitCodes.BadUsage;
        }

        try
        {
            return await FollowAsync(deviceNames, allNamespaces, window, json, output, error, cancel).ConfigureAwait(false);
        }
        catch (NetlinkException e)
        {
            error.WriteLine($"tuntelemetry: reading the kernel's devices failed ({e.Reason}): {HumanText.Escape(e.Message)}");
            return ExitCodes.Failure;
        }
    }

    private static async Task<int> FollowAsync(IReadOnlyList<string> deviceNames, bool allNamespaces, TimeSpan window, bool json,
        TextWriter output, TextWriter error, CancellationToken cancel)
    {
        using RouteSocket socket = RouteSocket.Open();
        var sampler = new ReaderCpuSampler();
        int code = SnapshotCommand.Take(socket, allLinks: false, deviceNames, allNamespaces, scanReaders: true, error, out List<DeviceSnapshot> first, out TunReaderTable firstReaders);
        if (code != ExitCodes.Success)
        {
            return code;
        }

        Dictionary<int, ReaderCpu> cpuBefore = SampleCpu(sampler, first);
        var clock = Stopwatch.StartNew();
        var bursts = first.ToDictionary(Identity, _ => new BurstTracker());
        Dictionary<(ulong, int), DeviceSnapshot> previous = first.ToDictionary(Identity);
        error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"tuntelemetry: watching {first.Count} device(s) for {window.TotalSeconds:0.#} s"));

        while (clock.Elapsed < window)
        {
            TimeSpan left = window - clock.Elapsed;
            await Task.Delay(left < Step ? left : Step, cancel).ConfigureAwait(false);
            SnapshotCommand.Take(socket, allLinks: false, deviceNames, allNamespaces, scanReaders: false, TextWriter.Null, out List<DeviceSnapshot> now, out _);
            foreach (DeviceSnapshot device in now)
            {
                if (previous.TryGetValue(Identity(device), out DeviceSnapshot? before) && bursts.TryGetValue(Identity(device), out BurstTracker? tracker))
                {
                    tracker.Add(before, device);
                }

                previous[Identity(device)] = device;
            }
        }

        SnapshotCommand.Take(socket, allLinks: false, deviceNames, allNamespaces, scanReaders: true, TextWriter.Null, out List<DeviceSnapshot> last, out TunReaderTable lastReaders);
        double seconds = clock.Elapsed.TotalSeconds;
        Dictionary<int, ReaderCpu> cpuAfter = SampleCpu(sampler, last);
        Dictionary<(ulong, int), DeviceSnapshot> atStart = first.ToDictionary(Identity);
        bool hidden = firstReaders.HiddenProcesses > 0 || lastReaders.HiddenProcesses > 0;

        var results = new List<(DeviceWindow Device, DropCause? Cause)>();
        foreach (DeviceSnapshot end in last.Where(d => d.Link.IsTunOrTap))
        {
            if (!atStart.TryGetValue(Identity(end), out DeviceSnapshot? start))
            {
                continue; // appeared during the window: nothing to compare with
            }

            BurstTracker burst = bursts.GetValueOrDefault(Identity(end)) ?? new BurstTracker();
            ulong drops = LinkStatsDelta.Growth(start.Stats.TxDropped, end.Stats.TxDropped);
            IReadOnlyList<ReaderWindow> readers = (end.Readers ?? [])
                .Select(r => Reader(r, cpuBefore.GetValueOrDefault(r.Pid), cpuAfter.GetValueOrDefault(r.Pid), seconds))
                .ToArray();
            var watched = new DeviceWindow(end.Link.Name, end.Netns?.Name, drops, end.Link.TxQueueLength, burst.Largest, burst.DropsOutside, readers, hidden);
            results.Add((watched, drops > 0 ? DropCause.Of(watched) : null));
        }

        if (json)
        {
            WriteJson(results, output);
        }
        else
        {
            WriteText(results, seconds, hidden, firstReaders, sampler, output);
        }

        return results.Any(r => r.Cause is not null) ? Dropped : ExitCodes.Success;
    }

    private static void WriteText(List<(DeviceWindow Device, DropCause? Cause)> results, double seconds, bool hidden, TunReaderTable readers,
        ReaderCpuSampler sampler, TextWriter output)
    {
        if (hidden)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Not root: readers are looked for among the {readers.Processes - readers.HiddenProcesses} of {readers.Processes} processes this user can see."));
        }

        if (!sampler.SeesCgroups)
        {
            output.WriteLine("No cgroup file system is mounted here (/proc/self/mountinfo): CPU quotas are not checked.");
        }

        if (results.Count == 0)
        {
            output.WriteLine("No TUN/TAP devices found.");
            return;
        }

        foreach ((DeviceWindow device, DropCause? cause) in results.Where(r => r.Cause is not null))
        {
            output.WriteLine(HumanText.Escape(string.Create(CultureInfo.InvariantCulture,
                $"{Shown(device)}: {device.Drops} drops in {seconds:0.#} s: {cause!.Evidence}; {cause.Remedy}")));
        }

        string[] calm = results.Where(r => r.Cause is null).Select(r => Shown(r.Device)).ToArray();
        if (calm.Length > 0)
        {
            string names = string.Join(", ", calm.Take(10)) + (calm.Length > 10 ? string.Create(CultureInfo.InvariantCulture, $" and {calm.Length - 10} more") : string.Empty);
            output.WriteLine(HumanText.Escape(string.Create(CultureInfo.InvariantCulture,
                $"{calm.Length} device(s) did not drop in {seconds:0.#} s: {names}")));
        }
    }

    private static void WriteJson(List<(DeviceWindow Device, DropCause? Cause)> results, TextWriter output)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartArray();
            foreach ((DeviceWindow device, DropCause? cause) in results)
            {
                json.WriteStartObject();
                json.WriteString("name", device.Name);
                if (device.Namespace is { } ns)
                {
                    json.WriteString("netns", ns);
                }

                json.WriteNumber("drops", device.Drops);
                json.WriteNumber("txqueuelen", device.TxQueueLength);
                json.WriteNumber("largest_burst", device.LargestBurst);
                if (cause is not null)
                {
                    json.WriteString("cause", cause.Code);
                    json.WriteString("evidence", cause.Evidence);
                    json.WriteString("remedy", cause.Remedy);
                }
                else
                {
                    json.WriteNull("cause");
                }

                json.WriteStartArray("readers");
                foreach (ReaderWindow reader in device.Readers)
                {
                    json.WriteStartObject();
                    json.WriteNumber("pid", reader.Pid);
                    json.WriteString("name", reader.Name);
                    json.WriteString("state", reader.State.ToString());
                    WriteNumberOrNull(json, "cpu_share", reader.CpuShare);
                    WriteNumberOrNull(json, "run_delay_share", reader.RunDelayShare);
                    if (reader.Throttling is { } t)
                    {
                        json.WriteStartObject("cgroup_cpu");
                        json.WriteString("cgroup", t.Cgroup);
                        json.WriteNumber("quota_seconds", t.QuotaSeconds);
                        json.WriteNumber("period_seconds", t.PeriodSeconds);
                        json.WriteNumber("periods", t.Periods);
                        json.WriteNumber("throttled_periods", t.ThrottledPeriods);
                        json.WriteNumber("throttled_seconds", t.ThrottledSeconds);
                        json.WriteEndObject();
                    }
                    else
                    {
                        json.WriteNull("cgroup_cpu");
                    }

                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
    }

    private static void WriteNumberOrNull(Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } number)
        {
            json.WriteNumber(name, Math.Round(number, 4));
        }
        else
        {
            json.WriteNull(name);
        }
    }

    private static ReaderWindow Reader(TunReader reader, ReaderCpu? before, ReaderCpu? after, double seconds)
    {
        double? cpu = before is not null && after is not null
            ? Math.Max(0, (after.UserSeconds + after.SystemSeconds - before.UserSeconds - before.SystemSeconds) / seconds)
            : null;
        double? delay = before?.RunDelaySeconds is { } d0 && after?.RunDelaySeconds is { } d1 ? Math.Max(0, (d1 - d0) / seconds) : null;
        ThrottlingWindow? throttling = before?.Throttling is { } t0 && after?.Throttling is { } t1 && t0.Cgroup == t1.Cgroup
            ? new ThrottlingWindow(t1.Cgroup, t1.QuotaSeconds, t1.PeriodSeconds, LinkStatsDelta.Growth(t0.Periods, t1.Periods),
                LinkStatsDelta.Growth(t0.ThrottledPeriods, t1.ThrottledPeriods), Math.Max(0, t1.ThrottledSeconds - t0.ThrottledSeconds))
            : null;
        return new ReaderWindow(reader.Pid, reader.Name, reader.State, cpu, delay, throttling);
    }

    private static Dictionary<int, ReaderCpu> SampleCpu(ReaderCpuSampler sampler, List<DeviceSnapshot> devices) =>
        ReaderCpuSampler.SampleEach(devices.SelectMany(d => d.Readers ?? []), sampler.Sample);

    private static (ulong, int) Identity(DeviceSnapshot device) => (device.Netns?.Inode ?? 0, device.Link.IfIndex);

    private static string Shown(DeviceWindow device) => device.Namespace is { } ns ? $"{device.Name}@{ns}" : device.Name;

    /// <summary>The largest number of packets that came within one step, and the drops of the steps that had no burst.</summary>
    private sealed class BurstTracker
    {
        public ulong Largest { get; private set; }

        public ulong DropsOutside { get; private set; }

        public void Add(DeviceSnapshot before, DeviceSnapshot after)
        {
            // Packets sent to the device: those its reader took (tx_packets) and those the full queue dropped.
            ulong came = LinkStatsDelta.Growth(before.Stats.TxPackets, after.Stats.TxPackets) + LinkStatsDelta.Growth(before.Stats.TxDropped, after.Stats.TxDropped);
            Largest = Math.Max(Largest, came);
            if (came <= after.Link.TxQueueLength)
            {
                DropsOutside += LinkStatsDelta.Growth(before.Stats.TxDropped, after.Stats.TxDropped);
            }
        }
    }
}
