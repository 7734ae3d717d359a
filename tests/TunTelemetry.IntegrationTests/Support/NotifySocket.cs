using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;

namespace TunTelemetry.IntegrationTests.Support;

/// <summary>
/// What systemd listens on for sd_notify(3): a Unix datagram socket at a path of the test's own (pass it to the agent as
/// <c>NOTIFY_SOCKET</c>). Keeps every datagram received.
/// </summary>
public sealed class NotifySocket : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    private readonly ConcurrentQueue<string> _messages = new();
    private readonly Thread _reader;

    public NotifySocket()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"tt-notify-{Guid.NewGuid():N}.sock");
        _socket.Bind(new UnixDomainSocketEndPoint(Path));
        _reader = new Thread(Read) { IsBackground = true, Name = "notify socket" };
        _reader.Start();
    }

    public string Path { get; }

    public IReadOnlyList<string> Messages => _messages.ToArray();

    /// <summary>Waits until a datagram satisfies <paramref name="match"/>; returns it.</summary>
    public async Task<string> WaitForAsync(Func<string, bool> match, TimeSpan timeout, string what)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_messages.FirstOrDefault(match) is { } found)
            {
                return found;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"no sd_notify datagram {what} within {timeout}; received: {string.Join(" | ", _messages)}");
            }

            await Task.Delay(50).ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        _socket.Dispose();
        File.Delete(Path);
    }

    private void Read()
    {
        byte[] buffer = new byte[4096];
        try
        {
            while (true)
            {
                int length = _socket.Receive(buffer);
                _messages.Enqueue(Encoding.UTF8.GetString(buffer, 0, length));
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // disposed: the test is over
        }
    }
}
