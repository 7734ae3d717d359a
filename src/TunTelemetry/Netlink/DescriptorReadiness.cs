using System.Runtime.InteropServices;

namespace TunTelemetry.Netlink;

/// <summary>What <see cref="DescriptorReadiness.Wait"/> saw first.</summary>
internal enum Readiness
{
    /// <summary>The descriptor can be read (or has an error, such as an overrun's <c>ENOBUFS</c>, to report).</summary>
    Readable,

    /// <summary>The <see cref="WakeupEvent"/> was set.</summary>
    Woken,

    /// <summary>The timeout passed (or, with a timeout, a signal interrupted the wait: the caller looks again anyway).</summary>
    TimedOut,
}

/// <summary>
/// Waits, with <c>poll(2)</c>, until a descriptor can be read or a <see cref="WakeupEvent"/> is set: a thread that waits
/// for notifications this way costs nothing while nothing happens. Shared by every thread that listens: the sockets of
/// <see cref="NetlinkSocket"/> (our namespace's link events, every namespace's) and the namespace directory watch.
/// </summary>
internal static unsafe class DescriptorReadiness
{
    /// <summary>No timeout: wait until the descriptor is readable or the event is set.</summary>
    public const int Infinite = -1;

    /// <summary>
    /// Waits up to <paramref name="timeoutMilliseconds"/> (<see cref="Infinite"/>: without a bound). Stopping wins over
    /// pending data: the caller is about to close the descriptor anyway. A failing <c>poll</c> throws
    /// <see cref="NetlinkSocketException"/>.
    /// </summary>
    public static Readiness Wait(SafeHandle descriptor, WakeupEvent wakeup, int timeoutMilliseconds)
    {
        bool descriptorAdded = false;
        bool wakeupAdded = false;
        try
        {
            descriptor.DangerousAddRef(ref descriptorAdded);
            wakeup.Handle.DangerousAddRef(ref wakeupAdded);
            LibC.PollFd* fds = stackalloc LibC.PollFd[2];
            fds[0] = new LibC.PollFd { Fd = (int)descriptor.DangerousGetHandle(), Events = LibC.POLLIN };
            fds[1] = new LibC.PollFd { Fd = (int)wakeup.Handle.DangerousGetHandle(), Events = LibC.POLLIN };
            while (true)
            {
                int ready = LibC.Poll(fds, 2, timeoutMilliseconds);
                if (ready < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno != Errno.EINTR)
                    {
                        throw new NetlinkSocketException("poll", errno);
                    }

                    if (timeoutMilliseconds == Infinite)
                    {
                        continue;
                    }

                    return Readiness.TimedOut;
                }

                if (fds[1].ReturnedEvents != 0)
                {
                    return Readiness.Woken;
                }

                // POLLERR (e.g. ENOBUFS after an overrun) counts as readable: the next receive reports it.
                if (fds[0].ReturnedEvents != 0)
                {
                    return Readiness.Readable;
                }

                if (timeoutMilliseconds != Infinite)
                {
                    return Readiness.TimedOut;
                }
            }
        }
        finally
        {
            if (wakeupAdded)
            {
                wakeup.Handle.DangerousRelease();
            }

            if (descriptorAdded)
            {
                descriptor.DangerousRelease();
            }
        }
    }
}
