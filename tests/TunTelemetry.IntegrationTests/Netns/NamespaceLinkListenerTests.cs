using System.Collections.Concurrent;
using Microsoft.Win32.SafeHandles;
using TunTelemetry.Agent.Demo;
using TunTelemetry.Discovery;
using TunTelemetry.IntegrationTests.Support;
using TunTelemetry.Netlink;
using Xunit;

namespace TunTelemetry.IntegrationTests.Netns;

/// <summary>
/// Link events of every namespace on one socket (<c>NETLINK_LISTEN_ALL_NSID</c>), against the real kernel: which
/// namespace id the kernel tags each event with, and what <see cref="NamespaceLinkListener"/> makes of them.
/// </summary>
public sealed class NamespaceLinkListenerTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [NetAdminFact]
    public void An_event_of_our_own_namespace_comes_without_a_namespace_id_and_wakes_no_poller()
    {
        var options = new NetlinkSocketOptions { Groups = NetlinkRouteGroups.Link, ReceiveBufferBytes = 1 << 20, ListenAllNamespaces = true };
        using RouteSocket listener = RouteSocket.Open(options);
        using DroppingTunDevice tun = DroppingTunDevice.Create();

        var changes = new List<NamespacedLinkChange>();
        DateTime deadline = DateTime.UtcNow + Deadline;
        while (!changes.Any(Ours) && DateTime.UtcNow < deadline)
        {
            listener.ReceiveNotifications(changes, []);
        }

        // Verified here rather than assumed: the kernel attaches no NETLINK_LISTEN_ALL_NSID control message to an event
        // of the listening socket's own namespace (it would be NETNSA_NSID_NOT_ASSIGNED, and is left out).
        NamespacedLinkChange own = Assert.Single(changes.Where(Ours).Take(1));
        Assert.Null(own.Nsid);
        Assert.Null(NamespaceLinkListener.NsidToWake(own));

        bool Ours(NamespacedLinkChange c) => c.Change.Link.Name == tun.Name;
    }

    [NetAdminFact]
    public void The_listener_reports_a_tun_device_coming_and_going_in_a_namespace_with_an_id_and_the_id_dropped_when_the_namespace_dies()
    {
        TestNetworkNamespace ns = TestNetworkNamespace.CreateNamed();
        var reports = new BlockingCollection<string>();
        try
        {
            using RouteSocket ids = RouteSocket.Open();
            int nsid;
            using (SafeFileHandle file = File.OpenHandle(ns.Path))
            {
                nsid = ids.AssignId(file);
            }

            using var listener = new NamespaceLinkListener(
                id => reports.Add($"links {id}"), id => reports.Add($"dropped {id}"), reason => reports.Add($"missed {reason}"));
            listener.Start();

            ns.AddTun("tl0");
            Assert.Equal($"links {nsid}", NextOwn(reports, nsid));
            Drain(reports, nsid);
            ns.Ip("link", "del", "tl0");
            Assert.Equal($"links {nsid}", NextOwn(reports, nsid));

            // Our sockets live in our own namespace and hold nothing of the other: deleting it kills it, and the kernel
            // says its id is dropped.
            ns.Delete();
            string report;
            do
            {
                report = NextOwn(reports, nsid);
            }
            while (report == $"links {nsid}"); // the dying namespace's links go away first
            Assert.Equal($"dropped {nsid}", report);
        }
        finally
        {
            ns.Dispose();
        }
    }

    [NetAdminFact]
    public void An_overrun_of_the_listening_socket_is_reported_once_as_events_missed_and_listening_goes_on()
    {
        using TestNetworkNamespace ns = TestNetworkNamespace.CreateNamed();
        using TestNetworkNamespace later = TestNetworkNamespace.CreateNamed();
        using RouteSocket ids = RouteSocket.Open();
        int nsid, laterId;
        using (SafeFileHandle file = File.OpenHandle(ns.Path))
        using (SafeFileHandle laterFile = File.OpenHandle(later.Path))
        {
            nsid = ids.AssignId(file);
            laterId = ids.AssignId(laterFile);
        }

        // The smallest receive buffer, and a listener held in its first callback: the kernel must drop what follows.
        var reports = new BlockingCollection<string>();
        using var held = new ManualResetEventSlim();
        using var listener = new NamespaceLinkListener(
            id =>
            {
                reports.Add($"links {id}");
                if (id == nsid)
                {
                    held.Wait(); // another test's namespace must not be the one that holds it, or this test's events are lost
                }
            },
            id => reports.Add($"dropped {id}"),
            reason => reports.Add($"missed {reason}"),
            () => RouteSocket.Open(new NetlinkSocketOptions
            {
                Groups = NetlinkRouteGroups.Link | NetlinkRouteGroups.NamespaceIds,
                ReceiveBufferBytes = 1,
                ListenAllNamespaces = true,
            }));
        listener.Start();

        ns.AddTun("to0");
        Assert.Equal($"links {nsid}", Next(reports, nsid, laterId));
        string batch = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(batch, Enumerable.Range(0, 64).Select(i => $"link set dev to0 mtu {1300 + i}"));
            ns.Ip("-batch", batch);
        }
        finally
        {
            File.Delete(batch);
        }

        held.Set();
        string report;
        do
        {
            report = Next(reports, nsid, laterId);
        }
        while (report == $"links {nsid}");
        Assert.Equal("missed the kernel overran the socket's buffer (ENOBUFS)", report);

        // Still listening after the overrun: an event of another namespace (the first one's queued events may still come,
        // and with a one-byte buffer other suites' namespace churn on the host can overrun it again meanwhile).
        later.AddTun("to1");
        do
        {
            report = Next(reports, nsid, laterId);
        }
        while (report == $"links {nsid}" || report.StartsWith("missed ", StringComparison.Ordinal));
        Assert.Equal($"links {laterId}", report);
    }

    // Other test classes make and delete namespaces while these run, and the listener hears of every namespace with an
    // id in ours: only reports about this test's ids (and "missed", which names none) are this test's.
    private static string Next(BlockingCollection<string> reports, params int[] ids)
    {
        DateTime deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            TimeSpan left = deadline - DateTime.UtcNow;
            string? report = null;
            Assert.True(left > TimeSpan.Zero && reports.TryTake(out report, left), "no report about this test's namespaces within 30 s");
            if (IsAbout(report!, ids))
            {
                return report!;
            }
        }
    }

    /// <summary>
    /// The next report about <paramref name="nsid"/> itself, past any "missed": this buffer is the listener's default,
    /// which another suite's burst of namespace events can overrun, and that is not what these tests are about.
    /// </summary>
    private static string NextOwn(BlockingCollection<string> reports, int nsid)
    {
        string report;
        do
        {
            report = Next(reports, nsid);
        }
        while (report.StartsWith("missed ", StringComparison.Ordinal));
        return report;
    }

    private static bool IsAbout(string report, int[] ids) =>
        report.StartsWith("missed ", StringComparison.Ordinal) || ids.Any(id => report.EndsWith($" {id}", StringComparison.Ordinal));

    // `ip tuntap add` and `ip link set up` each send RTM_NEWLINK: one wake each, at most.
    private static void Drain(BlockingCollection<string> reports, int nsid)
    {
        while (reports.TryTake(out string? report, TimeSpan.FromSeconds(1)))
        {
            if (IsAbout(report, [nsid]) && !report.StartsWith("missed ", StringComparison.Ordinal))
            {
                Assert.Equal($"links {nsid}", report);
            }
        }
    }
}
