using System.Diagnostics;

namespace TunTelemetry.IntegrationTests.Support;

/// <summary>Programs from Debian packages that tests run for real (prometheus, promtool, docker-compose, strace).</summary>
public static class DebianProgram
{
    /// <summary>The program's path on PATH; null when it is not installed.</summary>
    public static string? Find(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':')
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(File.Exists);

    /// <summary>
    /// Runs <paramref name="program"/> to its end in <paramref name="workingDirectory"/>: its exit code and its
    /// output (stdout, then stderr).
    /// </summary>
    public static (int ExitCode, string Output) Run(string program, string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', arguments)} did not end within 120 s");
        }

        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
