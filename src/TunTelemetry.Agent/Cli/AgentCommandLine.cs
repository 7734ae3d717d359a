using System.CommandLine;
using System.CommandLine.Parsing;
using Microsoft.Extensions.Logging;
using TunTelemetry.Agent.Configuration;
using TunTelemetry.Agent.Demo;
using TunTelemetry.Agent.Diagnose;
using TunTelemetry.Agent.Snapshot;
using TunTelemetry.Devices;
using TunTelemetry.Hosting;

namespace TunTelemetry.Agent.Cli;

/// <summary>The command line: <c>run</c> (the default), <c>snapshot</c>, <c>diagnose</c>, <c>demo</c>.</summary>
internal static class AgentCommandLine
{
    internal static int Invoke(string[] args)
    {
        RootCommand root = Build();
        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            Console.Error.WriteLine($"tuntelemetry: {HumanText.Escape(parsed.Errors[0].Message)} (see --help)");
            return ExitCodes.BadUsage;
        }

        return parsed.Invoke();
    }

    internal static RootCommand Build()
    {
        var root = new RootCommand(
            "TunTelemetry: exports Linux TUN/TAP device statistics (tx_dropped first) to an OpenTelemetry collector. "
            + "Without a command it runs the agent. The collector is set with OTEL_EXPORTER_OTLP_ENDPOINT.");
        RunOptions run = RunOptions.AddTo(root);
        root.SetAction((parse, cancel) => RunCommand.RunAsync(run.Settings(parse), cancel));

        var runCommand = new Command("run", "Watch TUN/TAP devices and export their counters until stopped (the default).");
        RunOptions explicitRun = RunOptions.AddTo(runCommand);
        runCommand.SetAction((parse, cancel) => RunCommand.RunAsync(explicitRun.Settings(parse), cancel));
        root.Subcommands.Add(runCommand);
        root.Subcommands.Add(BuildSnapshot());
        root.Subcommands.Add(BuildDiagnose());
        root.Subcommands.Add(BuildDemo());
        return root;
    }

    private static Command BuildDiagnose()
    {
        var json = new Option<bool>("--json") { Description = "Print a JSON array, one object per device, instead of lines." };
        var allNamespaces = new Option<bool>("--all-namespaces")
        {
            Description = "Watch the TUN/TAP devices of every network namespace (needs CAP_NET_ADMIN; run it in the host's mount namespace to read cgroups).",
        };
        var window = new Option<TimeSpan>("--for")
        {
            Description = "How long to watch: 10s (default), 500ms, 1m.",
            HelpName = "DURATION",
            DefaultValueFactory = _ => TimeSpan.FromSeconds(10),
            CustomParser = result =>
            {
                string text = result.Tokens[0].Value;
                if (TunTelemetryConfig.TryParseDuration(text, out TimeSpan value) && value > TimeSpan.Zero && value <= TimeSpan.FromHours(1))
                {
                    return value;
                }

                result.AddError($"--for: '{text}' is not a duration from 1ms to 1h (10s, 500ms, 1m)");
                return default;
            },
        };
        var devices = new Argument<string[]>("DEVICE")
        {
            Description = "Devices to watch (default: every TUN/TAP device). A name that does not exist is an error.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var command = new Command("diagnose",
            "Watch TUN/TAP devices for a while and say, for each one that dropped, why and what to change: nobody holds it, its reader is "
            + "stopped, its cgroup's CPU quota throttles it, it uses a whole core, it waits for a CPU, or bursts overflow its queue. "
            + "Exit code 0 when nothing dropped, 3 when a device dropped, 1 on a failure, 2 on bad usage.")
        {
            json, allNamespaces, window, devices,
        };
        command.SetAction((parse, cancel) => DiagnoseCommand.RunAsync(parse.GetValue(devices) ?? [], parse.GetValue(allNamespaces),
            parse.GetValue(window), parse.GetValue(json), Console.Out, Console.Error, cancel));
        return command;
    }

    private static Command BuildSnapshot()
    {
        var json = new Option<bool>("--json") { Description = "Print a JSON array instead of a table." };
        var allLinks = new Option<bool>("--all-links") { Description = "Show every link, not only TUN/TAP devices." };
        var allNamespaces = new Option<bool>("--all-namespaces")
        {
            Description = "Also show the TUN/TAP devices of every other network namespace, each with its namespace (needs CAP_NET_ADMIN).",
        };
        var devices = new Argument<string[]>("DEVICE")
        {
            Description = "Devices to show (any link kind). A name that does not exist is an error.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var command = new Command("snapshot", "Print every TUN/TAP device's 25 kernel counters once, then exit.")
        {
            json, allLinks, allNamespaces, devices,
        };
        command.SetAction(parse => SnapshotCommand.Run(
            parse.GetValue(json), parse.GetValue(allLinks), parse.GetValue(devices) ?? [], Console.Out, Console.Error, parse.GetValue(allNamespaces)));
        return command;
    }

    private static Command BuildDemo()
    {
        var packets = new Option<int>("--packets")
        {
            Description = "Packets to push into the demo device per second (the first 500 fill its TX queue; the rest are dropped).",
            DefaultValueFactory = _ => 1000,
        };
        var seconds = new Option<int>("--seconds")
        {
            Description = "How long the demo runs; 0 until Ctrl-C.",
            DefaultValueFactory = _ => 0,
        };
        var command = new Command("demo", "As root: create a temporary TUN device that drops packets for real and watch tundev.txq.drops grow.")
        {
            packets, seconds,
        };
        command.SetAction((parse, cancel) => DemoCommand.RunAsync(parse.GetValue(packets), parse.GetValue(seconds), cancel));
        return command;
    }

    /// <summary>The options of <c>run</c>, added to both the root command and <c>run</c>.</summary>
    private sealed class RunOptions
    {
        private readonly Option<string?> _config = new("--config") { Description = "hocon.conf to read (default: the one next to the binary)." };
        private readonly Option<string?> _pollInterval = new("--poll-interval") { Description = "How often each device is polled: 15s, 500ms, 1m (overrides tuntelemetry.poll-interval)." };
        private readonly Option<string[]> _include = new("--include") { Description = "Regex over device names to watch; repeatable (overrides devices.include).", AllowMultipleArgumentsPerToken = false };
        private readonly Option<string[]> _exclude = new("--exclude") { Description = "Regex over device names to skip; repeatable (overrides devices.exclude).", AllowMultipleArgumentsPerToken = false };
        private readonly Option<string?> _kind = new("--kind") { Description = "tun, tap or all (overrides devices.kind)." };
        private readonly Option<bool> _allNamespaces = new("--all-namespaces")
        {
            Description = "Watch the TUN/TAP devices of every network namespace, not only the agent's own; needs CAP_NET_ADMIN (sets tuntelemetry.namespaces = all).",
        };
        private readonly Option<string?> _prometheusListen = new("--prometheus-listen")
        {
            Description = "Serve the metrics for Prometheus to scrape at http://HOST:PORT/metrics, beside OTLP unless OTEL_METRICS_EXPORTER says otherwise (overrides prometheus.listen).",
            HelpName = "HOST:PORT",
        };
        private readonly Option<bool> _console = new("--console") { Description = "Print a periodic view of the counters (default when no collector is configured or stdout is a terminal)." };
        private readonly Option<bool> _noConsole = new("--no-console") { Description = "Never print the periodic view (for systemd and containers)." };
        private readonly Option<LogLevel?> _logLevel = new("--log-level")
        {
            Description = "Lowest level logged: Trace, Debug, Information (default), Warning, Error, Critical or None (overrides Logging__LogLevel__Default).",
            HelpName = "level",
            CustomParser = ParseLogLevel,
        };

        internal static RunOptions AddTo(Command command)
        {
            var options = new RunOptions();
            command.Options.Add(options._config);
            command.Options.Add(options._pollInterval);
            command.Options.Add(options._include);
            command.Options.Add(options._exclude);
            command.Options.Add(options._kind);
            command.Options.Add(options._allNamespaces);
            command.Options.Add(options._prometheusListen);
            command.Options.Add(options._console);
            command.Options.Add(options._noConsole);
            command.Options.Add(options._logLevel);
            return options;
        }

        // The level names of Logging__LogLevel__*, in any case; the default enum parser's error spans several lines.
        private static LogLevel? ParseLogLevel(ArgumentResult result)
        {
            string text = result.Tokens[0].Value;
            if (Enum.TryParse(text, ignoreCase: true, out LogLevel level) && Enum.IsDefined(level) && !char.IsAsciiDigit(text[0]))
            {
                return level;
            }

            result.AddError($"--log-level: '{text}' is not Trace, Debug, Information, Warning, Error, Critical or None");
            return null;
        }

        internal AgentSettings Settings(ParseResult parse) => new()
        {
            ConfigPath = parse.GetValue(_config),
            PollInterval = parse.GetValue(_pollInterval),
            Include = parse.GetValue(_include) ?? [],
            Exclude = parse.GetValue(_exclude) ?? [],
            Kind = parse.GetValue(_kind),
            AllNamespaces = parse.GetValue(_allNamespaces),
            PrometheusListen = parse.GetValue(_prometheusListen),
            Console = parse.GetValue(_noConsole) ? false : parse.GetValue(_console) ? true : null,
            LogLevel = parse.GetValue(_logLevel),
        };
    }
}
