using System.Net.Sockets;
using System.Text;

namespace TunTelemetry.Agent.Os;

/// <summary>
/// Sets the status line <c>systemctl status</c> shows (sd_notify(3) <c>STATUS=</c>): one datagram to the socket
/// systemd names in <c>NOTIFY_SOCKET</c>, a path or, with a leading <c>@</c>, an abstract name. Without that variable
/// (not under systemd) it does nothing. The host's own notifier sends only READY and STOPPING.
/// </summary>
internal sealed class SystemdStatus : IDisposable
{
    private readonly Socket? _socket;
    private readonly UnixDomainSocketEndPoint? _target;
    private readonly object _gate = new();

    public SystemdStatus(string? notifySocket)
    {
        if (string.IsNullOrEmpty(notifySocket))
        {
            return;
        }

        _target = new UnixDomainSocketEndPoint(notifySocket[0] == '@' ? "\0" + notifySocket[1..] : notifySocket);
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    }

    public static SystemdStatus FromEnvironment() => new(Environment.GetEnvironmentVariable("NOTIFY_SOCKET"));

    public bool IsEnabled => _socket is not null;

    /// <summary>Sends <c>STATUS=</c><paramref name="status"/> (one line: line breaks become spaces); false when it could not.</summary>
    public bool Set(string status)
    {
        if (_socket is null || _target is null)
        {
            return false;
        }

        byte[] datagram = Encoding.UTF8.GetBytes("STATUS=" + status.ReplaceLineEndings(" "));
        lock (_gate)
        {
            try
            {
                _socket.SendTo(datagram, _target);
                return true;
            }
            catch (SocketException)
            {
                return false; // systemd gone or the socket not ours to write: the status line is a courtesy, never a failure
            }
        }
    }

    public void Dispose() => _socket?.Dispose();
}
