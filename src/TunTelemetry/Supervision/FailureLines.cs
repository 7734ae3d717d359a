using TunTelemetry.Devices;

namespace TunTelemetry.Supervision;

/// <summary>The words of a per-device actor's failure lines, as <see cref="FailureLogLimiter{TKey}"/> decided them.</summary>
internal static class FailureLines
{
    /// <summary>The summary of failures the overall budget kept from the log, if any, and this failure's line, if it gets one.</summary>
    public static (string? HeldBack, string? Line) For(FailureLogDecision decision, string kind, TunDevice device, TimeSpan delay, Exception failure)
    {
        string? heldBack = decision.HeldBackFailures > 0
            ? $"{decision.HeldBackFailures} more failures of {decision.HeldBackKeys} device actors were not logged in the last minute (see tuntelemetry.poll.failures)"
            : null;
        if (!decision.Write)
        {
            return (heldBack, null);
        }

        string earlier = decision.NotWrittenBefore > 0 ? $" ({decision.NotWrittenBefore} more since its last line)" : string.Empty;
        return (heldBack, $"{kind} for {device} failed{earlier}; retrying in {delay.TotalSeconds.ToString("0.0#", System.Globalization.CultureInfo.InvariantCulture)}s: {FailureCause.Describe(failure)}");
    }
}
