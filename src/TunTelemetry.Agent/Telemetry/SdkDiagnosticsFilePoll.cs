using System.Reflection;

namespace TunTelemetry.Agent.Telemetry;

/// <summary>
/// Stops the OpenTelemetry SDK from looking for its legacy self-diagnostics file (<c>OTEL_DIAGNOSTICS.json</c>) every
/// 10 seconds; the SDK still reads it once, when it starts.
/// </summary>
/// <remarks>
/// The SDK (1.21) checks the working and base directories for the file on a <see cref="Timer"/> every 10 s, for the
/// whole life of the process, and has no setting to turn that off. Each check is two <c>stat</c> calls, but on an idle
/// node it wakes the .NET timer thread, a thread-pool worker and the pool's gate thread (two or three times more
/// over the next second): about a fifth of the wake-ups of an agent watching 3 devices (docs/performance-log.md
/// "Idle cost, 2026-12-08"). A file dropped in while the agent runs is then seen at its next start, as a change to
/// its configuration is; the SDK's own <c>OTEL_DOTNET_SELF_DIAGNOSTICS_*</c> variables are not affected.
/// The SDK's internals are reached by name: when a version moves them, nothing is stopped and the agent runs as
/// before (a unit test says so at the upgrade).
/// </remarks>
internal static class SdkDiagnosticsFilePoll
{
    /// <summary>Stops the polling; false when the SDK's internals were not where this looks.</summary>
    internal static bool Stop()
    {
        try
        {
            Type? diagnostics = typeof(OpenTelemetry.Sdk).Assembly.GetType("OpenTelemetry.Internal.SelfDiagnostics");
            object? instance = diagnostics?.GetField("Instance", BindingFlags.NonPublic | BindingFlags.Static)?.GetValue(null);
            object? legacySource = instance?.GetType().GetField("legacySource", BindingFlags.NonPublic | BindingFlags.Instance)?.GetValue(instance);
            if (legacySource is not IDisposable source)
            {
                return false;
            }

            // Disposing stops its timer and keeps what the start-up read applied; the SDK's own disposal at exit
            // finds it disposed and does nothing more.
            source.Dispose();
            return true;
        }
        catch (Exception e) when (e is TargetInvocationException or TypeInitializationException or FieldAccessException or MemberAccessException)
        {
            return false;
        }
    }
}
