using Akka.Actor;
using TunTelemetry.Actors;
using TunTelemetry.Devices;

namespace TunTelemetry.Supervision;

/// <summary>One watched device and its per-device actors, from its start to the end of its retirement.</summary>
internal sealed class WatchedDevice(TunDevice device)
{
    public TunDevice Device { get; } = device;

    public List<PerDeviceChild> Children { get; } = [];

    /// <summary>No longer watched: its actors are stopping, and the aggregator forgets it once they all have.</summary>
    public bool Retiring { get; set; }

    /// <summary>One of its actors failed <c>backoff.max-retries</c> times in a row and was not started again.</summary>
    public bool GivenUp { get; set; }

    /// <summary>One child per registration, in their order (the poller first), each with its props for this device.</summary>
    public IReadOnlyList<PerDeviceChild> AddChildren(IEnumerable<PerDeviceActorRegistration> registrations, PerDeviceActorContext context)
    {
        Children.AddRange(registrations.Select(r => new PerDeviceChild(this, r.Name, r.CreateProps(context))));
        return Children;
    }

    /// <summary>None of its actors runs or waits to be started again.</summary>
    public bool AllStopped => !Children.Any(c => c.Actor is not null || c.RestartPending);
}

/// <summary>One registered actor of one device, across its restarts.</summary>
internal sealed class PerDeviceChild(WatchedDevice entry, string kind, Props props)
{
    public WatchedDevice Entry { get; } = entry;

    public string Kind { get; } = kind;

    public Props Props { get; } = props;

    /// <summary>The running incarnation; null while it waits for a restart, has given up or has stopped.</summary>
    public IActorRef? Actor { get; set; }

    public DateTimeOffset StartedAt { get; set; }

    /// <summary>Set by the supervisor strategy when the running incarnation threw; read when it has terminated.</summary>
    public Exception? Failure { get; set; }

    public bool RestartPending { get; set; }

    /// <summary>Its running incarnation threw <paramref name="cause"/>; true when it counts as a restart (its device is not retiring).</summary>
    public bool FailedWith(Exception cause)
    {
        Failure = cause;
        return !Entry.Retiring;
    }

    /// <summary>Its last failure was a lack of descriptors, and it has not succeeded since.</summary>
    public bool WaitsForDescriptors { get; set; }

    /// <summary>In the queue of actors to start when a descriptor frees up.</summary>
    public bool QueuedForDescriptors { get; set; }

    public FailureStreak Failures { get; } = new();

    /// <summary>
    /// The name of its incarnation number <paramref name="generation"/> (a counter: a device can come back while its
    /// old actors are still stopping), with the namespace inode for a device of another namespace.
    /// </summary>
    public string ActorName(long generation) => Entry.Device.Home.IsAgents
        ? $"{Kind}-{Entry.Device.IfIndex}-{generation}"
        : $"{Kind}-netns{Entry.Device.Home.Inode}-{Entry.Device.IfIndex}-{generation}";
}
