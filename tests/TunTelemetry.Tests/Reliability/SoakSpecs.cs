using System.Diagnostics.Metrics;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using TunTelemetry.Devices;
using TunTelemetry.Discovery;
using TunTelemetry.Hosting;
using TunTelemetry.Metrics;
using TunTelemetry.Supervision;
using TunTelemetry.Testing;
using TunTelemetry.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace TunTelemetry.Tests.Reliability;

/// <summary>Measures the whole process's managed memory, so it runs with no other test beside it.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AloneCollection
{
    public const string Name = "alone";
}

/// <summary>
/// Long runs in virtual time: every device polled every 15 s with growing counters and occasional failures. Totals
/// must be exact, and managed memory and actor count flat. CI runs 100 devices for 1 hour of virtual time;
/// <c>TUNTELEMETRY_SOAK=long</c> runs 1,000 devices for 24 hours (5,760 ticks each).
/// </summary>
[Collection(AloneCollection.Name)]
public sealed class SoakSpecs : TestKit
{
    private readonly ITestOutputHelper _output;

    public SoakSpecs(ITestOutputHelper output)
        : base(VirtualTime.Config, output: output)
    {
        _output = output;
    }

    private static readonly bool Long = Environment.GetEnvironmentVariable("TUNTELEMETRY_SOAK") == "long";

    [Fact]
    public void Totals_stay_exact_and_memory_and_actors_stay_flat()
    {
        int devices = Long ? 1000 : 100;
        int ticks = Long ? 5760 : 240;
        var kernel = new FakeKernel();
        using var meter = new Meter($"TunTelemetry.Soak.{Guid.NewGuid():N}");
        using var export = new MeterExport(meter);
        IActorRef aggregator = Sys.ActorOf(MetricsAggregatorActor.Props(new TunDeviceMetrics(meter, detailed: false)));
        TunTelemetryOptions options = TunTelemetryOptions.Default with
        {
            LinkStateMetrics = false,
            PollSpread = false,
            Backoff = new BackoffSettings(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), 0, -1, TimeSpan.FromDays(1)),
        };
        var builder = new TunTelemetryBuilder(options).UseLinkStatsReader(kernel.Open);
        TunDevice[] all = Enumerable.Range(100, devices).Select(i => new TunDevice(i, $"soak{i}", TunDeviceKind.Tun)).ToArray();
        ulong[] counters = new ulong[devices];
        foreach (TunDevice d in all)
        {
            kernel.Set(d.IfIndex, txDropped: 0);
        }

        IActorRef supervisor = Sys.ActorOf(DeviceSupervisorActor.Props(options, aggregator, builder.Registrations()));
        supervisor.Tell(new DevicesListed(DeviceNamespace.Agents, all));
        AwaitAssert(() => Assert.Equal(devices, kernel.Reads), TimeSpan.FromSeconds(30));
        var scheduler = (TestScheduler)Sys.Scheduler;

        void AssertTotals() => AwaitAssert(() =>
        {
            Dictionary<string, long?> drops = export.Export().Of(MetricNames.TxQueueDrops).ToDictionary(p => p.Device!, p => p.Long);
            for (int d = 0; d < devices; d++)
            {
                Assert.Equal((long)counters[d], drops.GetValueOrDefault(all[d].Name));
            }
        }, TimeSpan.FromSeconds(30));

        long memoryAfterWarmUp = 0;
        int expectedReads = devices;
        for (int tick = 1; tick <= ticks; tick++)
        {
            for (int d = 0; d < devices; d++)
            {
                counters[d] += (ulong)((tick + d) % 5);
                kernel.Set(all[d].IfIndex, txDropped: counters[d]);
            }

            scheduler.Advance(TimeSpan.FromSeconds(15));
            expectedReads += devices;
            AwaitAssert(() => Assert.Equal(expectedReads, kernel.Reads), TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(1));
            if (tick == ticks / 10)
            {
                AssertTotals(); // read as at the end, so both measurements hold what reading leaves behind
                memoryAfterWarmUp = ManagedMemory();
            }
        }

        AssertTotals();

        long memoryAtEnd = ManagedMemory();
        supervisor.Tell(GetWatchedDevices.Instance);
        Assert.Equal(devices, ExpectMsg<WatchedDevices>().Devices.Count);
        Assert.Equal(devices, kernel.OpenReaders);
        _output.WriteLine($"{devices} devices x {ticks} ticks ({ticks * 15 / 3600.0:0.#} h virtual): managed memory {memoryAfterWarmUp / 1024} KiB after warm-up, {memoryAtEnd / 1024} KiB at the end");
        // Flat: what remains after a full GC may not grow with the number of ticks (1 KiB per device is a generous bound).
        Assert.True(memoryAtEnd - memoryAfterWarmUp < devices * 1024L, $"managed memory grew from {memoryAfterWarmUp} to {memoryAtEnd} bytes");
    }

    private static long ManagedMemory()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
