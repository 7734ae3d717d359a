using TunTelemetry.Actors;
using TunTelemetry.Devices;
using TunTelemetry.Discovery;

namespace TunTelemetry.Supervision;

/// <summary>Asks the supervisor which devices it watches; answered with <see cref="WatchedDevices"/>.</summary>
internal sealed class GetWatchedDevices
{
    public static readonly GetWatchedDevices Instance = new();

    private GetWatchedDevices()
    {
    }
}

/// <summary>The watched devices of every namespace: the agent's own first, then each other's by namespace and ifindex.</summary>
/// <param name="Devices">Devices whose actors all run (none given up).</param>
internal sealed record WatchedDevices(IReadOnlyList<TunDevice> Devices, IReadOnlyList<TunDevice> GivenUp);

/// <summary>Asks the supervisor how often each per-device actor has been restarted; answered with <see cref="RestartCounts"/>.</summary>
internal sealed class GetRestartCounts
{
    public static readonly GetRestartCounts Instance = new();

    private GetRestartCounts()
    {
    }
}

/// <param name="Restarts">
/// Per device and actor kind, the failures in a row: restarts since the actor last said it succeeded
/// (<see cref="PerDeviceActorSucceeded"/>); a count goes up when the restart is scheduled, before its delay.
/// </param>
internal sealed record RestartCounts(IReadOnlyList<(TunDevice Device, string Kind, int Restarts)> Restarts);
