using TunTelemetry.Discovery;
using Xunit;

namespace TunTelemetry.Tests.Discovery;

/// <summary>How a namespace is named: its ip netns name, else its container's id, else pid:LOWEST.</summary>
public sealed class NamespaceNamingTests
{
    private const string Id = "4f3c2b1a09e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29180f7e6d5c4b3a29180";
    private static readonly NetworkNamespaceId SomeId = new(4, 4026532000);

    // Each line as the runtime writes it into /proc/PID/cgroup (cgroup v1 hierarchy lines, or the v2 "0::" line).
    [Theory]
    [InlineData("12:pids:/docker/" + Id + "\n0::/\n")] // Docker, cgroupfs driver, v1
    [InlineData("0::/system.slice/docker-" + Id + ".scope\n")] // Docker, systemd driver, v2
    [InlineData("0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0a1b2c3d_4e5f_6789_abcd_ef0123456789.slice/cri-containerd-" + Id + ".scope\n")]
    [InlineData("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod11111111_2222_3333_4444_555555555555.slice/crio-" + Id + ".scope\n")]
    [InlineData("0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + Id + ".scope/container\n")] // rootless Podman
    [InlineData("4:memory:/kubepods/burstable/pod0a1b2c3d-4e5f-6789-abcd-ef0123456789/" + Id + "\n")] // kubelet cgroupfs driver
    public void Finds_the_container_id_in_the_cgroup_paths_runtimes_write(string cgroup)
    {
        Assert.Equal(Id, NamespaceNaming.ContainerIdFromCgroup(cgroup));
    }

    [Theory]
    [InlineData("0::/\n")]
    [InlineData("0::/system.slice/ssh.service\n")]
    [InlineData("4:memory:/process_api/ca3388f22f53804ec91eae7b674ec62e\n")] // 32 hex digits: not a container id
    [InlineData("0::/docker-" + Id + "0.scope\n")] // 65 hex digits
    [InlineData("")]
    public void Finds_no_container_id_where_there_is_none(string cgroup)
    {
        Assert.Null(NamespaceNaming.ContainerIdFromCgroup(cgroup));
    }

    [Fact]
    public void An_ip_netns_name_wins_over_a_container_and_a_pid()
    {
        var ns = new DiscoveredNamespace(SomeId, ["/run/netns/vpn", "/var/run/docker/netns/abc"], 42, 1);
        Assert.Equal("vpn", NamespaceNaming.NameOf(ns, _ => "0::/docker-" + Id + ".scope"));
    }

    [Fact]
    public void A_container_id_wins_over_a_pid_and_a_pid_is_the_last_resort()
    {
        var ns = new DiscoveredNamespace(SomeId, [], 42, 3);
        Assert.Equal(Id, NamespaceNaming.NameOf(ns, pid => pid == 42 ? "0::/docker-" + Id + ".scope" : null));
        Assert.Equal("pid:42", NamespaceNaming.NameOf(ns, _ => "0::/\n"));
        Assert.Equal("pid:42", NamespaceNaming.NameOf(ns, _ => null)); // the process left before its cgroup was read
    }

    [Fact]
    public void A_namespace_held_only_by_a_docker_bind_mount_is_named_by_its_file()
    {
        var ns = new DiscoveredNamespace(SomeId, ["/var/run/docker/netns/1a2b3c4d5e6f"], null, 0);
        Assert.Equal("1a2b3c4d5e6f", NamespaceNaming.NameOf(ns, _ => null));
        Assert.Equal("/var/run/docker/netns/1a2b3c4d5e6f", ns.OpenPath);
        Assert.Equal("/proc/42/ns/net", (ns with { BindMounts = [], LowestPid = 42 }).OpenPath);
    }
}
