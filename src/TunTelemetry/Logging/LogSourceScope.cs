using System.Collections;

namespace TunTelemetry.Logging;

/// <summary>
/// The scope an Akka log entry is written in: its log source under <see cref="ActorPathKey"/> when the source is an
/// actor's path (as for every actor's <c>Context.GetLogger()</c>), else under <see cref="LogSourceKey"/> (a logger made
/// with a name, like Akka's <c>EventStream</c>, whose source is the name and the system). One small object per entry, whose <see cref="ToString"/> reads well
/// in a console that shows scopes.
/// </summary>
internal sealed class LogSourceScope(string? source) : IReadOnlyList<KeyValuePair<string, object?>>
{
    public const string ActorPathKey = "ActorPath";
    public const string LogSourceKey = "LogSource";

    // An actor's path starts with its scheme ("akka://sys/user/a", "akka.tcp://sys@host:2552/user/a"); a named
    // logger's source is the name followed by the system ("EventStream (akka://sys)").
    private string Key => source is not null && source.IndexOf("://", StringComparison.Ordinal) is > 0 and int scheme
        && !source.AsSpan(0, scheme).Contains(' ') ? ActorPathKey : LogSourceKey;

    public int Count => 1;

    public KeyValuePair<string, object?> this[int index] =>
        index == 0 ? new(Key, source) : throw new ArgumentOutOfRangeException(nameof(index));

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        yield return this[0];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => $"{Key}:{source}";
}
