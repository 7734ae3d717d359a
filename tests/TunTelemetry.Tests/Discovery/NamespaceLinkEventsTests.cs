using System.Text;
using TunTelemetry.Discovery;
using TunTelemetry.Netlink;
using TunTelemetry.Tests.Support;
using Xunit;

namespace TunTelemetry.Tests.Discovery;

/// <summary>
/// The pure parts of hearing other namespaces' link events: which poller a captured event wakes, the map from namespace
/// id to its owner (ids are reused), and the window that coalesces a burst of events into one re-read.
/// </summary>
public sealed class NamespaceLinkEventsTests
{
    [Fact]
    public void A_captured_tun_event_with_its_control_message_wakes_the_namespace_it_came_from()
    {
        byte[] datagram = Fixture.Read(Fixture.MovedLinkDelete);
        Assert.True(NetlinkNsidControlMessage.TryReadNsid(Fixture.Read(Fixture.MovedLinkDeleteControl), out int nsid));

        NamespacedLinkChange change = Assert.Single(Decode(datagram, nsid));
        Assert.Equal(LinkChangeKind.Removed, change.Change.Kind);
        Assert.Equal(nsid, NamespaceLinkListener.NsidToWake(change));
    }

    [Fact]
    public void The_same_event_without_a_control_message_is_our_own_namespace_s_and_wakes_nobody()
    {
        NamespacedLinkChange change = Assert.Single(Decode(Fixture.Read(Fixture.MovedLinkDelete), nsid: null));
        Assert.Null(NamespaceLinkListener.NsidToWake(change));
    }

    [Fact]
    public void An_event_of_a_link_that_is_not_tun_or_tap_wakes_nobody()
    {
        byte[] datagram = Fixture.Read(Fixture.MovedLinkDelete);
        int kind = datagram.AsSpan().IndexOf("tun\0"u8);
        Assert.True(kind > 0, "the capture names its link kind");
        Encoding.ASCII.GetBytes("ifb").CopyTo(datagram, kind); // the same length, so every attribute stays in place

        NamespacedLinkChange change = Assert.Single(Decode(datagram, nsid: 3));
        Assert.Equal("ifb", change.Change.Link.Kind);
        Assert.Null(NamespaceLinkListener.NsidToWake(change));
    }

    [Fact]
    public void An_event_for_an_id_nobody_claimed_is_not_routed()
    {
        var routes = new NamespaceIdRoutes<string>();
        routes.Claim(0, "poller of A");
        Assert.False(routes.TryRoute(1, out _));
        Assert.True(routes.TryRoute(0, out string owner));
        Assert.Equal("poller of A", owner);
    }

    [Fact]
    public void A_dropped_id_routes_nothing_until_its_owner_confirms_and_claims_it_again()
    {
        var routes = new NamespaceIdRoutes<string>();
        routes.Claim(2, "poller of A");
        Assert.Equal("poller of A", routes.Drop(2)); // asked to confirm
        Assert.False(routes.TryRoute(2, out _));
        Assert.Null(routes.Drop(2));

        Assert.Null(routes.Claim(2, "poller of A")); // confirmed: the late RTM_DELNSID was about an earlier owner
        Assert.True(routes.TryRoute(2, out string owner));
        Assert.Equal("poller of A", owner);
    }

    [Fact]
    public void A_reused_id_routes_to_its_new_owner_and_the_old_one_is_asked_to_confirm()
    {
        var routes = new NamespaceIdRoutes<string>();
        routes.Claim(0, "poller of dead A");

        // The kernel gave id 0 to B once A died; B's claim reached the watcher before A's RTM_DELNSID did.
        Assert.Equal("poller of dead A", routes.Claim(0, "poller of B"));
        Assert.True(routes.TryRoute(0, out string owner));
        Assert.Equal("poller of B", owner);

        // A stops: its release must not take B's route.
        routes.Release("poller of dead A");
        Assert.True(routes.TryRoute(0, out owner));
        Assert.Equal("poller of B", owner);
        Assert.Equal(1, routes.Count);
    }

    [Fact]
    public void A_stopped_poller_s_id_routes_nothing_and_a_poller_holds_one_id()
    {
        var routes = new NamespaceIdRoutes<string>();
        routes.Claim(4, "poller");
        routes.Claim(5, "poller");
        Assert.False(routes.TryRoute(4, out _));
        Assert.Equal(["poller"], routes.Owners);

        routes.Release("poller");
        Assert.False(routes.TryRoute(5, out _));
        Assert.Equal(0, routes.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => routes.Claim(-1, "poller"));
    }

    [Fact]
    public void A_burst_of_events_costs_one_read_now_and_one_at_the_end_of_the_window()
    {
        var window = new RereadWindow(TimeSpan.FromSeconds(1));
        TimeSpan t = TimeSpan.FromSeconds(100);
        Assert.Equal(RereadDecision.ReadNow, window.Request(t, out _));
        window.Reading(t);

        Assert.Equal(RereadDecision.ReadLater, window.Request(t + TimeSpan.FromMilliseconds(300), out TimeSpan delay));
        Assert.Equal(TimeSpan.FromMilliseconds(700), delay);
        Assert.Equal(RereadDecision.AlreadyDue, window.Request(t + TimeSpan.FromMilliseconds(400), out _));
        Assert.Equal(RereadDecision.AlreadyDue, window.Request(t + TimeSpan.FromMilliseconds(900), out _));

        // The timer fires: one read for the three requests, and the window starts again from it.
        window.Reading(t + TimeSpan.FromSeconds(1));
        Assert.Equal(RereadDecision.ReadLater, window.Request(t + TimeSpan.FromMilliseconds(1500), out delay));
        Assert.Equal(TimeSpan.FromMilliseconds(500), delay);
        window.Reading(t + TimeSpan.FromSeconds(2));
        Assert.Equal(RereadDecision.ReadNow, window.Request(t + TimeSpan.FromSeconds(3), out _));
    }

    private static List<NamespacedLinkChange> Decode(byte[] datagram, int? nsid)
    {
        var links = new List<NamespacedLinkChange>();
        var ids = new List<NetnsIdChange>();
        RouteSocket.DecodeNotifications(datagram, nsid, links, ids);
        Assert.Empty(ids);
        return links;
    }
}
