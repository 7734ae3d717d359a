using TunTelemetry.Agent.Telemetry;
using Xunit;

namespace TunTelemetry.Tests.Agent;

/// <summary>The OpenTelemetry SDK's 10-second check for OTEL_DIAGNOSTICS.json is found where the agent stops it.</summary>
public sealed class SdkDiagnosticsFilePollTests
{
    [Fact]
    public void The_SDKs_file_poll_is_found_and_stopped_and_stopping_it_again_is_harmless()
    {
        // False here means an SDK upgrade moved its internals: the agent then runs with the SDK's 10 s timer again
        // (docs/performance-log.md "Idle cost, 2026-12-08"), and SdkDiagnosticsFilePoll needs the new names.
        Assert.True(SdkDiagnosticsFilePoll.Stop());
        Assert.True(SdkDiagnosticsFilePoll.Stop());
    }
}
