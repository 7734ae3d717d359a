using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;

namespace TunTelemetry.Benchmarks;

/// <summary>
/// N TUN devices (<c>tb0</c>…), then each target in turn over the same devices, each measured from /proc over the same
/// window after its warm-up:
/// <list type="bullet">
/// <item><c>agent</c>: the real agent (<c>run --no-console --poll-interval MS --include ^tbN$</c>), exporting every MS
/// over OTLP/HTTP protobuf to a local <see cref="OtlpSink"/>; ready when an export names all N devices.</item>
/// <item><c>node-exporter</c>: <c>prometheus-node-exporter --collector.disable-defaults --collector.netdev</c> on
/// 127.0.0.1, scraped with gzip every MS from this process; ready when a scrape lists all N devices.</item>
/// <item><c>cpoller</c>: bench/cpoller.c polling every device every MS (one socket per device).</item>
/// </list>
/// Reported per target: CPU µs per device per round (a round = one poll of every device for the agent and the C
/// poller, one scrape for node_exporter), RSS, descriptors and threads at the end of the window.
/// </summary>
internal static partial class ScaleBenchmark
{
    private const string Prefix = "tb";

    public static int Run(Options options)
    {
        int n = options.Int("devices", 100);
        int seconds = options.Int("seconds", 15);
        int intervalMs = options.Int("interval-ms", 1000);
        string label = options.Get("label", $"n{n}");
        string[] targets = options.Get("targets", "agent,node-exporter,cpoller").Split(',', StringSplitOptions.RemoveEmptyEntries);
        string root = RepoRoot();
        string agent = options.Get("agent") ?? Path.Combine(root, "src/TunTelemetry.Agent/bin/Release/net10.0/TunTelemetry.Agent.dll");
        string cpoller = options.Get("cpoller") ?? Path.Combine(root, "bench/.build/cpoller");
        string logDir = options.Get("logs") ?? Path.Combine(Path.GetTempPath(), "tuntelemetry-bench");
        int readyTimeout = options.Int("ready-timeout", Math.Max(60, n / 50));
        Directory.CreateDirectory(logDir);

        Console.WriteLine($"scale {label}: {n} devices, {seconds} s window, every {intervalMs} ms, targets {string.Join(", ", targets)}");
        int failures = 0;

        // On SIGINT/SIGTERM: kill the running target at once (its devices are deleted by TunDeviceSet's own handler).
        using var onInt = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, _ => Child.KillAll());
        using var onTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, _ => Child.KillAll());
        using (TunDeviceSet devices = TunDeviceSet.Create(Prefix, n))
        {
            foreach (string target in targets)
            {
                try
                {
                    TargetRun run = target switch
                    {
                        "agent" => RunAgent(agent, n, seconds, intervalMs, readyTimeout, Path.Combine(logDir, $"agent-{label}.log"), export: true),
                        "agent-noexport" => RunAgent(agent, n, seconds, intervalMs, readyTimeout, Path.Combine(logDir, $"agent-noexport-{label}.log"), export: false),
                        "node-exporter" => RunNodeExporter(n, seconds, intervalMs, readyTimeout, Path.Combine(logDir, $"node-exporter-{label}.log")),
                        "cpoller" => RunCPoller(cpoller, n, seconds, intervalMs, readyTimeout, Path.Combine(logDir, $"cpoller-{label}.log")),
                        _ => throw new ArgumentException($"unknown target '{target}'"),
                    };
                    Report(label, target, n, seconds, intervalMs, run);
                }
                catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException or System.ComponentModel.Win32Exception or HttpRequestException)
                {
                    failures++;
                    Console.WriteLine($"scale {label} {target}: FAILED: {e.Message}");
                    Results.Put($"scale.{label}.{target}.error", e.Message.ReplaceLineEndings(" "));
                }
            }
        }

        return failures == 0 ? 0 : 1;
    }

    private sealed record TargetRun(ProcSample Before, ProcSample After, TimeSpan Window, double WarmupSeconds, long Rounds, long Devices, string Extra);

    private static void Report(string label, string target, int n, int seconds, int intervalMs, TargetRun run)
    {
        double window = run.Window.TotalSeconds;
        double rounds = window * 1000 / intervalMs;
        double schedUs = (run.After.SchedCpuNs - run.Before.SchedCpuNs) / 1000.0;
        double statUs = (run.After.StatCpuNs - run.Before.StatCpuNs) / 1000.0;
        double perDeviceRound = schedUs / (n * rounds);
        double perDeviceRoundStat = statUs / (n * rounds);
        double cpuPercent = schedUs / 1e6 / window * 100;
        Console.WriteLine($"scale {label} {target}: warm-up {run.WarmupSeconds:F1} s; window {window:F1} s = {rounds:F1} rounds; " +
            $"CPU {schedUs / 1000:F1} ms (schedstat) / {statUs / 1000:F0} ms (stat) = {cpuPercent:F2}% of a core; " +
            $"{perDeviceRound:F2} µs/device/round ({perDeviceRoundStat:F2} from stat); RSS {run.After.RssKb / 1024.0:F1} MB, " +
            $"{run.After.Fds} fds, {run.After.Threads} threads; devices seen {run.Devices}/{n}; {run.Extra}");
        string k = $"scale.{label}.{target}";
        Results.Put($"{k}.devices", n);
        Results.Put($"{k}.seen", run.Devices);
        Results.Put($"{k}.window_s", window, "F1");
        Results.Put($"{k}.interval_ms", intervalMs);
        Results.Put($"{k}.cpu_us_per_device_round", perDeviceRound, "F2");
        Results.Put($"{k}.stat_cpu_us_per_device_round", perDeviceRoundStat, "F2");
        Results.Put($"{k}.cpu_percent", cpuPercent, "F2");
        Results.Put($"{k}.rss_mb", run.After.RssKb / 1024.0, "F1");
        Results.Put($"{k}.fds", run.After.Fds);
        Results.Put($"{k}.threads", run.After.Threads);
        Results.Put($"{k}.extra", run.Extra);
    }

    /// <param name="export">
    /// False: the same agent with a one-hour export interval, so the window holds polling, aggregation and the SDK's
    /// per-measurement work but no export; the difference to the exporting run is the export's cost.
    /// </param>
    private static TargetRun RunAgent(string agentDll, int n, int seconds, int intervalMs, int readyTimeout, string log, bool export)
    {
        if (!File.Exists(agentDll))
        {
            throw new IOException($"{agentDll} not found: build it with 'dotnet build src/TunTelemetry.Agent -c Release'");
        }

        using var sink = new OtlpSink(Prefix);
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = Path.GetDirectoryName(agentDll)! };
        foreach (string arg in new[] { agentDll, "run", "--no-console", "--poll-interval", $"{intervalMs}ms", "--include", $"^{Prefix}[0-9]+$", "--kind", "tun" })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = sink.Endpoint;
        start.Environment["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
        start.Environment["OTEL_METRIC_EXPORT_INTERVAL"] = export ? intervalMs.ToString(System.Globalization.CultureInfo.InvariantCulture) : "3600000";
        start.Environment["OTEL_SERVICE_NAME"] = "tuntelemetry-bench";

        using Child agent = Child.Start(start, log);
        var warm = Stopwatch.StartNew();
        if (export)
        {
            WaitUntil(() => sink.LastExportDevices >= n, readyTimeout, agent, "an export naming every device");
            Thread.Sleep(Math.Max(1000, intervalMs));
        }
        else
        {
            // No export to watch: ready once every device's poller socket is open, then two intervals for the spread start.
            WaitUntil(() => ProcStats.Sample(agent.Pid).Fds >= n, readyTimeout, agent, "a socket per device");
            Thread.Sleep(Math.Max(1000, 2 * intervalMs));
        }

        double warmup = warm.Elapsed.TotalSeconds;

        long exports0 = sink.Exports;
        long bytes0 = sink.Bytes;
        (ProcSample before, ProcSample after, TimeSpan window) = Window(agent.Pid, seconds);
        long exports = sink.Exports - exports0;
        long bytes = sink.Bytes - bytes0;
        agent.ThrowIfExited();
        return new TargetRun(before, after, window, warmup, 0, export ? sink.LastExportDevices : -1,
            export ? $"{exports} exports, {(exports > 0 ? bytes / exports : 0)} bytes/export" : $"{exports} exports (export interval 1 h; devices not checked)");
    }

    private static TargetRun RunNodeExporter(int n, int seconds, int intervalMs, int readyTimeout, string log)
    {
        string binary = new[] { "/usr/bin/prometheus-node-exporter", "/usr/local/bin/node_exporter" }.FirstOrDefault(File.Exists)
            ?? throw new IOException("prometheus-node-exporter is not installed (apt-get install prometheus-node-exporter)");
        int port = OtlpSink.FreePort();
        var start = new ProcessStartInfo(binary);
        foreach (string arg in new[]
                 {
                     "--collector.disable-defaults", "--collector.netdev", "--collector.netdev.device-exclude=", $"--collector.netdev.device-include=^{Prefix}[0-9]+$",
                     $"--web.listen-address=127.0.0.1:{port}",
                 })
        {
            start.ArgumentList.Add(arg);
        }

        using Child exporter = Child.Start(start, log);
        using var client = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None })
        {
            Timeout = TimeSpan.FromSeconds(10),
        };
        var url = new Uri($"http://127.0.0.1:{port}/metrics");
        int lastDevices = 0;
        long scrapes = 0;
        long bytes = 0;
        bool uncompressed = false;
        using var stop = new CancellationTokenSource();
        Task scraper = Task.Run(async () =>
        {
            long next = Stopwatch.GetTimestamp();
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, url);
                    request.Headers.AcceptEncoding.Add(new System.Net.Http.Headers.StringWithQualityHeaderValue("gzip"));
                    using HttpResponseMessage response = await client.SendAsync(request, stop.Token).ConfigureAwait(false);
                    byte[] body = await response.Content.ReadAsByteArrayAsync(stop.Token).ConfigureAwait(false);
                    long length = body.Length;
                    string text;
                    if (response.Content.Headers.ContentEncoding.Contains("gzip"))
                    {
                        using var gzip = new System.IO.Compression.GZipStream(new MemoryStream(body), System.IO.Compression.CompressionMode.Decompress);
                        using var reader = new StreamReader(gzip);
                        text = await reader.ReadToEndAsync(stop.Token).ConfigureAwait(false);
                    }
                    else
                    {
                        text = System.Text.Encoding.UTF8.GetString(body);
                        Volatile.Write(ref uncompressed, true);
                    }
                    Volatile.Write(ref lastDevices, DeviceLabel().Matches(text).Select(m => m.Value).Distinct().Count());
                    Interlocked.Increment(ref scrapes);
                    Interlocked.Add(ref bytes, length);
                }
                catch (HttpRequestException)
                {
                    // not listening yet
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                next += intervalMs * Stopwatch.Frequency / 1000;
                long wait = next - Stopwatch.GetTimestamp();
                if (wait > 0)
                {
                    try
                    {
                        await Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency), stop.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
            }
        });

        var warm = Stopwatch.StartNew();
        WaitUntil(() => Volatile.Read(ref lastDevices) >= n, readyTimeout, exporter, "a scrape listing every device");
        Thread.Sleep(Math.Max(1000, intervalMs));
        double warmup = warm.Elapsed.TotalSeconds;
        long scrapes0 = Interlocked.Read(ref scrapes);
        long bytes0 = Interlocked.Read(ref bytes);
        (ProcSample before, ProcSample after, TimeSpan window) = Window(exporter.Pid, seconds);
        long count = Interlocked.Read(ref scrapes) - scrapes0;
        long gz = Interlocked.Read(ref bytes) - bytes0;
        stop.Cancel();
        scraper.Wait(TimeSpan.FromSeconds(15));
        exporter.ThrowIfExited();
        return new TargetRun(before, after, window, warmup, count, Volatile.Read(ref lastDevices),
            $"{count} scrapes, {(count > 0 ? gz / count : 0)} {(Volatile.Read(ref uncompressed) ? "uncompressed" : "gzip")} bytes/scrape");
    }

    private static TargetRun RunCPoller(string cpoller, int n, int seconds, int intervalMs, int readyTimeout, string log)
    {
        if (!File.Exists(cpoller))
        {
            throw new IOException($"{cpoller} not found: cc -O2 -o {cpoller} bench/cpoller.c");
        }

        var start = new ProcessStartInfo(cpoller);
        foreach (string arg in new[] { "--prefix", Prefix, "--interval-ms", intervalMs.ToString(System.Globalization.CultureInfo.InvariantCulture), "--seconds", "100000" })
        {
            start.ArgumentList.Add(arg);
        }

        using Child poller = Child.Start(start, log);
        var warm = Stopwatch.StartNew();
        WaitUntil(() => poller.Output.Contains("rounds=1 ", StringComparison.Ordinal) || poller.Output.Contains("rounds=2 ", StringComparison.Ordinal),
            readyTimeout, poller, "its first round");
        Thread.Sleep(Math.Max(1000, intervalMs));
        double warmup = warm.Elapsed.TotalSeconds;
        (ProcSample before, ProcSample after, TimeSpan window) = Window(poller.Pid, seconds);
        poller.ThrowIfExited();
        Match devices = Regex.Match(poller.Output, @"devices=(\d+)");
        return new TargetRun(before, after, window, warmup, 0, devices.Success ? long.Parse(devices.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0,
            "one socket per device");
    }

    private static (ProcSample Before, ProcSample After, TimeSpan Window) Window(int pid, int seconds)
    {
        ProcSample before = ProcStats.Sample(pid);
        Thread.Sleep(TimeSpan.FromSeconds(seconds));
        ProcSample after = ProcStats.Sample(pid);
        return (before, after, Stopwatch.GetElapsedTime(before.WallTicks, after.WallTicks));
    }

    private static void WaitUntil(Func<bool> ready, int timeoutSeconds, Child child, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!ready())
        {
            child.ThrowIfExited();
            if (clock.Elapsed > TimeSpan.FromSeconds(timeoutSeconds))
            {
                throw new TimeoutException($"no {what} within {timeoutSeconds} s (log: {child.LogPath})");
            }

            Thread.Sleep(100);
        }
    }

    private static string RepoRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "TunTelemetry.sln")))
            {
                return dir.FullName;
            }
        }

        return Directory.GetCurrentDirectory();
    }

    [GeneratedRegex(@"device=""tb[0-9]+""")]
    private static partial Regex DeviceLabel();

    /// <summary>A child process whose output goes to a log file; killed on dispose.</summary>
    private sealed class Child : IDisposable
    {
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, bool> Running = new();

        private readonly Process _process;
        private readonly StreamWriter _log;
        private readonly System.Text.StringBuilder _output = new();

        private Child(Process process, string logPath)
        {
            _process = process;
            LogPath = logPath;
            _log = new StreamWriter(logPath) { AutoFlush = true };
        }

        public string LogPath { get; }

        public int Pid => _process.Id;

        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        public static Child Start(ProcessStartInfo start, string logPath)
        {
            start.UseShellExecute = false;
            start.RedirectStandardOutput = true;
            start.RedirectStandardError = true;
            var process = new Process { StartInfo = start };
            var child = new Child(process, logPath);
            process.OutputDataReceived += (_, e) => child.Append(e.Data);
            process.ErrorDataReceived += (_, e) => child.Append(e.Data);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            Running[process.Id] = true;
            return child;
        }

        /// <summary>SIGKILLs every child still running: from a signal handler, so plain kill(2), nothing else.</summary>
        public static void KillAll()
        {
            foreach (int pid in Running.Keys)
            {
                _ = Native.Kill(pid, 9);
            }
        }

        public void ThrowIfExited()
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{_process.StartInfo.FileName} exited with code {_process.ExitCode} (log: {LogPath})");
            }
        }

        public void Dispose()
        {
            Running.TryRemove(_process.Id, out _);
            try
            {
                if (!_process.HasExited)
                {
                    _process.Kill(entireProcessTree: true);
                    _process.WaitForExit(10_000);
                }
            }
            catch (InvalidOperationException)
            {
                // never started or already reaped
            }

            lock (_output)
            {
                _log.Dispose();
            }
        }

        private void Append(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_output)
            {
                if (_output.Length < 1_000_000)
                {
                    _output.AppendLine(line);
                }

                try
                {
                    _log.WriteLine(line);
                }
                catch (ObjectDisposedException)
                {
                    // output after dispose
                }
            }
        }
    }
}
