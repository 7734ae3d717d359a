using TunTelemetry.Devices;
using TunTelemetry.Namespaces;
using TunTelemetry.Netlink;
using Xunit;

namespace TunTelemetry.Tests.Namespaces;

public sealed class NamespaceDeviceTableTests
{
    private static readonly DeviceNamespace Ns = new(4026532173, "vpn");

    private static LinkDescription Tun(int ifIndex, string name) => new(ifIndex, name, LinkKinds.Tun, 65534, 0, 1500, 500, LinkOperState.Down);

    private static LinkStatsReading Reading(int ifIndex, ulong txDropped)
    {
        ulong[] counters = new ulong[LinkStats64.MaxFieldCount];
        counters[(int)LinkStats64Field.TxDropped] = txDropped;
        return new LinkStatsReading(ifIndex, LinkStats64.FromCounters(counters));
    }

    [Fact]
    public void New_ifindexes_are_named_from_one_link_list_and_carry_their_namespace()
    {
        var table = new NamespaceDeviceTable(Ns, DeviceSelection.All);
        int lists = 0;
        var (readings, left) = table.Update([Reading(2, 5), Reading(3, 7)], () => { lists++; return [Tun(2, "tun0"), Tun(3, "tun1")]; });

        Assert.Equal(1, lists);
        Assert.Empty(left);
        Assert.Equal(["tun0", "tun1"], readings.Select(r => r.Device.Name));
        Assert.All(readings, r => Assert.Equal(Ns, r.Device.Namespace));
        Assert.Equal(7UL, readings[1].Stats[LinkStats64Field.TxDropped]);
    }

    [Fact]
    public void Known_devices_need_no_link_list_and_a_device_missing_from_a_dump_has_left()
    {
        var table = new NamespaceDeviceTable(Ns, DeviceSelection.All);
        table.Update([Reading(2, 5), Reading(3, 7)], () => [Tun(2, "tun0"), Tun(3, "tun1")]);

        var (readings, left) = table.Update([Reading(3, 9)], () => throw new InvalidOperationException("no new ifindex: no list"));

        Assert.Equal("tun1", Assert.Single(readings).Device.Name);
        TunDevice gone = Assert.Single(left);
        Assert.Equal((Ns.Inode, 2), ((ulong?, int))gone.Identity);
        Assert.Equal(["tun1"], table.Devices.Select(d => d.Name));
    }

    [Fact]
    public void A_link_list_gives_each_device_its_link_and_forgets_a_device_renamed_in_place_so_the_next_poll_finds_the_new_name()
    {
        var table = new NamespaceDeviceTable(Ns, DeviceSelection.All);
        table.Update([Reading(2, 5), Reading(3, 7)], () => [Tun(2, "tun0"), Tun(3, "tun1")]);

        var (observed, renamed) = table.Observe([Tun(2, "tun0"), Tun(3, "vpn1")]);

        Assert.Equal(("tun0", 2), ValueTuple.Create(Assert.Single(observed).Device.Name, observed[0].Link.IfIndex));
        Assert.Equal("tun1", Assert.Single(renamed).Name);
        var (readings, left) = table.Update([Reading(2, 6), Reading(3, 8)], () => [Tun(2, "tun0"), Tun(3, "vpn1")]);
        Assert.Empty(left); // already retired as renamed, not twice
        Assert.Equal(["tun0", "vpn1"], readings.Select(r => r.Device.Name));
    }

    [Fact]
    public void A_device_the_selection_leaves_out_is_never_reported_nor_listed_again()
    {
        var table = new NamespaceDeviceTable(Ns, new DeviceSelection(exclude: ["^skip"]));
        int lists = 0;
        table.Update([Reading(2, 1)], () => { lists++; return [Tun(2, "skip0")]; });
        var (readings, left) = table.Update([Reading(2, 2)], () => { lists++; return [Tun(2, "skip0")]; });

        Assert.Equal(1, lists);
        Assert.Empty(readings);
        Assert.Empty(left);
    }

    [Fact]
    public void A_reading_equal_to_the_last_is_not_returned_but_the_device_stays_watched()
    {
        var table = new NamespaceDeviceTable(Ns, DeviceSelection.All);
        table.Update([Reading(2, 5), Reading(3, 7)], () => [Tun(2, "tun0"), Tun(3, "tun1")]);

        var (idle, idleLeft) = table.Update([Reading(2, 5), Reading(3, 7)], () => throw new InvalidOperationException("no new ifindex: no list"));
        Assert.Empty(idle);
        Assert.Empty(idleLeft);
        Assert.Equal(2, table.Count);

        var (busy, _) = table.Update([Reading(2, 5), Reading(3, 9)], () => throw new InvalidOperationException("no new ifindex: no list"));
        Assert.Equal(("tun1", 9UL), ValueTuple.Create(Assert.Single(busy).Device.Name, busy[0].Stats[LinkStats64Field.TxDropped]));
    }

    [Fact]
    public void A_device_that_left_and_came_back_under_its_ifindex_reports_its_first_reading_again()
    {
        var table = new NamespaceDeviceTable(Ns, DeviceSelection.All);
        table.Update([Reading(2, 5)], () => [Tun(2, "tun0")]);
        var (_, left) = table.Update([], () => []);
        Assert.Single(left);
        Assert.Equal(0, table.Count);

        var (readings, _) = table.Update([Reading(2, 5)], () => [Tun(2, "tun0")]);

        Assert.Equal(5UL, Assert.Single(readings).Stats[LinkStats64Field.TxDropped]);
        Assert.Equal(1, table.Count);
    }
}
