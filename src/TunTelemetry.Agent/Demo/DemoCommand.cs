namespace TunTelemetry.Agent.Demo;

/// <summary><c>demo</c>: placeholder until the TUN device helper lands.</summary>
internal static class DemoCommand
{
    internal static Task<int> RunAsync(int packetsPerSecond, int seconds, CancellationToken cancellationToken)
    {
        _ = packetsPerSecond;
        _ = seconds;
        _ = cancellationToken;
        Console.Error.WriteLine("tuntelemetry: demo is not available in this build");
        return Task.FromResult(ExitCodes.Failure);
    }
}
