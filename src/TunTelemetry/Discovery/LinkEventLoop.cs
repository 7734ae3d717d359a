using TunTelemetry.Hosting;
using TunTelemetry.Netlink;

namespace TunTelemetry.Discovery;

/// <summary>What a <see cref="LinkEventLoop"/> tells its owner: on the loop's thread, in the kernel's order.</summary>
internal interface ILinkEventSink
{
    /// <summary>
    /// A socket is listening: the first, or one opened after a failure (<paramref name="again"/>: events may have been
    /// missed meanwhile). A throw counts as the socket's failure.
    /// </summary>
    void Opened(RouteSocket socket, bool again);

    /// <summary>The notifications of one datagram (<see cref="NamespacedLinkChange.Nsid"/> null: the agent's own namespace).</summary>
    void Heard(RouteSocket socket, List<NamespacedLinkChange> links, List<NetnsIdChange> ids);

    /// <summary>The kernel overran the socket's buffer (<c>ENOBUFS</c>): notifications were lost, and only a full read tells what changed.</summary>
    void Overrun(RouteSocket socket);

    /// <summary>The socket failed; another is opened after <paramref name="retryIn"/> (<c>tuntelemetry.backoff</c>).</summary>
    void Failed(Exception error, TimeSpan retryIn);
}

/// <summary>
/// The one loop that hears the kernel's link and namespace-id notifications, for the agent's own namespace
/// (<see cref="TunLinkEvents"/>) and for every other (<see cref="NamespaceLinkListener"/>): on a thread of its own that
/// sleeps in <c>poll(2)</c> until the kernel speaks or the loop is stopped, it opens a socket, hands each datagram to its
/// sink through the one decoder (<see cref="RouteSocket.ReceiveNotifications"/>), says when the kernel overran it, and
/// opens another after <c>tuntelemetry.backoff</c>'s delay when it fails.
/// </summary>
/// <remarks>
/// Nothing escapes the thread, where an exception would end the process: any failure (netlink, or a pattern that timed
/// out on a hostile name in the sink) is the socket's, reported and retried.
/// </remarks>
internal sealed class LinkEventLoop : IDisposable
{
    private readonly string _threadName;
    private readonly Func<RouteSocket> _openSocket;
    private readonly BackoffSettings _backoff;
    private readonly ILinkEventSink _sink;
    private readonly CancellationTokenSource _stop = new();
    private readonly WakeupEvent _wakeup = new();
    private Thread? _thread;

    public LinkEventLoop(string threadName, Func<RouteSocket> openSocket, BackoffSettings backoff, ILinkEventSink sink)
    {
        _threadName = threadName;
        _openSocket = openSocket;
        _backoff = backoff;
        _sink = sink;
        _stop.Token.Register(_wakeup.Set);
    }

    /// <summary>Cancelled when the loop stops: for a sink that blocks (a full channel), so it gives up then.</summary>
    public CancellationToken Stopping => _stop.Token;

    /// <summary>
    /// Starts listening on <paramref name="first"/> (opened by the caller, so that a refusal reached the caller), or on a
    /// socket the loop opens itself, failures and all.
    /// </summary>
    public void Start(RouteSocket? first = null)
    {
        _thread = new Thread(() => Run(first)) { IsBackground = true, Name = _threadName };
        _thread.Start();
    }

    public void Dispose()
    {
        _stop.Cancel();
        _thread?.Join();
        _wakeup.Dispose();
        _stop.Dispose();
    }

    private void Run(RouteSocket? socket)
    {
        int failures = 0; // in a row: a socket that opens and is taken by the sink resets it
        bool again = false;
        var links = new List<NamespacedLinkChange>();
        var ids = new List<NetnsIdChange>();
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                socket ??= _openSocket();
                _sink.Opened(socket, again);
                again = true;
                failures = 0;
                while (socket.WaitReadable(_wakeup))
                {
                    links.Clear();
                    ids.Clear();
                    try
                    {
                        if (!socket.ReceiveNotifications(links, ids))
                        {
                            continue;
                        }
                    }
                    catch (NetlinkSocketException e) when (e.IsOverrun)
                    {
                        _sink.Overrun(socket);
                        continue;
                    }

                    _sink.Heard(socket, links, ids);
                }
            }
            catch (Exception e) when (!_stop.IsCancellationRequested)
            {
                socket?.Dispose();
                socket = null;
                TimeSpan retryIn = _backoff.DelayBefore(failures++, Random.Shared.NextDouble());
                try
                {
                    _sink.Failed(e, retryIn);
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    break;
                }

                _stop.Token.WaitHandle.WaitOne(retryIn);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                break; // a sink that gave up because the loop stops
            }
        }

        socket?.Dispose();
    }
}
