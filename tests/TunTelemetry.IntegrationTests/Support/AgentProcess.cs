using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace TunTelemetry.IntegrationTests.Support;

/// <summary>
/// The real agent as a child process (its build output, or a published copy of it elsewhere), with its output kept.
/// </summary>
public sealed partial class AgentProcess : IDisposable
{
    private const int SIGINT = 2;
    private const int SIGTERM = 15;
    private const int SIGCONT = 18; // x86_64 and arm64 alike
    private const int SIGSTOP = 19;
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private AgentProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>The checkout the tests were built from: the directory holding TunTelemetry.sln.</summary>
    /// <remarks>Declared before <see cref="AgentDirectory"/>, which is computed from it.</remarks>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>
    /// The agent's own build output (built through the project reference): run from there, its deps.json and
    /// package assemblies are its own, not the test host's ASP.NET Core framework versions.
    /// </summary>
    public static string AgentDirectory { get; } = FindAgentDirectory();

    public string Output
    {
        get { lock (_output) { return _output.ToString(); } }
    }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public static AgentProcess Start(IReadOnlyDictionary<string, string> environment, params string[] arguments) =>
        Start(environment, asNobody: false, arguments);

    /// <param name="asNobody">
    /// Run as uid/gid 65534 with no capabilities at all (setpriv), as the systemd unit's dynamic user would.
    /// </param>
    public static AgentProcess Start(IReadOnlyDictionary<string, string> environment, bool asNobody, params string[] arguments) =>
        Start(AgentDirectory, environment, asNobody, under: [], arguments);

    /// <summary>The agent run by another program (<paramref name="under"/>: its command line, ending before <c>dotnet</c>).</summary>
    public static AgentProcess StartUnder(string[] under, IReadOnlyDictionary<string, string> environment, params string[] arguments) =>
        Start(AgentDirectory, environment, asNobody: false, under, arguments);

    /// <summary>
    /// The agent from <paramref name="directory"/> (a <c>dotnet publish</c> output), which is also its working
    /// directory, so nothing of the build output next to the tests can stand in for a file the publish left out.
    /// </summary>
    public static AgentProcess StartFrom(string directory, IReadOnlyDictionary<string, string> environment, params string[] arguments) =>
        Start(directory, environment, asNobody: false, under: [], arguments);

    private static AgentProcess Start(
        string agentDirectory, IReadOnlyDictionary<string, string> environment, bool asNobody, string[] under, string[] arguments)
    {
        var start = new ProcessStartInfo(under.Length > 0 ? under[0] : asNobody ? "setpriv" : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = agentDirectory,
        };
        if (under.Length > 0)
        {
            foreach (string word in under[1..])
            {
                start.ArgumentList.Add(word);
            }

            start.ArgumentList.Add("dotnet");
        }

        if (asNobody)
        {
            foreach (string option in (string[])["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--", "dotnet"])
            {
                start.ArgumentList.Add(option);
            }

            start.Environment["HOME"] = "/tmp";
            start.Environment["DOTNET_CLI_HOME"] = "/tmp";
        }

        start.ArgumentList.Add(Path.Combine(agentDirectory, "TunTelemetry.Agent.dll"));
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach ((string key, string value) in environment)
        {
            start.Environment[key] = value;
        }

        return new AgentProcess(Process.Start(start) ?? throw new InvalidOperationException("could not start the agent"));
    }

    /// <summary>
    /// Waits until the agent has printed <paramref name="text"/>: a fixed delay is too short on a loaded machine, where
    /// start-up (JIT with tiering off) alone can take seconds.
    /// </summary>
    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var waited = Stopwatch.StartNew();
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (waited.Elapsed > timeout || _process.HasExited)
            {
                throw new TimeoutException($"the agent did not print \"{text}\" within {timeout}; output:\n{Output}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds for the agent's output, or fails with the output.</summary>
    public async Task WaitForAsync(Func<AgentProcess, bool> condition, TimeSpan timeout, string what)
    {
        var waited = Stopwatch.StartNew();
        while (!condition(this))
        {
            if (waited.Elapsed > timeout || _process.HasExited)
            {
                throw new TimeoutException($"the agent did not show {what} within {timeout}; output:\n{Output}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>
    /// A device's tx_dropped in the newest block of the console view (<c>run --console</c>), which shows the
    /// aggregator's last reading: seeing a value there proves that a poll which read it has been counted, so a test
    /// waits for that instead of sleeping for a few poll intervals. Null before the device's first block.
    /// </summary>
    public ulong? ConsoleTxDropped(string device)
    {
        // "  NAME  rx_packets  tx_packets  tx_dropped  ...", each cell "N" or "N (+GROWTH)".
        Match? last = null;
        foreach (Match row in Regex.Matches(Output, $@"^  {Regex.Escape(device)} +(\d+)(?: \(\+\d+\))? +(\d+)(?: \(\+\d+\))? +(\d+)", RegexOptions.Multiline))
        {
            last = row;
        }

        return last is null ? null : ulong.Parse(last.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Failed OTLP exports so far, as the newest console view block counts them (0 before any failure).</summary>
    public long ConsoleExportFailures()
    {
        Match? last = null;
        foreach (Match failures in Regex.Matches(Output, @"\[OTLP export failed (\d+)x"))
        {
            last = failures;
        }

        return last is null ? 0 : long.Parse(last.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Sends SIGTERM (as systemd and docker do) and waits for the exit code.</summary>
    public int Terminate(TimeSpan timeout) => Signal(SIGTERM, timeout);

    /// <summary>Sends SIGINT (Ctrl-C in a terminal) and waits for the exit code.</summary>
    public int Interrupt(TimeSpan timeout) => Signal(SIGINT, timeout);

    /// <summary>
    /// Stops the agent (SIGSTOP) until <see cref="Resume"/>: none of its threads runs, so whatever happens on the host
    /// meanwhile reaches it at once afterwards, as to an agent whose threads did not get a turn on a loaded machine.
    /// </summary>
    public void Pause() => Send(SIGSTOP);

    /// <summary>Lets a paused agent run again (SIGCONT).</summary>
    public void Resume() => Send(SIGCONT);

    private int Signal(int signal, TimeSpan timeout)
    {
        Send(signal);
        return WaitForExit(timeout);
    }

    private void Send(int signal)
    {
        if (Kill(_process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    public int WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the agent did not exit within {timeout}; output:\n{Output}");
        }

        _process.WaitForExit(); // drains the output handlers
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    private static string FindAgentDirectory()
    {
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory);
        string framework = testOutput.Name;             // net10.0
        string configuration = testOutput.Parent!.Name; // Debug or Release
        return Path.Combine(RepositoryRoot, "src", "TunTelemetry.Agent", "bin", configuration, framework);
    }

    private static string FindRepositoryRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "TunTelemetry.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no TunTelemetry.sln above {AppContext.BaseDirectory}");
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
