using System.CommandLine;
using TunTelemetry.Agent.Snapshot;

namespace TunTelemetry.Agent.Cli;

/// <summary>The command line: <c>run</c> (default), <c>snapshot</c>, <c>demo</c>.</summary>
internal static class AgentCommandLine
{
    internal static int Invoke(string[] args)
    {
        RootCommand root = Build();
        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            Console.Error.WriteLine($"tuntelemetry: {parsed.Errors[0].Message} (see --help)");
            return ExitCodes.BadUsage;
        }

        return parsed.Invoke();
    }

    internal static RootCommand Build()
    {
        var root = new RootCommand("TunTelemetry: exports Linux TUN/TAP device statistics to an OpenTelemetry collector.");
        root.Subcommands.Add(BuildSnapshot());
        return root;
    }

    private static Command BuildSnapshot()
    {
        var json = new Option<bool>("--json") { Description = "Print a JSON array instead of a table." };
        var allLinks = new Option<bool>("--all-links") { Description = "Show every link, not only TUN/TAP devices." };
        var devices = new Argument<string[]>("DEVICE")
        {
            Description = "Devices to show (any link kind). A name that does not exist is an error.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var command = new Command("snapshot", "Print every TUN/TAP device's 25 kernel counters once, then exit.")
        {
            json, allLinks, devices,
        };
        command.SetAction(parse => SnapshotCommand.Run(
            parse.GetValue(json), parse.GetValue(allLinks), parse.GetValue(devices) ?? [], Console.Out, Console.Error));
        return command;
    }
}
