using System.Diagnostics;
using System.Text.RegularExpressions;
using TunTelemetry.IntegrationTests.Support;
using Xunit;
using Xunit.Abstractions;

namespace TunTelemetry.IntegrationTests.Netns;

/// <summary>
/// The real agent with <c>--all-namespaces</c> when a watched namespace dies and the kernel gives its nsfs inode (what
/// the agent knows namespaces by) to a new namespace before any scan of the agent's saw the inode free: as on a host
/// with much namespace churn (two test suites at once), where the kernel hands a freed inode to the next namespace made.
/// The agent is paused meanwhile (SIGSTOP), so the death and the reuse reach it together when it runs again.
/// </summary>
public sealed class NamespaceInodeReuseAgentTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [NetAdminFact]
    public async Task A_named_namespace_given_the_inode_of_a_dead_one_is_watched_and_the_dead_one_is_gone()
    {
        using TestNetworkNamespace dead = TestNetworkNamespace.CreateNamed();
        TestNetworkNamespace? reborn = null;
        using AgentProcess agent = StartAgent();
        try
        {
            await agent.WaitForOutputAsync($"Watching network namespace {dead.Name} ", Patience);
            ulong inode = dead.Inode;

            agent.Pause();
            dead.Delete();
            reborn = CreateWithInode(inode, () => TestNetworkNamespace.CreateNamed());
            agent.Resume();

            await agent.WaitForOutputAsync($"Watching network namespace {reborn.Name} ", Patience);
            await agent.WaitForAsync(a => WatcherSaidGone(a, dead.Name!, inode), Patience, $"the watcher saying that {dead.Name} is gone");
            Assert.False(agent.HasExited, agent.Output);
            Assert.Equal(0, agent.Terminate(Patience));
        }
        finally
        {
            output.WriteLine(agent.Output);
            reborn?.Dispose();
        }
    }

    [NetAdminFact]
    public async Task A_namespace_held_by_a_process_and_given_the_inode_of_a_dead_one_is_watched_and_the_dead_one_is_gone()
    {
        // No bind mount to tell the two apart: only the dead namespace's poller, which hears the kernel drop its id, knows.
        using TestNetworkNamespace dead = TestNetworkNamespace.CreateUnnamed();
        string deadName = $"pid:{dead.HolderPid}";
        TestNetworkNamespace? reborn = null;
        using AgentProcess agent = StartAgent();
        try
        {
            await agent.WaitForOutputAsync($"Watching network namespace {deadName} ", Patience);
            ulong inode = dead.Inode;

            agent.Pause();
            dead.Delete();
            reborn = CreateWithInode(inode, TestNetworkNamespace.CreateUnnamed);
            agent.Resume();

            await agent.WaitForOutputAsync($"Watching network namespace pid:{reborn.HolderPid} ", Patience);
            await agent.WaitForAsync(a => WatcherSaidGone(a, deadName, inode), Patience, $"the watcher saying that {deadName} is gone");
            Assert.False(agent.HasExited, agent.Output);
            Assert.Equal(0, agent.Terminate(Patience));
        }
        finally
        {
            output.WriteLine(agent.Output);
            reborn?.Dispose();
        }
    }

    // Namespaces only: no device of this name exists, so the output holds no other test's devices.
    private static AgentProcess StartAgent() =>
        AgentProcess.Start(new Dictionary<string, string>(), "run", "--no-console", "--all-namespaces", "--poll-interval", "10m", "--include", "^none-wanted$");

    /// <summary>
    /// A new namespace with that inode: the kernel gives the lowest free one, so the first namespace made once the dead
    /// one's is freed (its cleanup runs a moment after its last reference went) most often gets it. Another namespace
    /// made on the host meanwhile may take it: then, after the patience, one with another inode (still to be watched).
    /// </summary>
    private TestNetworkNamespace CreateWithInode(ulong inode, Func<TestNetworkNamespace> create)
    {
        var waited = Stopwatch.StartNew();
        for (int tries = 1; ; tries++)
        {
            TestNetworkNamespace ns = create();
            if (ns.Inode == inode || waited.Elapsed > Patience)
            {
                output.WriteLine($"new namespace netns:[{ns.Inode}] after {tries} tries, the dead one's was netns:[{inode}]");
                return ns;
            }

            ns.Dispose();
            Thread.Sleep(20);
        }
    }

    /// <summary>Whether the namespace watcher (not only the dead namespace's poller) said that namespace is gone.</summary>
    private static bool WatcherSaidGone(AgentProcess agent, string name, ulong inode) =>
        Regex.IsMatch(agent.Output, $@"NamespacesActor.* Network namespace {Regex.Escape(name)} \(netns:\[{inode}\]\) is gone$", RegexOptions.Multiline);
}
