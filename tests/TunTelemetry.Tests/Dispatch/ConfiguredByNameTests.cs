using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit2;
using TunTelemetry.Dispatch;
using TunTelemetry.Hosting;
using Xunit;

namespace TunTelemetry.Tests.Dispatch;

/// <summary>
/// hocon.conf and the library's own HOCON name the executor, the mailbox and the scheduler by type, and Akka creates
/// them by reflection: internal types, as they are since the 1.0 surface, load through their public constructors.
/// </summary>
public sealed class ConfiguredByNameTests() : TestKit(ConfigurationFactory.ParseString(NetlinkDispatcher.Hocon)
    .WithFallback(ConfigurationFactory.ParseString(ControlDispatcher.Hocon))
    .WithFallback(ConfigurationFactory.ParseString(TunTelemetryOptions.Default.SchedulerHocon)))
{
    [Fact]
    public void The_internal_executor_mailbox_and_scheduler_named_in_hocon_run_actors()
    {
        Assert.IsType<QuietTickScheduler>(Sys.Scheduler);

        Sys.ActorOf(Props.Create(() => new Echo()).WithDispatcher(NetlinkDispatcher.Id)).Tell("where");
        (string thread, Type queue) = ExpectMsg<(string, Type)>();
        Assert.StartsWith(NetlinkDispatcher.Id, thread, StringComparison.Ordinal); // a QuietThreadsExecutor thread
        Assert.Equal(typeof(CompactMessageQueue), queue); // CompactMailbox's

        Sys.ActorOf(Props.Create(() => new Echo()).WithDispatcher(ControlDispatcher.Id)).Tell("where");
        Assert.StartsWith(ControlDispatcher.Id, ExpectMsg<(string, Type)>().Item1, StringComparison.Ordinal);
    }

    private sealed class Echo : ReceiveActor
    {
        public Echo() => Receive<string>(_ => Sender.Tell(
            (Thread.CurrentThread.Name ?? "", ((ActorCell)Context).Mailbox!.MessageQueue.GetType())));
    }
}
