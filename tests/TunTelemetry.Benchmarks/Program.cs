using System.Globalization;

namespace TunTelemetry.Benchmarks;

/// <summary>
/// Issue 6 benchmarks. Modes:
/// <list type="bullet">
/// <item><c>poll</c>: one RTM_GETSTATS round trip + decode through NetlinkRouteSocket.GetLinkStats, on lo and a TUN device.</item>
/// <item><c>pipeline</c>: the in-process pipeline (supervisor, pollers, aggregator, instruments) over K TUN devices, no export.</item>
/// <item><c>scale</c>: the real agent, node_exporter and the C poller over N TUN devices, CPU/RSS/fds from /proc.</item>
/// </list>
/// </summary>
internal static class Program
{
    private const string Usage = """
        usage: TunTelemetry.Benchmarks poll     [--iterations 200000] [--warmup 20000] [--tun-ifindex N] [--results FILE]
               TunTelemetry.Benchmarks pipeline [--devices 100] [--interval-ms 100] [--seconds 20] [--listener sdk|meterlistener] [--hocon PATH] [--results FILE]
               TunTelemetry.Benchmarks scale    [--devices 100] [--seconds 15] [--interval-ms 1000]
                                                [--targets agent,node-exporter,cpoller] [--agent PATH.dll] [--cpoller PATH]
                                                [--label NAME] [--logs DIR] [--results FILE]
               targets: agent, agent-noexport (export interval 1 h), node-exporter, cpoller
        Needs root (CAP_NET_ADMIN) to create TUN devices; poll on lo alone works without.
        """;

    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            Console.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        Options options;
        try
        {
            options = Options.Parse(args.AsSpan(1));
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }

        if (options.Get("results") is { } results)
        {
            Results.FilePath = results;
        }

        return args[0] switch
        {
            "poll" => PollBenchmark.Run(options),
            "pipeline" => PipelineBenchmark.Run(options),
            "scale" => ScaleBenchmark.Run(options),
            _ => Fail($"unknown mode '{args[0]}'"),
        };
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine(message);
        Console.Error.WriteLine(Usage);
        return 2;
    }
}

/// <summary><c>--name value</c> pairs.</summary>
internal sealed class Options
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public static Options Parse(ReadOnlySpan<string> args)
    {
        var options = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"expected '--name value', got '{args[i]}'");
            }

            options._values[args[i][2..]] = args[++i];
        }

        return options;
    }

    public string? Get(string name) => _values.GetValueOrDefault(name);

    public string Get(string name, string fallback) => _values.GetValueOrDefault(name) ?? fallback;

    public int Int(string name, int fallback) =>
        _values.TryGetValue(name, out string? v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
}
