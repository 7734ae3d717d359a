using System.Diagnostics;
using System.Xml.Linq;
using Xunit;

namespace TunTelemetry.IntegrationTests.Support;

/// <summary>
/// The agent as a user installs it: <c>dotnet publish src/TunTelemetry.Agent -c Release</c> into a temporary
/// directory, made once per test class (a Release build takes from seconds to minutes) and deleted afterwards.
/// </summary>
public sealed class PublishedAgent : IAsyncLifetime
{
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromMinutes(10);

    public string Directory { get; } = Path.Combine(Path.GetTempPath(), $"tuntelemetry-publish-{Guid.NewGuid():n}");

    /// <summary>The release number every project takes from Directory.Build.props, e.g. <c>1.0.0</c>.</summary>
    public static string ProjectVersion { get; } =
        XDocument.Load(Path.Combine(AgentProcess.RepositoryRoot, "Directory.Build.props")).Descendants("Version").Single().Value;

    public async Task InitializeAsync()
    {
        string project = Path.Combine(AgentProcess.RepositoryRoot, "src", "TunTelemetry.Agent", "TunTelemetry.Agent.csproj");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AgentProcess.RepositoryRoot,
        };
        // --no-restore: the test run restored the solution already, and a second restore would rewrite obj/ files
        // that a concurrent build may be reading. No build server or node reuse: a compiler server or MSBuild node left
        // running would inherit the redirected output and keep it open after publish exits.
        foreach (string argument in (string[])["publish", project, "-c", "Release", "-o", Directory, "--nologo", "--no-restore",
            "-nodeReuse:false", "-p:UseSharedCompilation=false", "-p:TreatWarningsAsErrors=true"])
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using Process publish = Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet publish");
        Task<string> stdout = publish.StandardOutput.ReadToEndAsync();
        Task<string> stderr = publish.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(PublishTimeout);
        try
        {
            await publish.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            publish.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet publish did not finish within {PublishTimeout}");
        }

        if (publish.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet publish failed ({publish.ExitCode}):\n{await stdout}\n{await stderr}");
        }
    }

    public Task DisposeAsync()
    {
        if (System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }

        return Task.CompletedTask;
    }
}
