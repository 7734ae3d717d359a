using TunTelemetry.Devices;
using TunTelemetry.Readers;
using TunTelemetry.Supervision;
using Xunit;

namespace TunTelemetry.Tests.Supervision;

public sealed class DeviceRosterTests
{
    private static readonly TunDevice Tun0 = new(7, "tun0", TunDeviceKind.Tun);
    private static readonly TunDevice Tun1 = new(8, "tun1", TunDeviceKind.Tun);
    private static readonly TunDevice Tun2 = new(9, "tun2", TunDeviceKind.Tun);
    private static readonly DeviceNamespace Vpn = new(4026532801, "vpn");
    private static readonly TunDevice VpnTun0 = Tun0 with { Namespace = Vpn };
    private static readonly object Own = new(); // the agent's own namespace's discovery

    [Fact]
    public void A_listing_starts_new_devices_at_once_without_spread_and_retires_those_no_longer_listed()
    {
        var roster = new DeviceRoster();
        RosterChange first = roster.Listed(DeviceNamespace.Agents, [Tun0, Tun1], Own, TimeSpan.Zero);
        Assert.Equal([Tun0, Tun1], first.Started.Select(e => e.Device).OrderBy(d => d.IfIndex));
        Assert.Empty(first.Scheduled);

        RosterChange second = roster.Listed(DeviceNamespace.Agents, [Tun1, Tun2], Own, TimeSpan.Zero);
        (WatchedDevice retired, string why) = Assert.Single(second.Retired);
        Assert.Equal((Tun0, "no longer listed"), (retired.Device, why));
        Assert.True(retired.Retiring);
        Assert.Equal([Tun2], second.Started.Select(e => e.Device));
        Assert.Equal([Tun1, Tun2], roster.InOrder(givenUp: false));
    }

    [Fact]
    public void Devices_listed_together_are_spread_over_the_interval_in_equal_shares_the_first_at_once()
    {
        var roster = new DeviceRoster();
        RosterChange change = roster.Listed(DeviceNamespace.Agents, [Tun0, Tun1, Tun2], Own, TimeSpan.FromSeconds(15));

        Assert.Single(change.Started);
        Assert.Equal([5, 10], change.Scheduled.Select(s => s.Delay.TotalSeconds).Order());
        Assert.Equal(1, roster.Count);
        Assert.Equal(2, roster.PendingCount);

        // A scheduled start comes due once; a second time (a stale timer) starts nothing.
        TunDevice due = change.Scheduled[0].Device;
        Assert.Equal([due], roster.StartDue(due).Started.Select(e => e.Device));
        Assert.True(roster.StartDue(due).IsEmpty);
        Assert.Equal(1, roster.PendingCount);
    }

    [Fact]
    public void A_device_no_longer_listed_before_its_spread_start_is_unscheduled_and_never_started()
    {
        var roster = new DeviceRoster();
        RosterChange change = roster.Listed(DeviceNamespace.Agents, [Tun0, Tun1], Own, TimeSpan.FromSeconds(10));
        TunDevice pending = Assert.Single(change.Scheduled).Device;
        TunDevice started = Assert.Single(change.Started).Device;

        RosterChange relisted = roster.Listed(DeviceNamespace.Agents, [started], Own, TimeSpan.FromSeconds(10));
        Assert.Equal([pending], relisted.Unscheduled);
        Assert.True(roster.StartDue(pending).IsEmpty);
    }

    [Fact]
    public void A_rename_in_place_retires_the_old_name_and_starts_the_new_one_and_an_unchanged_appearance_changes_nothing()
    {
        var roster = new DeviceRoster();
        roster.Appeared(Tun0);
        Assert.True(roster.Appeared(Tun0).IsEmpty);

        TunDevice renamed = Tun0 with { Name = "vpn0" };
        RosterChange change = roster.Appeared(renamed);
        Assert.Equal((Tun0, "renamed to vpn0"), (change.Retired.Single().Entry.Device, change.Retired.Single().Why));
        Assert.Equal([renamed], change.Started.Select(e => e.Device));
    }

    [Fact]
    public void Removed_and_vanished_retire_only_the_device_they_name()
    {
        var roster = new DeviceRoster();
        roster.Listed(DeviceNamespace.Agents, [Tun0, Tun1], Own, TimeSpan.Zero);

        Assert.True(roster.Vanished(Tun0 with { Name = "other" }).IsEmpty); // the ifindex has another name now
        Assert.Equal("gone (ENODEV)", roster.Vanished(Tun0).Retired.Single().Why);
        Assert.Equal("deleted", roster.Gone(Tun1).Retired.Single().Why);
        Assert.Equal(0, roster.Count);
    }

    [Fact]
    public void A_device_found_again_starts_at_once_even_when_its_spread_start_was_still_to_come()
    {
        var roster = new DeviceRoster();
        RosterChange change = roster.Listed(DeviceNamespace.Agents, [Tun0, Tun1], Own, TimeSpan.FromSeconds(10));
        TunDevice pending = Assert.Single(change.Scheduled).Device;

        RosterChange found = roster.Appeared(pending);
        Assert.Equal([pending], found.Unscheduled);
        Assert.Equal([pending], found.Started.Select(e => e.Device));
        Assert.True(roster.Appeared(pending).IsEmpty); // watched already
    }

    [Fact]
    public void Another_namespace_is_keyed_by_namespace_and_ifindex_and_its_own_listings_never_touch_the_agents_devices()
    {
        var roster = new DeviceRoster();
        var discovery = new object();
        roster.Listed(DeviceNamespace.Agents, [Tun0], Own, TimeSpan.Zero);

        RosterChange listed = roster.Listed(Vpn, [VpnTun0], discovery, TimeSpan.Zero);
        Assert.Equal(new NamespaceListing(Vpn.Inode, Listed: true), listed.Listing);
        Assert.Equal([VpnTun0], listed.Started.Select(e => e.Device));
        Assert.Equal([Tun0, VpnTun0], roster.InOrder(givenUp: false)); // the agent's own first

        Assert.True(roster.Listed(DeviceNamespace.Agents, [Tun0], Own, TimeSpan.Zero).IsEmpty);
        Assert.True(roster.Listed(Vpn, [VpnTun0], discovery, TimeSpan.Zero).IsEmpty);
        Assert.Same(discovery, roster.ListerOf(Vpn.Inode));

        RosterChange left = roster.Listed(Vpn, [], discovery, TimeSpan.Zero);
        Assert.Equal($"left network namespace {Vpn.Name}", left.Retired.Single().Why);
        Assert.Null(left.Listing);
        Assert.Equal([Tun0], roster.InOrder(givenUp: false));
    }

    [Fact]
    public void Only_the_current_discovery_of_a_namespace_ends_it()
    {
        var roster = new DeviceRoster();
        object old = new(), successor = new();
        roster.Listed(Vpn, [VpnTun0], old, TimeSpan.Zero);
        roster.Listed(Vpn, [VpnTun0], successor, TimeSpan.Zero); // the inode came back with a new discovery

        Assert.True(roster.NamespaceGone(Vpn, old).IsEmpty);
        Assert.Equal(1, roster.Count);

        RosterChange ended = roster.NamespaceGone(Vpn, successor);
        Assert.Equal(new NamespaceListing(Vpn.Inode, Listed: false), ended.Listing);
        Assert.Equal($"network namespace {Vpn.Name} is gone", ended.Retired.Single().Why);
        Assert.Null(roster.ListerOf(Vpn.Inode));
    }

    [Fact]
    public void Another_namespaces_listing_spreads_its_new_devices_like_the_agents_own_and_its_end_cancels_their_starts()
    {
        var roster = new DeviceRoster();
        var discovery = new object();
        TunDevice vpnTun1 = Tun1 with { Namespace = Vpn };

        RosterChange listed = roster.Listed(Vpn, [VpnTun0, vpnTun1], discovery, TimeSpan.FromSeconds(10));
        Assert.Single(listed.Started);
        TunDevice waiting = Assert.Single(listed.Scheduled).Device;
        Assert.Equal(TimeSpan.FromSeconds(5), listed.Scheduled[0].Delay);

        RosterChange ended = roster.NamespaceGone(Vpn, discovery);
        Assert.Equal([waiting], ended.Unscheduled);
        Assert.Single(ended.Retired);
        Assert.Equal(0, roster.Count + roster.PendingCount);
        Assert.True(roster.StartDue(waiting).IsEmpty); // its timer, if it still fires, starts nothing
    }

    [Fact]
    public void A_late_listing_from_a_replaced_discovery_neither_takes_the_namespace_back_nor_retires_the_successors_devices()
    {
        var roster = new DeviceRoster();
        object old = new(), successor = new();
        roster.Listed(Vpn, [VpnTun0], old, TimeSpan.Zero);
        roster.Listed(Vpn, [VpnTun0], successor, TimeSpan.Zero);

        Assert.True(roster.Listed(Vpn, [], old, TimeSpan.Zero).IsEmpty); // sent before it stopped, heard after
        Assert.Same(successor, roster.ListerOf(Vpn.Inode));
        Assert.True(roster.NamespaceGone(Vpn, old).IsEmpty);
        Assert.Equal([VpnTun0], roster.InOrder(givenUp: false));
    }
}
