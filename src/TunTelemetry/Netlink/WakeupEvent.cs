using System.Runtime.InteropServices;

namespace TunTelemetry.Netlink;

/// <summary>
/// An <c>eventfd</c> that <see cref="RouteSocket.WaitReadable"/> waits on beside the socket, so another thread can
/// end a wait for notifications at once. Without it the waiting thread would have to wake on a timeout to look for a
/// stop request: twice a second for the life of the agent, for nothing.
/// </summary>
internal sealed unsafe class WakeupEvent : IDisposable
{
    // The same descriptor owner as the sockets': never closed while Set or a poll on another thread still uses it.
    private readonly SafeNetlinkHandle _handle;

    public WakeupEvent()
    {
        // Non-blocking: a write to a full counter then fails instead of blocking Set, and a full counter is still "set".
        int fd = LibC.EventFd(0, LibC.EFD_CLOEXEC | LibC.EFD_NONBLOCK);
        if (fd < 0)
        {
            throw new NetlinkSocketException("eventfd", Marshal.GetLastPInvokeError());
        }

        _handle = new SafeNetlinkHandle(fd);
    }

    internal SafeNetlinkHandle Handle => _handle;

    /// <summary>Ends every current and later wait on this event. Safe from any thread, also after <see cref="Dispose"/>.</summary>
    public void Set()
    {
        bool added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            ulong one = 1;
            _ = LibC.Write(_handle, &one, sizeof(ulong)); // fails only when the counter is full, which is still "set"
        }
        catch (ObjectDisposedException)
        {
            // Already disposed: nobody is waiting any more.
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
    }

    public void Dispose() => _handle.Dispose();
}
