using System.Diagnostics.Metrics;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TunTelemetry.Devices;
using TunTelemetry.Discovery;
using TunTelemetry.Dispatch;
using TunTelemetry.Hosting;
using TunTelemetry.IntegrationTests.Support;
using TunTelemetry.Metrics;
using TunTelemetry.Netlink;
using TunTelemetry.Polling;
using TunTelemetry.Supervision;
using TunTelemetry.TestSupport;
using Xunit;

namespace TunTelemetry.IntegrationTests.Hosting;

/// <summary>
/// The library inside someone else's Akka.Hosting application: it must leave the host's actor system settings alone,
/// and its own bookkeeping must not wait behind its pollers' blocking netlink calls. Its hosts make a meter named
/// "TunTelemetry" too, so they take turns with the other in-process hosts.
/// </summary>
[Collection(InProcessAgentHostCollection.Name)]
public sealed class EmbeddedLibraryTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static IHost BuildHost(string hostHocon, Action<AkkaConfigurationBuilder> configure)
    {
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddAkka("embedding-host", (akka, _) =>
        {
            akka.AddHocon(hostHocon, HoconAddMode.Prepend);
            configure(akka);
        });
        return builder.Build();
    }

    [Fact]
    public async Task A_host_that_embeds_the_library_keeps_its_own_scheduler_and_default_dispatcher()
    {
        using IHost host = BuildHost("akka.scheduler.tick-duration = 33ms",
            akka => akka.WithTunTelemetry(TunTelemetryOptions.Default, t => t.WithoutKernelDiscovery()));
        await host.StartAsync();
        try
        {
            ActorSystem system = host.Services.GetRequiredService<ActorSystem>();
            Assert.IsNotType<QuietTickScheduler>(system.Scheduler);
            Assert.Equal("Akka.Actor.HashedWheelTimerScheduler", system.Scheduler.GetType().FullName);
            Assert.Equal(TimeSpan.FromMilliseconds(33), system.Settings.Config.GetTimeSpan("akka.scheduler.tick-duration"));
            Assert.Equal(
                ConfigurationDefaults().GetString("akka.actor.default-dispatcher.executor"),
                system.Settings.Config.GetString("akka.actor.default-dispatcher.executor"));

            // The library's own dispatchers are there for its actors.
            Assert.True(system.Dispatchers.HasDispatcher(NetlinkDispatcher.Id));
            Assert.True(system.Dispatchers.HasDispatcher(ControlDispatcher.Id));
            IActorRef supervisor = await host.Services.GetRequiredService<IRequiredActor<DeviceSupervisorActor>>().GetAsync();
            Assert.NotNull(supervisor);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task A_host_opts_into_the_agents_scheduler_with_one_call()
    {
        using IHost host = BuildHost(string.Empty, akka => akka
            .WithTunTelemetryScheduler(TunTelemetryOptions.Default)
            .WithTunTelemetry(TunTelemetryOptions.Default, t => t.WithoutKernelDiscovery()));
        await host.StartAsync();
        try
        {
            Assert.IsType<QuietTickScheduler>(host.Services.GetRequiredService<ActorSystem>().Scheduler);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task Pollers_stuck_in_slow_receives_delay_neither_counting_nor_device_tracking()
    {
        // Pollers whose receives hang, on a netlink dispatcher of one thread: the first one blocks every netlink thread.
        TunDevice[] stuck = [new(1001, "stuck0", TunDeviceKind.Tun), new(1002, "stuck1", TunDeviceKind.Tun)];
        var other = new TunDevice(1003, "other0", TunDeviceKind.Tun);
        var hanging = new HangingReads();
        using var release = new ManualResetEventSlim();
        using var meter = new Meter($"TunTelemetry.Test.{Guid.NewGuid():N}");
        using var export = new MeterExport(meter);
        using IHost host = BuildHost($"{NetlinkDispatcher.Id}.quiet-threads.thread-count = 1", akka => akka.WithTunTelemetry(
            TunTelemetryOptions.Default with { LinkStateMetrics = false, PollSpread = false },
            t => t.WithoutKernelDiscovery().UseMeter(meter).UseLinkStatsReader(() => new HangingReader(hanging, release))));
        await host.StartAsync();
        try
        {
            IActorRef supervisor = await host.Services.GetRequiredService<IRequiredActor<DeviceSupervisorActor>>().GetAsync();
            IActorRef aggregator = await host.Services.GetRequiredService<IRequiredActor<MetricsAggregatorActor>>().GetAsync();
            supervisor.Tell(new DevicesListed(DeviceNamespace.Agents, stuck));
            Assert.True(SpinWait.SpinUntil(() => hanging.Count >= 1, Patience), "no poller started its receive");

            // The netlink thread is blocked now. The supervisor still follows devices...
            supervisor.Tell(new DeviceAppeared(other));
            WatchedDevices watched = await supervisor.Ask<WatchedDevices>(GetWatchedDevices.Instance, Patience);
            Assert.Contains(other, watched.Devices);

            // ...and the aggregator still counts what reaches it.
            ulong[] counters = new ulong[LinkStats64.MaxFieldCount];
            counters[(int)LinkStats64Field.TxDropped] = 42;
            var slot = new ReadingSlot(other); // as a poller hands its reading over
            Assert.True(slot.Offer(LinkStats64.FromCounters(counters), TimeSpan.Zero));
            aggregator.Tell(slot.Ready);
            DeviceReadings readings = await aggregator.Ask<DeviceReadings>(GetDeviceReadings.Instance, Patience);
            Assert.Contains(readings.Devices, r => r.Name == other.Name && r.Last.TxDropped == 42);
            Assert.Equal(42, export.Export().Value(MetricNames.TxQueueDrops, other.Name));
            Assert.False(release.IsSet); // all of that while the pollers were still stuck
        }
        finally
        {
            release.Set();
            await host.StopAsync();
        }
    }

    private static Akka.Configuration.Config ConfigurationDefaults() => Akka.Configuration.ConfigurationFactory.Default();

    /// <summary>A receive that never answers until released: a kernel that does not reply, without the timeout.</summary>
    private sealed class HangingReads
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public void Started() => Interlocked.Increment(ref _count);
    }

    private sealed class HangingReader(HangingReads hanging, ManualResetEventSlim release) : ILinkStatsReader
    {
        public LinkStats64 Read(int ifIndex)
        {
            if (ifIndex != 1003)
            {
                hanging.Started();
                release.Wait(Patience);
            }

            return LinkStats64.FromCounters(new ulong[LinkStats64.MaxFieldCount]);
        }

        public void Dispose()
        {
        }
    }
}
