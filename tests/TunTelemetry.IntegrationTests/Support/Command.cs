using System.Diagnostics;

namespace TunTelemetry.IntegrationTests.Support;

/// <summary>Runs a program to the end (30 s at most) and returns its output; a failure throws with its stderr.</summary>
public static class Command
{
    public static string Run(string program, params string[] arguments)
    {
        (int exitCode, string output, string error) = Execute(program, arguments);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited with {exitCode}: {error.Trim()}");
        }

        return output;
    }

    public static bool TryRun(string program, params string[] arguments) => Execute(program, arguments).ExitCode == 0;

    public static (int ExitCode, string Output, string Error) Execute(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(30_000))
        {
            process.Kill();
            throw new TimeoutException($"{program} {string.Join(' ', arguments)} did not finish within 30 s");
        }

        return (process.ExitCode, output.Result, error.Result);
    }
}
