using System.Diagnostics.Metrics;
using Akka.Actor;
using Akka.TestKit;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using TunTelemetry.Devices;
using TunTelemetry.Discovery;
using TunTelemetry.Hosting;
using TunTelemetry.Metrics;
using TunTelemetry.Supervision;

namespace TunTelemetry.Testing;

/// <summary>
/// Runs per-device actors as the agent does, in a TestKit's virtual time: the real <see cref="DeviceSupervisorActor"/>
/// (start per device, backoff restarts, stop when the device goes) and the real <see cref="MetricsAggregatorActor"/>
/// feeding the OpenTelemetry SDK, whose exports are read back through an in-memory exporter. The kernel is a
/// <see cref="FakeKernel"/>: the built-in poller reads it, and devices come and go when the spec says so.
/// </summary>
/// <remarks>
/// The TestKit must run on <see cref="VirtualTime.Config"/>. Nothing moves until the spec calls <see cref="Advance"/>;
/// read exports with <see cref="Export"/>, or wait for one with <see cref="AwaitExport"/> (actors answer on their
/// own dispatchers, so a spec waits for the event it needs rather than for a fixed time). After a device is added, wait
/// for its first export before advancing; after a failure, <see cref="AwaitRestartScheduled"/>.
/// </remarks>
public sealed class PerDeviceActorHarness : IDisposable
{
    private readonly TestKitBase _kit;
    private readonly Meter _meter;
    private readonly MeterProvider _provider;
    private readonly List<Metric> _exported = [];
    private readonly Dictionary<ulong, TunDevice[]> _namespaceDevices = [];

    /// <param name="kit">The spec's TestKit, on <see cref="VirtualTime.Config"/>.</param>
    /// <param name="configure">Adds the per-device actors under test (<see cref="TunTelemetryBuilder.AddPerDeviceActor"/>).</param>
    /// <param name="options">Defaults to <see cref="TunTelemetryOptions.Default"/> without the link-state actor.</param>
    public PerDeviceActorHarness(TestKitBase kit, Action<TunTelemetryBuilder> configure, TunTelemetryOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(kit);
        ArgumentNullException.ThrowIfNull(configure);
        _kit = kit;
        Options = options ?? TunTelemetryOptions.Default with { LinkStateMetrics = false };
        var builder = new TunTelemetryBuilder(Options).UseLinkStatsReader(Kernel.Open).WithoutKernelDiscovery();
        configure(builder);

        // A meter of its own per harness: the SDK merges same-named meters of one process into one stream.
        _meter = new Meter($"{TunDeviceMetrics.MeterName}.Testing.{Guid.NewGuid():N}");
        Metrics = new TunDeviceMetrics(_meter, Options.DetailedMetrics, Options.MaxDevices, builder.Instruments);
        _provider = Sdk.CreateMeterProviderBuilder().AddMeter(_meter.Name).AddInMemoryExporter(_exported).Build();
        Aggregator = kit.Sys.ActorOf(MetricsAggregatorActor.Props(Metrics, Options.RetainDeleted));
        Supervisor = kit.Sys.ActorOf(DeviceSupervisorActor.Props(Options, Aggregator, builder.Registrations()));
    }

    /// <summary>The kernel the built-in poller reads: set counters, remove devices, inject faults.</summary>
    internal FakeKernel Kernel { get; } = new();

    public TunTelemetryOptions Options { get; }

    public IActorRef Supervisor { get; }

    public IActorRef Aggregator { get; }

    internal TunDeviceMetrics Metrics { get; }

    private TestScheduler Scheduler => (TestScheduler)_kit.Sys.Scheduler;

    /// <summary>The device appears: the supervisor starts its poller and every registered per-device actor.</summary>
    public void AddDevice(TunDevice device, ulong txDropped = 0)
    {
        Kernel.Set(device.IfIndex, txDropped);
        Supervisor.Tell(new DeviceAppeared(device));
    }

    /// <summary>
    /// The device is deleted: reads of it fail and the supervisor stops its actors. Returns once the aggregator has
    /// retired it, so its grace period (<c>metrics.retain-deleted</c>) runs from the current virtual time.
    /// </summary>
    public void RemoveDevice(TunDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        Kernel.Remove(device.IfIndex);
        Supervisor.Tell(new DeviceGone(device));
        _kit.AwaitCondition(() => !Metrics.IsLive(device.Name), null, $"{device.Name} retired by the aggregator");
        Aggregator.Ask<DeviceReadings>(GetDeviceReadings.Instance, TimeSpan.FromSeconds(30)).Wait(); // its handler has finished
    }

    /// <summary>
    /// Lists the devices of another network namespace as its discovery does with <c>--all-namespaces</c> (the whole
    /// list each time): the supervisor starts every per-device actor (the poller, reading the harness's kernel, and the
    /// registered ones) for devices new to the list, each carrying <paramref name="ns"/> as
    /// <see cref="TunDevice.Namespace"/>, and stops them for devices no longer in it (all, for an empty list). Returns, with
    /// the devices as the actors see them, once the aggregator has retired those no longer listed, so their grace period
    /// (<c>metrics.retain-deleted</c>) runs from the current virtual time.
    /// </summary>
    public IReadOnlyList<TunDevice> ListNamespaceDevices(DeviceNamespace ns, params TunDevice[] devices)
    {
        ArgumentNullException.ThrowIfNull(ns);
        ArgumentNullException.ThrowIfNull(devices);
        TunDevice[] inNamespace = devices.Select(d => d with { Namespace = ns }).ToArray();
        TunDevice[] left = _namespaceDevices.GetValueOrDefault(ns.Inode, []).Except(inNamespace).ToArray();
        _namespaceDevices[ns.Inode] = inNamespace;
        foreach (TunDevice device in inNamespace)
        {
            Kernel.Ensure(device.IfIndex); // its poller reads the harness's kernel, by ifindex alone
        }

        Supervisor.Tell(new DevicesListed(ns, inNamespace));
        if (left.Length > 0)
        {
            _kit.AwaitCondition(() => left.All(d => !Metrics.IsLive(d)), null, $"{string.Join(", ", left.Select(d => d.ToString()))} retired by the aggregator");
            Aggregator.Ask<DeviceReadings>(GetDeviceReadings.Instance, TimeSpan.FromSeconds(30)).Wait(); // its handler has finished
        }

        return inNamespace;
    }

    /// <summary>
    /// Waits until the supervisor has scheduled <paramref name="expected"/> restarts of the actor kind: move virtual
    /// time only after that, or the backoff delay starts later than the spec thinks.
    /// </summary>
    public void AwaitRestartScheduled(string kind, int expected) => _kit.AwaitRestartCount(Supervisor, expected, kind);

    /// <summary>
    /// How many times the supervisor has restarted the <paramref name="kind"/> actor of <paramref name="device"/> (as
    /// <see cref="ListNamespaceDevices"/> returned it, for a device of another namespace); null when it runs no such actor
    /// for that device.
    /// </summary>
    public int? Restarts(TunDevice device, string kind)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(kind);
        RestartCounts counts = Supervisor.Ask<RestartCounts>(GetRestartCounts.Instance, TimeSpan.FromSeconds(30)).Result;
        return counts.Restarts.Where(r => r.Device == device && r.Kind == kind).Select(r => (int?)r.Restarts).FirstOrDefault();
    }

    /// <summary>Moves virtual time on: every tick and backoff due within <paramref name="by"/> fires.</summary>
    public void Advance(TimeSpan by) => Scheduler.Advance(by);

    /// <summary>Makes one export now and returns what it carried.</summary>
    public ExportedMetrics Export()
    {
        lock (_exported)
        {
            _exported.Clear();
            _provider.ForceFlush();
            return new ExportedMetrics(_exported);
        }
    }

    /// <summary>
    /// Exports until one satisfies <paramref name="condition"/>, within the TestKit's default wait (30 s on
    /// <see cref="VirtualTime.Config"/>); on timeout the exception shows what the last export held.
    /// </summary>
    public ExportedMetrics AwaitExport(Func<ExportedMetrics, bool> condition, string? what = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        TimeSpan max = _kit.RemainingOrDefault;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            ExportedMetrics export = Export();
            if (condition(export))
            {
                return export;
            }

            if (clock.Elapsed > max)
            {
                throw new TimeoutException($"{what ?? "an export satisfying the condition"}: not seen within {max}; the last export held:\n{export}");
            }

            Thread.Sleep(20); // real time: the actors answer on their own threads; virtual time stays where the spec left it
        }
    }

    public void Dispose()
    {
        _provider.Dispose();
        _meter.Dispose();
    }
}
