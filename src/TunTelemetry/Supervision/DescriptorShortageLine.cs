namespace TunTelemetry.Supervision;

/// <summary>
/// The words of the descriptor shortage's lines (<see cref="DescriptorShortage{TDevice}"/>): the limit in force, how
/// many devices are watched and how many are not, and what to do, in one line an operator can act on.
/// </summary>
internal static class DescriptorShortageLine
{
    /// <param name="report">How the shortage moved.</param>
    /// <param name="devices">Devices the supervisor holds, watched or waiting.</param>
    /// <param name="limit">The soft <c>RLIMIT_NOFILE</c> in force; null when unlimited or unknown.</param>
    /// <param name="reserve">Descriptors device sockets leave to the process.</param>
    /// <param name="actorKinds">The per-device actors started for each device, each holding one socket.</param>
    /// <param name="linkState">The link-state actor is one of them (turning it off halves the need).</param>
    /// <returns>The line, and whether it is a warning (the shortage began or grew) rather than news that it eased.</returns>
    public static (bool Warning, string Text) For(
        DescriptorShortageReport report, int devices, ulong? limit, int reserve, IReadOnlyList<string> actorKinds, bool linkState)
    {
        int watched = devices - report.Waiting;
        string limitText = limit is { } l ? $"{l}" : "unlimited or unknown";
        if (report.Ended)
        {
            return (false, $"File descriptors suffice again: all {watched} devices watched (RLIMIT_NOFILE {limitText})");
        }

        string raise = (limit is { } now
                ? $"raise LimitNOFILE= (systemd) or ulimit -n to at least {now + (ulong)report.WaitingActors}"
                : "raise LimitNOFILE= (systemd) or ulimit -n")
            + (linkState ? ", or set tuntelemetry.metrics.link-state = off to halve the need" : string.Empty);
        if (report.Began)
        {
            return (true, $"Out of file descriptors: {watched} devices watched, {report.Waiting} not watched (RLIMIT_NOFILE {limitText}, "
                + $"of which {reserve} are kept for the agent itself; each device takes one per actor: {string.Join(", ", actorKinds)}). "
                + $"To watch them all, {raise}. The devices not watched are retried as descriptors free up; "
                + "tuntelemetry.poll.failures counts each try (error.type=socket)");
        }

        string moved = $"Still out of file descriptors: {report.Waiting} devices not watched now (was {report.WasWaiting}), {watched} watched (RLIMIT_NOFILE {limitText})";
        return report.Waiting > report.WasWaiting ? (true, $"{moved}. To watch them all, {raise}") : (false, moved);
    }
}
