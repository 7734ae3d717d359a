using Akka.Configuration;
using Akka.Dispatch;

namespace TunTelemetry.Dispatch;

/// <summary>
/// Lets a dispatcher use <see cref="QuietThreadsExecutor"/>:
/// <c>executor = "TunTelemetry.Dispatch.QuietThreadsExecutorConfigurator, TunTelemetry"</c>, with
/// <c>quiet-threads.thread-count</c> (default 2).
/// </summary>
internal sealed class QuietThreadsExecutorConfigurator(Config config, IDispatcherPrerequisites prerequisites)
    : ExecutorServiceConfigurator(config, prerequisites)
{
    public override ExecutorService Produce(string id) =>
        new QuietThreadsExecutor(id, Config.GetInt("quiet-threads.thread-count", 2));
}
