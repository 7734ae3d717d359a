using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using TunTelemetry.Devices;
using TunTelemetry.Discovery;
using TunTelemetry.Hosting;
using TunTelemetry.IntegrationTests.Support;
using Xunit;
using Xunit.Abstractions;

namespace TunTelemetry.IntegrationTests.Discovery;

/// <summary>
/// The real <see cref="NamespacesActor"/> finding a real named namespace, with stand-in pollers that fail to
/// start as a real one does when no descriptor is left for its socket (which the kernel does not do on demand): the
/// namespace is never left unwatched for good while it exists.
/// </summary>
public sealed class NamespacesActorRestartSpecs(ITestOutputHelper output) : TestKit(RealTimeTestConfig.AsShipped, output: output)
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

            Sys.ActorOf(NamespacesActor.Props(ActorRefs.Nobody, options,
                () => new NamespaceScanner(["/run/netns"], procRoot: empty), TimeSpan.FromSeconds(1), discoveryProps: PollerProps));

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

    [NetAdminFact]
    public void A_namespace_first_seen_through_a_process_that_is_gone_is_watched_once_its_bind_mount_appears()
    {
        // As `ip netns add` shows it for a moment: a process in the namespace before its bind mount is ready. Here a
        // process entry in a stand-in /proc that no real process has, so the path a poller opens is gone.
        using TestNetworkNamespace ns = TestNetworkNamespace.CreateNamed();
        string root = Directory.CreateTempSubdirectory("tuntelemetry-seen-").FullName;
        string netnsDirectory = Directory.CreateDirectory(Path.Combine(root, "netns")).FullName;
        const int GonePid = 4_194_000; // above any pid this host hands out (pid_max 4194304, and far from reached)
        Directory.CreateDirectory(Path.Combine(root, "proc", $"{GonePid}", "ns"));
        File.CreateSymbolicLink(Path.Combine(root, "proc", $"{GonePid}", "ns", "net"), ns.Path);
        try
        {
            TestProbe starts = CreateTestProbe("starts");
            Props PollerProps(DiscoveredNamespace discovered, DeviceNamespace device, int attempt) =>
                Props.Create(() => new OpeningPoller(starts.Ref, discovered.OpenPath));
            Sys.ActorOf(NamespacesActor.Props(ActorRefs.Nobody, TunTelemetryOptions.Default,
                () => new NamespaceScanner([netnsDirectory], procRoot: Path.Combine(root, "proc")), TimeSpan.FromSeconds(1),
                discoveryProps: PollerProps));

            Opened first = starts.ExpectMsg<Opened>(Patience);
            Assert.Equal(($"/proc/{GonePid}/ns/net", false), (first.Path, first.Succeeded));

            // The bind mount appears (a link to it, as a netns directory entry): the namespace is watched through it.
            string bindMount = Path.Combine(netnsDirectory, ns.Name!);
            File.CreateSymbolicLink(bindMount, ns.Path);
            Opened watched = starts.FishForMessage<Opened>(o => o.Succeeded, Patience);
            Assert.Equal(bindMount, watched.Path);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private sealed record Started(int FailedBefore, IActorRef Poller);

    private sealed record Opened(string Path, bool Succeeded);

    /// <summary>Opens the namespace's file as <see cref="NamespaceDiscoveryActor"/> does, and stops if it cannot.</summary>
    private sealed class OpeningPoller(IActorRef starts, string path) : ReceiveActor
    {
        protected override void PreStart()
        {
            try
            {
                File.OpenHandle(path).Dispose();
            }
            catch (IOException)
            {
                starts.Tell(new Opened(path, false));
                Context.Stop(Self);
                return;
            }

            starts.Tell(new Opened(path, true));
            Context.Parent.Tell(new NamespaceIdClaimed(int.MaxValue), Self);
        }
    }

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
