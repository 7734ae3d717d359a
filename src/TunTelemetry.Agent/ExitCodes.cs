namespace TunTelemetry.Agent;

/// <summary>Process exit codes; scripts and systemd rely on them.</summary>
internal static class ExitCodes
{
    internal const int Success = 0;

    /// <summary>A runtime failure, or a device named on the command line that does not exist.</summary>
    internal const int NotFound = 1;

    internal const int Failure = 1;

    /// <summary>A bad option or configuration value (the convention of command-line tools).</summary>
    internal const int BadUsage = 2;
}
