namespace TunTelemetry.Supervision;

/// <summary>What to log for one failure: a line or nothing, and what earlier lines were held back.</summary>
/// <param name="Write">Write a line for this failure.</param>
/// <param name="NotWrittenBefore">
/// Failures of the same key since its last line that got no line of their own (to be named in this one).
/// </param>
/// <param name="HeldBackFailures">
/// Failures of any key that the overall budget kept from the log in the window that has just ended (to be named in one
/// summary line before this one).
/// </param>
/// <param name="HeldBackKeys">How many keys those held-back failures came from.</param>
internal readonly record struct FailureLogDecision(bool Write, int NotWrittenBefore, int HeldBackFailures, int HeldBackKeys);

/// <summary>
/// Keeps repeated failures from flooding the log: at most one line per key (a device's actor) per window, and at most
/// <c>linesPerWindow</c> lines per window overall, so 10,000 failing devices cost a journal a few lines a minute, not
/// 10,000. Nothing is lost without a trace: a key's next line counts the failures it did not log, and a window whose
/// budget ran out ends with one summary line. Every failure is still counted in the metrics.
/// </summary>
internal sealed class FailureLogLimiter<TKey>(TimeSpan window, int linesPerWindow)
    where TKey : notnull
{
    private readonly Dictionary<TKey, KeyState> _keys = [];
    private readonly HashSet<TKey> _heldBackKeys = [];
    private DateTimeOffset _windowStart = DateTimeOffset.MinValue;
    private int _linesInWindow;
    private int _heldBack;

    public static FailureLogLimiter<TKey> PerMinute(int linesPerMinute) => new(TimeSpan.FromMinutes(1), linesPerMinute);

    /// <summary>Keys with a line or a held-back failure on record (what <see cref="Forget"/> frees).</summary>
    public int Tracked => _keys.Count;

    public FailureLogDecision Failed(TKey key, DateTimeOffset now)
    {
        int heldBack = 0, heldBackKeys = 0;
        if (now - _windowStart >= window)
        {
            heldBack = _heldBack;
            heldBackKeys = _heldBackKeys.Count;
            _windowStart = now;
            _linesInWindow = 0;
            _heldBack = 0;
            _heldBackKeys.Clear();
        }

        if (!_keys.TryGetValue(key, out KeyState? state))
        {
            state = new KeyState { LastWritten = DateTimeOffset.MinValue };
            _keys[key] = state;
        }

        bool due = now - state.LastWritten >= window;
        if (due && _linesInWindow < linesPerWindow)
        {
            int notWritten = state.NotWritten;
            state.NotWritten = 0;
            state.LastWritten = now;
            _linesInWindow++;
            return new FailureLogDecision(true, notWritten, heldBack, heldBackKeys);
        }

        state.NotWritten++;
        if (due)
        {
            _heldBack++;
            _heldBackKeys.Add(key);
        }

        return new FailureLogDecision(false, 0, heldBack, heldBackKeys);
    }

    /// <summary>The key's actor is gone for good: free what is kept for it.</summary>
    public void Forget(TKey key) => _keys.Remove(key);

    private sealed class KeyState
    {
        public DateTimeOffset LastWritten { get; set; }

        public int NotWritten { get; set; }
    }
}
