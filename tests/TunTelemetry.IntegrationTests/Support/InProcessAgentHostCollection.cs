using Xunit;

namespace TunTelemetry.IntegrationTests.Support;

/// <summary>
/// Tests that run the agent host in this process take turns. Every host creates a meter named "TunTelemetry", and the
/// OpenTelemetry SDK merges same-named instruments of all meters in a process into one stream per provider; when one
/// host stops and disposes its meter, the SDK drops those shared streams, so a host still running exports nothing more
/// (open-telemetry/opentelemetry-dotnet#6412). Production runs one host per process and never meets this.
/// </summary>
[CollectionDefinition(Name)]
public sealed class InProcessAgentHostCollection
{
    public const string Name = "in-process agent host";
}
