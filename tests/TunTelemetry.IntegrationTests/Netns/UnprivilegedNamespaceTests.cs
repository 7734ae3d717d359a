using System.Collections.Concurrent;
using Microsoft.Win32.SafeHandles;
using TunTelemetry.Discovery;
using TunTelemetry.IntegrationTests.Support;
using TunTelemetry.Netlink;
using Xunit;

namespace TunTelemetry.IntegrationTests.Netns;

/// <summary>
/// What an agent without privilege meets: run as nobody with no capability (see <see cref="UnprivilegedThread"/>), in
/// namespaces made as root. It is refused clearly, and discovery goes on with what it may see.
/// </summary>
public sealed class UnprivilegedNamespaceTests
{
    [NetAdminFact]
    public void Without_CAP_NET_ADMIN_giving_a_namespace_an_id_is_refused_with_EPERM()
    {
        using TestNetworkNamespace ns = TestNetworkNamespace.CreateNamed();
        // Given an id first, as root: the same state whether or not an agent elsewhere on the host already did.
        using (RouteSocket root = RouteSocket.Open())
        using (SafeFileHandle file = File.OpenHandle(ns.Path))
        {
            _ = root.AssignId(file);
        }

        NetlinkErrnoException? refused = null;
        UnprivilegedThread.Run(() =>
        {
            using RouteSocket socket = RouteSocket.Open();
            using SafeFileHandle file = File.OpenHandle(ns.Path); // /run/netns files open for anyone
            // The request itself, not AssignId, which only reads an id the namespace has: the kernel checks
            // CAP_NET_ADMIN before it looks at the namespace.
            refused = Assert.Throws<NetlinkErrnoException>(() => socket.RequestNewId(file));
        });

        Assert.NotNull(refused);
        Assert.Equal(Errno.EPERM, refused.Errno);
        Assert.Equal("RTM_NEWNSID", refused.Operation);
    }

    [NetAdminFact]
    public void Without_CAP_NET_BROADCAST_listening_to_every_namespace_is_refused_with_EPERM()
    {
        NetlinkSocketException? refused = null;
        UnprivilegedThread.Run(() => refused = Assert.Throws<NetlinkSocketException>(() =>
            RouteSocket.Open(new NetlinkSocketOptions { Groups = NetlinkRouteGroups.Link, ListenAllNamespaces = true })));

        Assert.NotNull(refused);
        Assert.Equal(Errno.EPERM, refused.Errno);
        Assert.Contains("NETLINK_LISTEN_ALL_NSID", refused.Message, StringComparison.Ordinal);
    }

    [NetAdminFact]
    public void Without_CAP_NET_BROADCAST_the_fallback_socket_still_hears_a_dead_namespace_s_id_dropped()
    {
        TestNetworkNamespace ns = TestNetworkNamespace.CreateNamed();
        try
        {
            using RouteSocket ids = RouteSocket.Open();
            int nsid;
            using (SafeFileHandle file = File.OpenHandle(ns.Path))
            {
                nsid = ids.AssignId(file);
            }

            // Opened and bound as nobody: joining RTNLGRP_NSID needs no capability, and the socket keeps what it joined.
            RouteSocket? listener = null;
            UnprivilegedThread.Run(() => listener = NamespaceLinkListener.OpenIdEventsOnly());
            using RouteSocket opened = listener!;

            ns.Delete();
            var idChanges = new List<NetnsIdChange>();
            DateTime deadline = DateTime.UtcNow.AddSeconds(30);
            while (!idChanges.Contains(new NetnsIdChange(false, nsid)) && DateTime.UtcNow < deadline)
            {
                opened.ReceiveNotifications([], idChanges);
            }

            Assert.Contains(new NetnsIdChange(false, nsid), idChanges);
        }
        finally
        {
            ns.Dispose();
        }
    }

    [NetAdminFact]
    public void Without_CAP_SYS_PTRACE_the_watcher_says_so_in_one_line_and_still_finds_bind_mounted_namespaces()
    {
        using TestNetworkNamespace named = TestNetworkNamespace.CreateNamed();
        using TestNetworkNamespace unnamed = TestNetworkNamespace.CreateUnnamed(); // held by a root process only
        var changes = new ConcurrentQueue<NamespaceChange>();
        var warnings = new ConcurrentQueue<string>();
        NamespaceFinder? watcher = null;
        try
        {
            // Started unprivileged, so its thread is unprivileged too; the first scan reports before Start returns.
            UnprivilegedThread.Run(() =>
            {
                watcher = new NamespaceFinder(new NamespaceScanner(NamespaceScanner.DefaultDirectories), TimeSpan.FromSeconds(1),
                    changes.Enqueue, warnings.Enqueue);
                watcher.Start();
            });

            Assert.Contains(changes, c => c.Kind == NamespaceChangeKind.Appeared && c.Namespace.Id.Inode == named.Inode && c.Name == named.Name);
            Assert.DoesNotContain(changes, c => c.Namespace.Id.Inode == unnamed.Inode);
            string line = Assert.Single(warnings);
            Assert.StartsWith("cannot see the network namespaces of ", line, StringComparison.Ordinal);
            Assert.Contains("needs CAP_SYS_PTRACE", line, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', line);
        }
        finally
        {
            watcher?.Dispose();
        }
    }
}
