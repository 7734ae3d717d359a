using System.Net.Sockets;
using Akka.Actor;
using TunTelemetry.Devices;
using TunTelemetry.Netlink;
using TunTelemetry.Polling;
using TunTelemetry.Supervision;
using Xunit;

namespace TunTelemetry.Tests.Supervision;

public sealed class FailureCauseTests
{
    private static readonly TunDevice Tun0 = new(7, "tun0", TunDeviceKind.Tun);

    [Fact]
    public void A_start_up_failure_is_described_by_its_real_cause_not_by_Akkas_wrapper()
    {
        var poll = new PollFailedException(Tun0, new NetlinkSocketException("socket", Errno.EMFILE));
        var wrapped = new ActorInitializationException(ActorRefs.Nobody, "Exception during creation", poll);

        string described = FailureCause.Describe(wrapped);

        Assert.StartsWith("netlink socket failed: EMFILE (24: ", described, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception during creation", described, StringComparison.Ordinal);
        Assert.Equal("boom", FailureCause.Describe(new ActorInitializationException(ActorRefs.Nobody, "Exception during creation",
            new InvalidOperationException("outer", new IOException("boom")))));
    }

    [Fact]
    public void A_lack_of_descriptors_is_recognised_through_wrappers_whoever_opened_what()
    {
        static Exception Wrapped(Exception e) => new ActorInitializationException(ActorRefs.Nobody, "Exception during creation", e);

        Assert.True(FailureCause.IsOutOfDescriptors(Wrapped(new PollFailedException(Tun0, new NetlinkSocketException("socket", Errno.EMFILE)))));
        Assert.True(FailureCause.IsOutOfDescriptors(Wrapped(new NetlinkSocketException("socket", Errno.ENFILE))));
        Assert.True(FailureCause.IsOutOfDescriptors(Wrapped(new SocketException((int)SocketError.TooManyOpenSockets))));
        Assert.True(FailureCause.IsOutOfDescriptors(Wrapped(new IOException("Too many open files", Errno.EMFILE))));

        Assert.False(FailureCause.IsOutOfDescriptors(Wrapped(new PollFailedException(Tun0, new NetlinkSocketException("recv", Errno.EAGAIN)))));
        Assert.False(FailureCause.IsOutOfDescriptors(Wrapped(new NetlinkSocketException("send", Errno.ENOBUFS))));
        Assert.False(FailureCause.IsOutOfDescriptors(Wrapped(new IOException("Input/output error", 5))));
    }

    [Fact]
    public void Files_the_runtime_cannot_open_for_want_of_descriptors_carry_EMFILE_as_their_HResult()
    {
        // What an extension sees, as .NET reports it: the check above relies on this.
        var e = new IOException("Too many open files", Errno.EMFILE);
        Assert.Equal(Errno.EMFILE, e.HResult);
    }
}
