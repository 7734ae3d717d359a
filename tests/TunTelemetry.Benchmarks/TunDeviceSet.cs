using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace TunTelemetry.Benchmarks;

/// <summary>
/// N persistent TUN devices <c>tb0</c>…<c>tb{N-1}</c> in the current network namespace, created and brought up with
/// one <c>ip -batch</c>, deleted the same way. Deletion runs on Dispose, on process exit and on SIGINT/SIGTERM, so a
/// failed or interrupted run leaves nothing behind (bench/run.sh also traps and deletes any <c>tbN</c> left).
/// </summary>
internal sealed partial class TunDeviceSet : IDisposable
{
    // Every device goes into this link group, so one 'ip link del group' removes them all in one batch: deleting
    // devices one by one waits for an RCU grace period each (about 20 ms, so 20 s for 1,000 devices).
    private const int Group = 31572;

    private readonly List<PosixSignalRegistration> _signals = [];
    private readonly Lock _gate = new();
    private bool _deleted;

    private TunDeviceSet(string prefix, int count)
    {
        Prefix = prefix;
        Count = count;
    }

    public string Prefix { get; }

    public int Count { get; }

    public IEnumerable<string> Names => Enumerable.Range(0, Count).Select(i => $"{Prefix}{i}");

    public static TunDeviceSet Create(string prefix, int count)
    {
        RemoveLeftovers(prefix);
        var set = new TunDeviceSet(prefix, count);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => set.Dispose();
        foreach (PosixSignal signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM })
        {
            set._signals.Add(PosixSignalRegistration.Create(signal, _ =>
            {
                set.Dispose();
                // cancel = false: the default action (exit) follows
            }));
        }

        var clock = Stopwatch.StartNew();
        var batch = new StringBuilder();
        foreach (string name in set.Names)
        {
            batch.Append("tuntap add dev ").Append(name).Append(" mode tun\n");
        }

        foreach (string name in set.Names)
        {
            batch.Append("link set ").Append(name).Append(" group ").Append(Group).Append(" up\n");
        }

        try
        {
            RunBatch(batch.ToString());
        }
        catch
        {
            set.Dispose();
            throw;
        }

        Console.WriteLine($"created {count} TUN devices {prefix}0..{prefix}{count - 1} in {clock.Elapsed.TotalSeconds:F1} s");
        return set;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_deleted)
            {
                return;
            }

            _deleted = true;
        }

        var clock = Stopwatch.StartNew();
        RunBatch($"link del group {Group}\n", force: true);
        var batch = new StringBuilder();
        foreach (string name in ExistingNames(Prefix))
        {
            batch.Append("link del ").Append(name).Append('\n');
        }

        if (batch.Length > 0)
        {
            RunBatch(batch.ToString(), force: true);
        }

        Console.WriteLine($"deleted {Prefix}N devices in {clock.Elapsed.TotalSeconds:F1} s");
        foreach (PosixSignalRegistration registration in _signals)
        {
            registration.Dispose();
        }
    }

    /// <summary>Devices named prefix + digits that exist now.</summary>
    public static List<string> ExistingNames(string prefix)
    {
        var pattern = new Regex($"^{Regex.Escape(prefix)}[0-9]+$", RegexOptions.CultureInvariant);
        return Directory.Exists("/sys/class/net")
            ? Directory.EnumerateFileSystemEntries("/sys/class/net").Select(p => Path.GetFileName(p)).Where(n => pattern.IsMatch(n)).ToList()
            : [];
    }

    private static void RemoveLeftovers(string prefix)
    {
        List<string> left = ExistingNames(prefix);
        if (left.Count > 0)
        {
            Console.WriteLine($"removing {left.Count} {prefix}N devices left by an earlier run");
            RunBatch(string.Concat(left.Select(n => $"link del {n}\n")), force: true);
        }
    }

    private static void RunBatch(string commands, bool force = false)
    {
        string file = Path.Combine(Path.GetTempPath(), $"tb-batch-{Environment.ProcessId}-{Guid.NewGuid():N}.txt");
        File.WriteAllText(file, commands);
        try
        {
            var start = new ProcessStartInfo("ip") { RedirectStandardError = true, UseShellExecute = false };
            if (force)
            {
                start.ArgumentList.Add("-force");
            }

            start.ArgumentList.Add("-batch");
            start.ArgumentList.Add(file);
            using Process ip = Process.Start(start)!;
            string errors = ip.StandardError.ReadToEnd();
            ip.WaitForExit();
            if (ip.ExitCode != 0)
            {
                throw new InvalidOperationException($"ip -batch failed (exit {ip.ExitCode}): {errors.Trim()}");
            }
        }
        finally
        {
            File.Delete(file);
        }
    }
}
