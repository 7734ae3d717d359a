using System.Runtime.InteropServices;

namespace TunTelemetry.Netlink;

/// <summary>
/// Waits, with <c>poll(2)</c> and no timeout, until a notification socket can be read or a <see cref="WakeupEvent"/> is
/// set: a thread that waits for notifications this way costs nothing while nothing happens. Shared by the sockets that
/// listen (<see cref="NetlinkRouteSocket"/> in our namespace, <see cref="NetnsRouteSocket"/> for every namespace).
/// </summary>
internal static unsafe class NetlinkReadiness
{
    /// <summary>True when a datagram (or an error such as an overrun's <c>ENOBUFS</c>) can be received; false when <paramref name="wakeup"/> was set.</summary>
    public static bool WaitReadable(SafeNetlinkHandle socket, WakeupEvent wakeup)
    {
        bool socketAdded = false;
        bool wakeupAdded = false;
        try
        {
            socket.DangerousAddRef(ref socketAdded);
            wakeup.Handle.DangerousAddRef(ref wakeupAdded);
            LibC.PollFd* fds = stackalloc LibC.PollFd[2];
            fds[0] = new LibC.PollFd { Fd = (int)socket.DangerousGetHandle(), Events = LibC.POLLIN };
            fds[1] = new LibC.PollFd { Fd = (int)wakeup.Handle.DangerousGetHandle(), Events = LibC.POLLIN };
            while (true)
            {
                int ready = LibC.Poll(fds, 2, -1);
                if (ready < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == Errno.EINTR)
                    {
                        continue;
                    }

                    throw new NetlinkSocketException("poll", errno);
                }

                // Stopping wins over pending data: the caller is about to close the socket anyway.
                if (fds[1].ReturnedEvents != 0)
                {
                    return false;
                }

                // POLLERR (e.g. ENOBUFS after an overrun) counts as readable: the next receive reports it.
                if (fds[0].ReturnedEvents != 0)
                {
                    return true;
                }
            }
        }
        finally
        {
            if (wakeupAdded)
            {
                wakeup.Handle.DangerousRelease();
            }

            if (socketAdded)
            {
                socket.DangerousRelease();
            }
        }
    }
}
