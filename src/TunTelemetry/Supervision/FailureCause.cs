using System.Net.Sockets;
using TunTelemetry.Netlink;
using TunTelemetry.Polling;

namespace TunTelemetry.Supervision;

/// <summary>
/// What made a per-device actor fail, read through the wrappers Akka puts around it: a failure in an actor's
/// constructor or <c>PreStart</c> reaches its supervisor as an <c>ActorInitializationException</c> whose message is only
/// "Exception during creation", with the real cause as its inner exception.
/// </summary>
internal static class FailureCause
{
    private const int EMFILE = 24;
    private const int ENFILE = 23;

    /// <summary>The innermost exception's own text (a poll failure's netlink text, without the device it names).</summary>
    public static string Describe(Exception failure)
    {
        Exception innermost = Innermost(failure);
        return innermost is PollFailedException poll ? poll.Detail : innermost.Message;
    }

    /// <summary>
    /// Whether the failure is a lack of descriptors: a netlink socket refused with EMFILE or ENFILE (or kept out of the
    /// <see cref="DescriptorReserve"/>), or an extension's socket or file that could not be opened for that reason.
    /// </summary>
    public static bool IsOutOfDescriptors(Exception failure)
    {
        for (Exception? e = failure; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case PollFailedException { OutOfDescriptors: true }:
                case NetlinkSocketException { IsOutOfDescriptors: true }:
                case SocketException { SocketErrorCode: SocketError.TooManyOpenSockets }:
                // .NET raises a file that could not be opened for want of descriptors as an IOException carrying the errno.
                case IOException { HResult: EMFILE or ENFILE }:
                    return true;
            }
        }

        return false;
    }

    private static Exception Innermost(Exception failure)
    {
        Exception e = failure;
        while (e.InnerException is { } inner)
        {
            e = inner;
        }

        return e;
    }
}
