using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using TunTelemetry.Discovery;
using TunTelemetry.Hosting;
using TunTelemetry.IntegrationTests.Support;
using Xunit.Abstractions;

namespace TunTelemetry.IntegrationTests.Discovery;

/// <summary>
/// The real <see cref="NamespacesActor"/> (its listening socket opened on the real kernel, as root; a scanner over
/// empty directories, so it starts no poller of its own) routing link events by namespace id to probes standing in for
/// namespace discovery actors, through claims, a reused id, a dropped id and an overrun. (A stopped poller's route goes with its
/// Terminated: <c>NamespaceIdRoutes.Release</c>, tested in TunTelemetry.Tests.)
/// </summary>
public sealed class NamespacesActorRoutingSpecs(ITestOutputHelper output) : TestKit(RealTimeTestConfig.AsShipped, output: output)
{
    // The watcher's listener hears the real kernel too, where other tests' namespaces get the lowest free ids and come
    // and go: ids far above any the kernel hands out here keep their events out of this spec's.
    private const int Id3 = 1_000_003;
    private const int Id4 = 1_000_004;
    private const int Id5 = 1_000_005;
    private const int Id6 = 1_000_006;

    [NetAdminFact]
    public void Events_go_to_the_poller_that_owns_their_id_now_and_an_unknown_reused_or_dropped_id_reaches_nobody()
    {
        string empty = Directory.CreateTempSubdirectory("tuntelemetry-routing-").FullName;
        try
        {
            IActorRef watcher = Sys.ActorOf(NamespacesActor.Props(ActorRefs.Nobody, TunTelemetryOptions.Default,
                () => new NamespaceScanner([empty], procRoot: empty), TimeSpan.FromHours(1)));
            TestProbe a = CreateTestProbe("poller-a");
            TestProbe b = CreateTestProbe("poller-b");

            watcher.Tell(new NamespaceIdClaimed(Id3), a);
            watcher.Tell(new NamespaceLinksChanged(Id3));
            a.ExpectMsg<RereadNamespace>();

            // An id nobody claimed reaches nobody. (Absence is shown by order, not by waiting: what the watcher sends a
            // probe arrives in order, so a's next message being the Confirm of a drop proves no re-read came first.)
            watcher.Tell(new NamespaceLinksChanged(Id4));
            watcher.Tell(new NamespaceIdDropped(Id3));
            a.ExpectMsg<ConfirmNamespaceId>();
            watcher.Tell(new NamespaceIdClaimed(Id3), a);

            // Id3 given to B after A's namespace died, B's claim first: A must confirm, and Id3's events go to B only.
            watcher.Tell(new NamespaceIdClaimed(Id3), b);
            a.ExpectMsg<ConfirmNamespaceId>();
            watcher.Tell(new NamespaceLinksChanged(Id3));
            b.ExpectMsg<RereadNamespace>();
            watcher.Tell(new NamespaceIdClaimed(Id5), a);
            watcher.Tell(new NamespaceIdDropped(Id5));
            a.ExpectMsg<ConfirmNamespaceId>();

            // The late RTM_DELNSID of A's death: B is asked to confirm, and until it claims again Id3 routes nowhere.
            watcher.Tell(new NamespaceIdDropped(Id3));
            b.ExpectMsg<ConfirmNamespaceId>();
            watcher.Tell(new NamespaceLinksChanged(Id3));
            watcher.Tell(new NamespaceIdClaimed(Id6), b);
            watcher.Tell(new NamespaceIdDropped(Id6));
            b.ExpectMsg<ConfirmNamespaceId>();
            watcher.Tell(new NamespaceIdClaimed(Id3), b);
            watcher.Tell(new NamespaceLinksChanged(Id3));
            b.ExpectMsg<RereadNamespace>();

            // An overrun: every poller with an id reads again, once.
            watcher.Tell(new NamespaceIdClaimed(Id5), a);
            watcher.Tell(new NamespaceEventsMissed("test"));
            watcher.Tell(new NamespaceIdDropped(Id5));
            watcher.Tell(new NamespaceIdDropped(Id3));
            a.ExpectMsg<RereadNamespace>();
            a.ExpectMsg<ConfirmNamespaceId>();
            b.ExpectMsg<RereadNamespace>();
            b.ExpectMsg<ConfirmNamespaceId>();
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }
}
