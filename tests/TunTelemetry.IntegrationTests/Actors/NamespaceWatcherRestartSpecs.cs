using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using TunTelemetry.Actors;
using TunTelemetry.Devices;
using TunTelemetry.Hosting;
using TunTelemetry.IntegrationTests.Support;
using TunTelemetry.Namespaces;
using Xunit;
using Xunit.Abstractions;

namespace TunTelemetry.IntegrationTests.Actors;

/// <summary>
/// The real <see cref="NamespaceWatcherActor"/> finding a real named namespace, with stand-in pollers that fail to
/// start as a real one does when no descriptor is left for its socket (which the kernel does not do on demand): the
/// namespace is never left unwatched for good while it exists.
/// </summary>
public sealed class NamespaceWatcherRestartSpecs(ITestOutputHelper output) : TestKit(RealTimeTestConfig.AsShipped, output: output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [NetAdminFact]
    public void A_poller_that_fails_to_start_is_started_again_with_the_backoff_and_the_count_starts_over_once_one_watched()
    {
        using TestNetworkNamespace ns = TestNetworkNamespace.CreateNamed();
        string empty = Directory.CreateTempSubdirectory("tuntelemetry-restart-").FullName;
        try
        {
            TestProbe starts = CreateTestProbe("starts");
            int started = 0;
            TunTelemetryOptions options = TunTelemetryOptions.Default with
            {
                Backoff = BackoffSettings.Default with { Min = TimeSpan.FromMilliseconds(100), Max = TimeSpan.FromSeconds(1) },
            };

            // Starts 1 and 2 fail; start 3 watches (claims an id) until told to stop; start 4 watches.
            Props PollerProps(DiscoveredNamespace discovered, DeviceNamespace device, int attempt)
            {
                if (discovered.Id.Inode != ns.Inode)
                {
                    return Props.Empty; // another test's namespace: not this test's business
                }

                bool fail = Interlocked.Increment(ref started) is 1 or 2;
                return Props.Create(() => new StandInPoller(starts.Ref, attempt, fail));
            }

            Sys.ActorOf(NamespaceWatcherActor.Props(ActorRefs.Nobody, options,
                () => new NamespaceScanner(["/run/netns"], procRoot: empty), TimeSpan.FromSeconds(1), pollerProps: PollerProps));

            Assert.Equal(0, starts.ExpectMsg<Started>(Patience).FailedBefore);
            Assert.Equal(1, starts.ExpectMsg<Started>(Patience).FailedBefore);
            Started watching = starts.ExpectMsg<Started>(Patience);
            Assert.Equal(2, watching.FailedBefore);

            // It watched, so when it stops on its own later, the failures before it no longer count: the next one starts
            // after the shortest backoff, with this stop its only failure.
            watching.Poller.Tell(PoisonPill.Instance);
            Assert.Equal(1, starts.ExpectMsg<Started>(Patience).FailedBefore);
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    private sealed record Started(int FailedBefore, IActorRef Poller);

    private sealed class StandInPoller(IActorRef starts, int failedBefore, bool fail) : ReceiveActor
    {
        protected override void PreStart()
        {
            starts.Tell(new Started(failedBefore, Self));
            if (fail)
            {
                Context.Stop(Self);
            }
            else
            {
                Context.Parent.Tell(new NamespaceIdClaimed(int.MaxValue), Self);
            }
        }
    }
}
