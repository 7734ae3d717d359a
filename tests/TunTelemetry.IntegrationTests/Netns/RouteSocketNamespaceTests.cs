using Microsoft.Win32.SafeHandles;
using TunTelemetry.IntegrationTests.Support;
using TunTelemetry.Netlink;
using TunTelemetry.Netlink.Capture;
using Xunit;

namespace TunTelemetry.IntegrationTests.Netns;

/// <summary>
/// Reading other network namespaces from a socket in ours, against the real kernel, in namespaces the tests make: a
/// named one (<c>ip netns add</c>) and an unnamed one held by an <c>unshare -n</c> child. With
/// <c>TUNTELEMETRY_CAPTURE_DIR</c> set, the replies are written out as the decode fixtures of TunTelemetry.Tests.
/// </summary>
public sealed class RouteSocketNamespaceTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    // The kernel filters a dump by link kind only on a socket with strict checking.
    private static readonly NetlinkSocketOptions Strict = new() { StrictChecking = true };

    [NetAdminFact]
    public void A_named_namespace_gets_an_id_and_its_tun_devices_read_equal_to_their_kernel_counters()
    {
        using TestNetworkNamespace ns = TestNetworkNamespace.CreateNamed();
        ns.AddTun("tn0");
        ns.AddTun("tn1");
        ns.Ip("link", "add", "ve0", "type", "veth", "peer", "name", "ve1");
        Assert.Equal(7, ns.DropPackets("tn0", 7));
        Assert.Equal(11, ns.DropPackets("tn1", 11));

        using RouteSocket socket = RouteSocket.Open(Strict);
        using SafeFileHandle file = File.OpenHandle(ns.Path);
        int nsid = socket.AssignId(file);
        Assert.True(nsid >= 0, $"nsid {nsid}");
        Assert.Equal(nsid, socket.GetId(file));

        var readings = new List<LinkStatsReading>();
        socket.ReadTunStats(LinkTarget.Namespace(nsid), readings);

        // The kernel's kind filter leaves out lo and the veth pair.
        Assert.Equal(new[] { ns.IfIndex("tn0"), ns.IfIndex("tn1") }.Order(), readings.Select(r => r.IfIndex).Order());
        Assert.Equal(7UL, readings.Single(r => r.IfIndex == ns.IfIndex("tn0")).Stats.TxDropped);
        Assert.Equal(11UL, readings.Single(r => r.IfIndex == ns.IfIndex("tn1")).Stats.TxDropped);
        foreach (string device in new[] { "tn0", "tn1" })
        {
            LinkStats64 stats = readings.Single(r => r.IfIndex == ns.IfIndex(device)).Stats;
            Assert.Equal(ns.Statistic(device, "tx", "dropped"), stats.TxDropped);
            Assert.Equal(ns.Statistic(device, "tx", "packets"), stats.TxPackets);
            Assert.Equal(ns.Statistic(device, "rx", "packets"), stats.RxPackets);
        }

        Assert.Equal(["tn0", "tn1"], socket.DumpLinks(LinkTarget.Namespace(nsid), tunOnly: true).Select(l => l.Name).Order());
        Assert.Contains("ve0", socket.DumpLinks(LinkTarget.Namespace(nsid)).Select(l => l.Name));

        CaptureFixtures(socket, nsid, file);
    }

    [NetAdminFact]
    public void One_device_is_polled_by_the_namespace_id_and_found_gone_when_deleted_renamed_or_its_namespace_died()
    {
        using TestNetworkNamespace ns = TestNetworkNamespace.CreateNamed();
        ns.AddTun("tn0");
        Assert.Equal(4, ns.DropPackets("tn0", 4));
        int ifIndex = ns.IfIndex("tn0");
        using RouteSocket ids = RouteSocket.Open(Strict);
        int nsid;
        using (SafeFileHandle file = File.OpenHandle(ns.Path))
        {
            nsid = ids.AssignId(file);
        }

        using DeviceLinkReader reader = DeviceLinkReader.Open(NetlinkSocketOptions.Default, LinkTarget.Namespace(nsid), "tn0");
        LinkStats64 stats = reader.Read(ifIndex);
        Assert.Equal(4UL, stats.TxDropped);
        Assert.Equal(ns.Statistic("tn0", "tx", "dropped"), stats.TxDropped);
        Assert.Equal(ns.Statistic("tn0", "tx", "packets"), stats.TxPackets);
        Assert.Equal(ns.Statistic("tn0", "rx", "bytes"), stats.RxBytes);
        Assert.Equal("tn0", reader.GetLink(ifIndex)?.Name);
        using (RouteSocket socket = RouteSocket.Open())
        {
            Assert.Equal(ifIndex, socket.GetLink(LinkTarget.Namespace(nsid), "tn0")?.IfIndex);
            Assert.Null(socket.GetLink(LinkTarget.Namespace(nsid), "nosuchdev0"));
        }

        // Renamed in place: the ifindex no longer leads to the device the poller knew.
        ns.Ip("link", "set", "tn0", "name", "tn9");
        Assert.Equal(ifIndex, Assert.Throws<NetlinkDeviceGoneException>(() => reader.Read(ifIndex)).IfIndex);
        using (DeviceLinkReader renamed = DeviceLinkReader.Open(NetlinkSocketOptions.Default, LinkTarget.Namespace(nsid), "tn9"))
        {
            Assert.Equal(4UL, renamed.Read(ifIndex).TxDropped);
        }

        ns.Ip("link", "del", "tn9");
        Assert.Throws<NetlinkDeviceGoneException>(() => reader.Read(ifIndex));
        Assert.Null(reader.GetLink(ifIndex));

        // The namespace dies: the kernel drops its id, and a poll through it finds the device gone.
        ns.Delete();
        Assert.True(SpinWait.SpinUntil(() =>
        {
            try
            {
                reader.Read(ifIndex);
                return false;
            }
            catch (NetlinkDeviceGoneException)
            {
                return true;
            }
        }, Deadline), "a poll through a dead namespace's id did not find the device gone");
    }

    [NetAdminFact]
    public void An_unnamed_namespace_held_by_an_unshare_child_is_read_through_its_proc_file_and_its_pid()
    {
        using TestNetworkNamespace ns = TestNetworkNamespace.CreateUnnamed();
        ns.AddTun("tun0");
        Assert.Equal(5, ns.DropPackets("tun0", 5));

        using RouteSocket socket = RouteSocket.Open(Strict);
        using SafeFileHandle file = File.OpenHandle(ns.Path);
        // Not asserted unassigned first: an agent of another suite on the host, watching every namespace, may have
        // given it an id already; AssignId returns that one then.
        int nsid = socket.AssignId(file);
        Assert.NotEqual(NetnsId.NotAssigned, nsid);
        Assert.Equal(nsid, socket.GetId(file));
        Assert.Equal(nsid, socket.GetIdOfProcess(ns.HolderPid!.Value));

        var readings = new List<LinkStatsReading>();
        socket.ReadTunStats(LinkTarget.Namespace(nsid), readings);
        LinkStatsReading reading = Assert.Single(readings);
        Assert.Equal(ns.IfIndex("tun0"), reading.IfIndex);
        Assert.Equal(5UL, reading.Stats.TxDropped);
        Assert.Equal(ns.Statistic("tun0", "tx", "dropped"), reading.Stats.TxDropped);
    }

    [NetAdminFact]
    public void Two_devices_named_alike_in_two_namespaces_are_read_apart()
    {
        using TestNetworkNamespace first = TestNetworkNamespace.CreateNamed();
        using TestNetworkNamespace second = TestNetworkNamespace.CreateUnnamed();
        first.AddTun("tun0");
        second.AddTun("tun0");
        first.DropPackets("tun0", 3);
        second.DropPackets("tun0", 9);

        using RouteSocket socket = RouteSocket.Open(Strict);
        using SafeFileHandle firstFile = File.OpenHandle(first.Path);
        using SafeFileHandle secondFile = File.OpenHandle(second.Path);
        int firstId = socket.AssignId(firstFile);
        int secondId = socket.AssignId(secondFile);
        Assert.NotEqual(firstId, secondId);

        var readings = new List<LinkStatsReading>();
        socket.ReadTunStats(LinkTarget.Namespace(firstId), readings);
        Assert.Equal(3UL, Assert.Single(readings).Stats.TxDropped);
        readings.Clear();
        socket.ReadTunStats(LinkTarget.Namespace(secondId), readings);
        Assert.Equal(9UL, Assert.Single(readings).Stats.TxDropped);
    }

    [NetAdminFact]
    public void A_device_moved_between_namespaces_is_heard_as_a_move_out_of_one_and_an_arrival_in_the_other()
    {
        using TestNetworkNamespace from = TestNetworkNamespace.CreateNamed();
        using TestNetworkNamespace to = TestNetworkNamespace.CreateNamed();
        using RouteSocket ids = RouteSocket.Open(Strict);
        using SafeFileHandle fromFile = File.OpenHandle(from.Path);
        using SafeFileHandle toFile = File.OpenHandle(to.Path);
        int fromId = ids.AssignId(fromFile);
        int toId = ids.AssignId(toFile);
        from.AddTun("tmv0");

        var options = new NetlinkSocketOptions { Groups = NetlinkRouteGroups.Link, ReceiveBufferBytes = 1 << 20, ListenAllNamespaces = true };
        using RouteSocket listener = RouteSocket.Open(options);
        using RouteSocket capture = RouteSocket.Open(options);
        from.Ip("link", "set", "dev", "tmv0", "netns", to.Name!);
        CaptureMoveNotification(capture, fromId);

        var changes = new List<NamespacedLinkChange>();
        var idChanges = new List<NetnsIdChange>();
        DateTime deadline = DateTime.UtcNow + Deadline;
        while (!(changes.Any(IsMoveOut) && changes.Any(IsArrival)) && DateTime.UtcNow < deadline)
        {
            listener.ReceiveNotifications(changes, idChanges);
        }

        NamespacedLinkChange moveOut = Assert.Single(changes, IsMoveOut);
        Assert.True(moveOut.Netns.NewNetnsId >= 0, $"IFLA_NEW_NETNSID {moveOut.Netns.NewNetnsId}");
        Assert.Contains(changes, IsArrival);
        Assert.Equal(to.IfIndex("tmv0"), changes.Last(IsArrival).Change.Link.IfIndex);

        bool IsMoveOut(NamespacedLinkChange c) =>
            c.Nsid == fromId && c.Change.Kind == LinkChangeKind.Removed && c.Change.Link.Name == "tmv0" && c.Netns.IsMove;

        bool IsArrival(NamespacedLinkChange c) =>
            c.Nsid == toId && c.Change.Kind == LinkChangeKind.AddedOrChanged && c.Change.Link.Name == "tmv0";
    }

    [NetAdminFact]
    public void A_deleted_device_is_heard_as_a_delete_not_a_move()
    {
        using TestNetworkNamespace ns = TestNetworkNamespace.CreateNamed();
        using RouteSocket ids = RouteSocket.Open(Strict);
        using SafeFileHandle file = File.OpenHandle(ns.Path);
        int nsid = ids.AssignId(file);
        ns.AddTun("tdel0");

        var options = new NetlinkSocketOptions { Groups = NetlinkRouteGroups.Link, ReceiveBufferBytes = 1 << 20, ListenAllNamespaces = true };
        using RouteSocket listener = RouteSocket.Open(options);
        ns.Ip("link", "del", "tdel0");

        var changes = new List<NamespacedLinkChange>();
        DateTime deadline = DateTime.UtcNow + Deadline;
        while (!changes.Any(IsDelete) && DateTime.UtcNow < deadline)
        {
            listener.ReceiveNotifications(changes, []);
        }

        Assert.False(Assert.Single(changes, IsDelete).Netns.IsMove);

        bool IsDelete(NamespacedLinkChange c) => c.Nsid == nsid && c.Change.Kind == LinkChangeKind.Removed && c.Change.Link.Name == "tdel0";
    }

    [NetAdminFact]
    public void A_namespace_that_dies_has_its_id_dropped_and_told()
    {
        TestNetworkNamespace ns = TestNetworkNamespace.CreateUnnamed();
        try
        {
            using RouteSocket listener = RouteSocket.Open(Strict with { Groups = NetlinkRouteGroups.NamespaceIds });
            int nsid;
            using (SafeFileHandle file = File.OpenHandle(ns.Path))
            {
                nsid = listener.AssignId(file);
            }

            // Our socket is in our own namespace, so it does not keep the other one alive: stopping its last process
            // kills it, and the kernel drops its id.
            ns.Delete();
            var idChanges = new List<NetnsIdChange>();
            DateTime deadline = DateTime.UtcNow + Deadline;
            while (!idChanges.Contains(new NetnsIdChange(false, nsid)) && DateTime.UtcNow < deadline)
            {
                listener.ReceiveNotifications([], idChanges);
            }

            Assert.Contains(new NetnsIdChange(false, nsid), idChanges);
            var readings = new List<LinkStatsReading>();
            try
            {
                listener.ReadTunStats(LinkTarget.Namespace(nsid), readings);
            }
            catch (NetlinkErrnoException error)
            {
                Assert.Empty(readings);
                Assert.Equal(Errno.EINVAL, error.Errno);
                return;
            }

            // The id named a namespace again: the kernel gives the lowest free id, and another test's namespace got it
            // in between. Then the kernel has said so too.
            int dropped = idChanges.IndexOf(new NetnsIdChange(false, nsid));
            deadline = DateTime.UtcNow + Deadline;
            while (!idChanges.Skip(dropped).Contains(new NetnsIdChange(true, nsid)) && DateTime.UtcNow < deadline)
            {
                listener.ReceiveNotifications([], idChanges);
            }

            Assert.Contains(new NetnsIdChange(true, nsid), idChanges.Skip(dropped));
        }
        finally
        {
            ns.Dispose();
        }
    }

    private static void CaptureFixtures(RouteSocket socket, int nsid, SafeFileHandle file)
    {
        Span<byte> request = stackalloc byte[Math.Max(RtmNsidRequest.MaxSize, RtmGetLinkRequest.MaxSize)];
        byte[] getNsid = socket.CaptureReply(request[..RtmNsidRequest.WriteGetByFd(request, socket.Socket.NextSequence(), (int)file.DangerousGetHandle())]);
        Assert.Equal(nsid, RtmNsidMessage.Decode(getNsid.AsSpan(NetlinkHeader.Size, (int)NetlinkHeader.Read(getNsid).Length - NetlinkHeader.Size)).Nsid);
        byte[] dump = socket.CaptureReply(request[..RtmGetLinkRequest.WriteDump(request, socket.Socket.NextSequence(), LinkTarget.Namespace(nsid), tunOnly: true)]);
        Save("rtm_newnsid_reply_k6.18.bin", getNsid);
        Save("rtm_newlink_target_dump_tun_drops_k6.18.bin", dump);
    }

    // The RTM_DELLINK that reports the move, as it came with its NETLINK_LISTEN_ALL_NSID control message.
    private static void CaptureMoveNotification(RouteSocket capture, int fromId)
    {
        DateTime deadline = DateTime.UtcNow + Deadline;
        while (DateTime.UtcNow < deadline)
        {
            (byte[] datagram, byte[] control) = capture.CaptureNotification();
            NetlinkHeader header = NetlinkHeader.Read(datagram);
            if (header.Type == 17 && NetlinkNsidControlMessage.TryReadNsid(control, out int nsid) && nsid == fromId)
            {
                Save("rtm_dellink_moved_netns_k6.18.bin", datagram);
                Save("rtm_dellink_moved_netns_cmsg_k6.18.bin", control);
                return;
            }
        }

        Assert.Fail("no RTM_DELLINK from the namespace the device left within 30 s");
    }

    internal static void Save(string name, byte[] bytes)
    {
        string? directory = Environment.GetEnvironmentVariable("TUNTELEMETRY_CAPTURE_DIR");
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
            File.WriteAllBytes(Path.Combine(directory, name), bytes);
        }
    }
}
