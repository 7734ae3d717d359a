using System.Diagnostics;
using k8s;
using k8s.Models;
using Xunit;

namespace TunTelemetry.Tests.Deployment;

/// <summary>
/// The files that deploy the agent for every network namespace grant the same two capabilities, and only those
/// (docs/design.md, "Other network namespaces"): the Kubernetes manifest checked offline against the Kubernetes object
/// schema (the KubernetesClient models, strict: an unknown or misspelt field fails), the systemd drop-in, and the
/// compose file's commented switch, uncommented and checked by Debian's docker-compose.
/// </summary>
public sealed class DeploymentFilesTests
{
    private static readonly string[] Capabilities = ["NET_ADMIN", "NET_BROADCAST"];

    private static readonly string Root = FindRepositoryRoot();

    private static string ManifestPath => Path.Combine(Root, "config", "kubernetes", "tuntelemetry-daemonset.yaml");

    [Fact]
    public void The_daemonset_manifest_is_valid_kubernetes_and_grants_exactly_the_namespace_capabilities()
    {
        List<object> objects = KubernetesYaml.LoadAllFromString(File.ReadAllText(ManifestPath), strict: true);
        Assert.Equal("tuntelemetry", Assert.IsType<V1Namespace>(objects[0]).Metadata.Name);
        V1DaemonSet daemonSet = Assert.IsType<V1DaemonSet>(objects[1]);
        Assert.Equal(2, objects.Count);

        V1PodSpec pod = daemonSet.Spec.Template.Spec;
        Assert.Equal(daemonSet.Spec.Selector.MatchLabels, daemonSet.Spec.Template.Metadata.Labels);
        Assert.True(pod.HostNetwork);
        Assert.True(pod.HostPID);
        Assert.Equal("ClusterFirstWithHostNet", pod.DnsPolicy); // else a host-network pod cannot resolve the Service

        V1Container agent = Assert.Single(pod.Containers);
        Assert.Contains("--all-namespaces", agent.Args);
        V1SecurityContext security = agent.SecurityContext;
        Assert.Equal(Capabilities, security.Capabilities.Add.Order());
        Assert.Equal(["ALL"], security.Capabilities.Drop);
        Assert.False(security.Privileged);
        Assert.False(security.AllowPrivilegeEscalation);
        Assert.True(security.ReadOnlyRootFilesystem);

        V1VolumeMount netns = Assert.Single(agent.VolumeMounts, m => m.MountPath == "/run/netns");
        Assert.True(netns.ReadOnlyProperty);
        Assert.Equal("HostToContainer", netns.MountPropagation); // namespaces made later appear in the pod
        Assert.Equal("/run/netns", Assert.Single(pod.Volumes, v => v.Name == netns.Name).HostPath.Path);
        Assert.All(agent.VolumeMounts, m => Assert.Contains(pod.Volumes, v => v.Name == m.Name));

        var endpoint = new Uri(Assert.Single(agent.Env, e => e.Name == "OTEL_EXPORTER_OTLP_ENDPOINT").Value);
        Assert.EndsWith(".svc.cluster.local", endpoint.Host, StringComparison.Ordinal);
    }

    [Fact]
    public void A_misspelt_field_fails_the_manifest_check()
    {
        string misspelt = File.ReadAllText(ManifestPath).Replace("hostPID: true", "hostPid: true", StringComparison.Ordinal);
        Assert.NotEqual(File.ReadAllText(ManifestPath), misspelt);
        Assert.ThrowsAny<Exception>(() => KubernetesYaml.LoadAllFromString(misspelt, strict: true));
    }

    [Fact]
    public void The_systemd_drop_in_runs_all_namespaces_with_exactly_the_namespace_capabilities()
    {
        string[] lines = File.ReadAllLines(Path.Combine(Root, "config", "tuntelemetry-all-namespaces.conf"))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .ToArray();
        string[] Values(string key) => lines.Where(l => l.StartsWith(key + "=", StringComparison.Ordinal)).Select(l => l[(key.Length + 1)..]).ToArray();

        string[] expected = Capabilities.Select(c => "CAP_" + c).ToArray();
        Assert.Equal(expected, Assert.Single(Values("CapabilityBoundingSet")).Split(' ').Order());
        Assert.Equal(expected, Assert.Single(Values("AmbientCapabilities")).Split(' ').Order());
        string[] execStart = Values("ExecStart");
        Assert.Equal(2, execStart.Length);
        Assert.Equal(string.Empty, execStart[0]); // resets the unit's ExecStart before replacing it
        Assert.Contains(" run ", execStart[1], StringComparison.Ordinal);
        Assert.Contains(" --all-namespaces", execStart[1], StringComparison.Ordinal);
    }

    [Fact]
    public void The_compose_switch_uncommented_is_a_valid_compose_file_with_exactly_the_namespace_capabilities()
    {
        string original = Path.Combine(Root, "docker-compose.otel.yml");
        var lines = new List<string>();
        bool inside = false, sawSwitch = false;
        foreach (string line in File.ReadAllLines(original))
        {
            switch (line.Trim())
            {
                case "# >>> all namespaces":
                    inside = sawSwitch = true;
                    continue;
                case "# <<< all namespaces":
                    inside = false;
                    continue;
            }

            lines.Add(inside ? line.Replace("    # ", "    ", StringComparison.Ordinal) : line);
        }

        Assert.True(sawSwitch, "the compose file has no all-namespaces switch");
        // Beside the original, so its relative build context and config paths resolve the same way.
        string uncommented = Path.Combine(Root, $".compose-all-namespaces-{Guid.NewGuid():N}.yml");
        File.WriteAllLines(uncommented, lines);
        try
        {
            (int exitCode, string output, string error) = Run("docker-compose", "-f", uncommented, "config");
            Assert.True(exitCode == 0, error);
            string service = output[output.IndexOf("  tuntelemetry:", StringComparison.Ordinal)..];
            Assert.Contains("cap_add:\n    - NET_ADMIN\n    - NET_BROADCAST\n    cap_drop:\n    - ALL\n", service, StringComparison.Ordinal);
            Assert.Contains("pid: host", service, StringComparison.Ordinal);
            Assert.Contains("- /run/netns:/run/netns:ro,rslave", service, StringComparison.Ordinal);
            Assert.Contains("- --all-namespaces", service, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(uncommented);
        }

        Assert.Equal(0, Run("docker-compose", "-f", original, "config", "-q").ExitCode); // and commented, the default
    }

    private static (int ExitCode, string Output, string Error) Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(60_000), $"{program} did not finish within 60 s");
        return (process.ExitCode, output.Result, error.Result);
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "TunTelemetry.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("TunTelemetry.sln not found above " + AppContext.BaseDirectory);
    }
}
