using TunTelemetry.Perf;

return args.FirstOrDefault() switch
{
    "poll" when args.Length == 3 => PollBenchmark.Run(int.Parse(args[1]), int.Parse(args[2])),
    "poll-devices" when args.Length == 3 => PollDevicesBenchmark.Run(args[1], int.Parse(args[2])),
    "poll-devices" when args.Length == 4 => PollDevicesBenchmark.Run(args[1], int.Parse(args[2]), int.Parse(args[3])),
    "pipeline" when args.Length == 5 => PipelineBenchmark.Run(args[1], int.Parse(args[2]), int.Parse(args[3]), args[4] == "busy"),
    "pipeline" when args.Length == 6 => PipelineBenchmark.Run(args[1], int.Parse(args[2]), int.Parse(args[3]), args[4] == "busy", int.Parse(args[5])),
    "reader-scan" when args.Length == 2 => ReaderScanBenchmark.Run(int.Parse(args[1])),
    "reader-scan" when args.Length == 3 => ReaderScanBenchmark.Run(int.Parse(args[1]), int.Parse(args[2])),
    "reader-hour" when args.Length == 1 => ReaderScanBenchmark.RunHour(60, 900),
    "reader-hour" when args.Length == 3 => ReaderScanBenchmark.RunHour(int.Parse(args[1]), int.Parse(args[2])),
    "reader-cpu" when args.Length == 3 => ReaderCpuBenchmark.Run(int.Parse(args[1]), int.Parse(args[2])),
    "actor-footprint" when args.Length == 2 => ActorFootprintBenchmark.Run(int.Parse(args[1])),
    "netns-scan" when args.Length == 2 => NamespaceScanBenchmark.Run(int.Parse(args[1])),
    "sink" when args.Length == 3 => await OtlpSink.RunAsync(int.Parse(args[1]), args[2]),
    "sink" when args.Length == 4 => await OtlpSink.RunAsync(int.Parse(args[1]), args[2], int.Parse(args[3])),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("""
        usage: TunTelemetry.Perf poll IFINDEX N                  RTM_GETSTATS round trip + decode through the library
               TunTelemetry.Perf poll-devices PREFIX ROUNDS [MS] the same, round robin over devices PREFIX*, a socket each
                                                                 (with MS: sleeping MS milliseconds after each round)
               TunTelemetry.Perf pipeline PREFIX SECONDS MS busy|idle [TICK_MS]
                                                                 poller -> aggregator -> instruments over devices PREFIX*,
                                                                 polled every MS (with TICK_MS: that scheduler tick)
               TunTelemetry.Perf actor-footprint N               live heap per actor, N actors of each per-device shape
               TunTelemetry.Perf reader-scan N [SOCKETS]         N /proc reader scans: wall, CPU, bytes per scan (with
                                                                 SOCKETS: while this process holds that many sockets)
               TunTelemetry.Perf reader-hour [INTERVAL_S FULL_S] a steady hour of reader discovery (scans every INTERVAL_S,
                                                                 60 by default, full every FULL_S, 900): CPU, light and full
               TunTelemetry.Perf reader-cpu PID N                 N samples of a reader's CPU (stat, schedstat, cgroup quota):
                                                                 wall, CPU, bytes per sample
               TunTelemetry.Perf netns-scan SCANS                 CPU per network namespace discovery scan (/proc and netns dirs)
               TunTelemetry.Perf sink PORT STATUSFILE [GRPCPORT]  OTLP/HTTP sink (and OTLP/gRPC on GRPCPORT); writes what
                                                                 it received to STATUSFILE
        """);
    return 2;
}
