using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Akka.Hosting.Logging;
using Microsoft.Extensions.Logging;
using TunTelemetry.Logging;
using TunTelemetry.Tests.Support;
using Xunit;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace TunTelemetry.Tests.Logging;

public sealed class ActorClassLoggerSpecs : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly CapturingLoggerProvider _provider = new();
    private readonly ILoggerFactory _factory;
    private readonly ActorSystem _system;

    public ActorClassLoggerSpecs()
    {
        _factory = LoggerFactory.Create(b => b.AddProvider(_provider).SetMinimumLevel(LogLevel.Trace));
        Config config = ConfigurationFactory.ParseString(
            $"akka.loglevel = DEBUG\nakka.stdout-loglevel = OFF\nakka.loggers = [\"{typeof(ActorClassLogger).AssemblyQualifiedName}\"]");
        _system = ActorSystem.Create(
            "logging-spec", BootstrapSetup.Create().WithConfig(config).And(new LoggerFactorySetup(_factory)));
    }

    /// <summary>Logs what it is told to, the way every actor logs: through <c>Context.GetLogger()</c>.</summary>
    private sealed class Chatty : ReceiveActor
    {
        private readonly ILoggingAdapter _log = Context.GetLogger();

        public Chatty()
        {
            Receive<string>(device => _log.Warning("Polling {0} failed", device));
            Receive<InvalidOperationException>(e => _log.Error(e, "Gave up on {0}", "tun7"));
        }
    }

    [Fact]
    public async Task An_actors_warning_is_one_entry_under_its_class_with_the_message_alone_and_its_path_in_a_scope()
    {
        IActorRef chatty = _system.ActorOf(Props.Create<Chatty>(), "chatty");
        chatty.Tell("tun0");

        CapturedLogEntry entry = _provider.Next(e => e.Category.EndsWith(nameof(Chatty), StringComparison.Ordinal), Deadline);
        Assert.Equal("TunTelemetry.Tests.Logging.ActorClassLoggerSpecs.Chatty", entry.Category);
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.Equal("Polling tun0 failed", entry.Text);
        Assert.Null(entry.Exception);
        Assert.Equal(new KeyValuePair<string, object?>("ActorPath", chatty.Path.ToString()), Assert.Single(entry.Scopes));

        await _system.Terminate().WaitAsync(Deadline); // every event published so far has reached the logger
        Assert.DoesNotContain(_provider.Remaining(), e => e.Category.EndsWith(nameof(Chatty), StringComparison.Ordinal));
    }

    [Fact]
    public void An_error_passes_its_cause_as_the_exception_not_in_the_text()
    {
        IActorRef chatty = _system.ActorOf(Props.Create<Chatty>(), "chatty");
        var cause = new InvalidOperationException("socket closed");
        chatty.Tell(cause);

        CapturedLogEntry entry = _provider.Next(e => e.Category.EndsWith(nameof(Chatty), StringComparison.Ordinal), Deadline);
        Assert.Equal(LogLevel.Error, entry.Level);
        Assert.Equal("Gave up on tun7", entry.Text);
        Assert.Same(cause, entry.Exception);
    }

    [Fact]
    public void A_logger_made_with_a_name_keeps_it_as_the_log_source_not_as_an_actor_path()
    {
        Akka.Event.Logging.GetLogger(_system, "discovery").Info("Found {0} devices", 3);

        CapturedLogEntry entry = _provider.Next(e => e.Text == "Found 3 devices", Deadline);
        Assert.Equal(LogLevel.Information, entry.Level);
        Assert.Equal(new KeyValuePair<string, object?>("LogSource", "discovery (akka://logging-spec)"), Assert.Single(entry.Scopes));
    }

    [Fact]
    public void An_event_without_a_class_is_logged_under_its_source()
    {
        _system.EventStream.Publish(new Info("netlink", null, "plain text"));

        CapturedLogEntry entry = _provider.Next(e => e.Text == "plain text", Deadline);
        Assert.Equal("netlink", entry.Category);
    }

    public void Dispose()
    {
        _system.Terminate().Wait(Deadline);
        _factory.Dispose();
    }
}
