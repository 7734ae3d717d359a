using TunTelemetry.Netlink;

namespace TunTelemetry.Testing;

/// <summary>
/// Counters and faults for pollers under test: what a real socket cannot produce on demand (a send that fails on the
/// third poll, an open that fails twice). Every reader it opens is tracked, so tests can prove none leaks.
/// </summary>
internal sealed class FakeKernel
{
    private readonly object _gate = new();
    private readonly Dictionary<int, LinkStats64> _stats = [];
    private readonly Queue<Exception> _readFaults = new();
    private readonly Queue<Exception> _openFaults = new();
    private Func<int, Exception?>? _readFaultPlan;
    private int _open;
    private int? _maxOpenReaders;

    public int OpenReaders
    {
        get { lock (_gate) { return _open; } }
    }

    public int OpensAttempted { get; private set; }

    public int Reads { get; private set; }

    public void Set(int ifIndex, ulong txDropped, ulong rxPackets = 0, ulong txPackets = 0) =>
        Set(ifIndex, Readings.Stats(txDropped, rxPackets, txPackets));

    public void Set(int ifIndex, LinkStats64 stats)
    {
        lock (_gate) { _stats[ifIndex] = stats; }
    }

    /// <summary>The device exists, with zero counters, unless it has counters already (ifindexes repeat across namespaces).</summary>
    internal void Ensure(int ifIndex)
    {
        lock (_gate) { _stats.TryAdd(ifIndex, default); }
    }

    /// <summary>The device disappears: reads answer ENODEV.</summary>
    public void Remove(int ifIndex)
    {
        lock (_gate) { _stats.Remove(ifIndex); }
    }

    public void FailNextRead(Exception fault)
    {
        lock (_gate) { _readFaults.Enqueue(fault); }
    }

    /// <summary>
    /// Fails every read for which <paramref name="plan"/> (given the read's number, from 1) returns a fault, forever:
    /// intermittent faults such as one receive in five failing.
    /// </summary>
    public void FailReadsWhere(Func<int, Exception?> plan)
    {
        lock (_gate) { _readFaultPlan = plan; }
    }

    public void FailNextOpen(Exception fault)
    {
        lock (_gate) { _openFaults.Enqueue(fault); }
    }

    /// <summary>
    /// Lets at most <paramref name="max"/> readers be open at once (null: any number); an open beyond fails with
    /// <c>EMFILE</c>, as a real socket does once the process's descriptors (less the agent's reserve) are taken.
    /// </summary>
    public void LimitOpenReaders(int? max)
    {
        lock (_gate) { _maxOpenReaders = max; }
    }

    public ILinkStatsReader Open()
    {
        lock (_gate)
        {
            OpensAttempted++;
            if (_openFaults.TryDequeue(out Exception? fault))
            {
                throw fault;
            }

            if (_open >= _maxOpenReaders)
            {
                throw new NetlinkSocketException("socket", Errno.EMFILE);
            }

            _open++;
            return new Reader(this);
        }
    }

    public static NetlinkSocketException Timeout() => new("recv", Errno.EAGAIN);

    public static NetlinkSocketException SendFailure() => new("send", Errno.ENOBUFS);

    private sealed class Reader(FakeKernel kernel) : ILinkStatsReader
    {
        private bool _disposed;

        public LinkStats64 Read(int ifIndex)
        {
            lock (kernel._gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                kernel.Reads++;
                if (kernel._readFaults.TryDequeue(out Exception? fault) || (fault = kernel._readFaultPlan?.Invoke(kernel.Reads)) is not null)
                {
                    throw fault;
                }

                return kernel._stats.TryGetValue(ifIndex, out LinkStats64 stats)
                    ? stats
                    : throw new NetlinkDeviceGoneException(ifIndex);
            }
        }

        public void Dispose()
        {
            lock (kernel._gate)
            {
                if (!_disposed)
                {
                    _disposed = true;
                    kernel._open--;
                }
            }
        }
    }
}
