using Microsoft.Win32.SafeHandles;

namespace TunTelemetry.Netlink;

/// <summary>
/// Owns one descriptor: a netlink socket, or the <see cref="WakeupEvent"/> waited on beside one. The SafeHandle's
/// reference counting guarantees the descriptor is closed exactly once, and never while a <c>send</c>/<c>recv</c> on
/// another thread still uses it (the number could otherwise be reused by an unrelated open and that call would talk to
/// the wrong file).
/// </summary>
internal sealed class SafeNetlinkHandle : SafeHandleMinusOneIsInvalid
{
    public SafeNetlinkHandle()
        : base(ownsHandle: true)
    {
    }

    internal SafeNetlinkHandle(int fd)
        : base(ownsHandle: true)
    {
        SetHandle(fd);
    }

    // close(2) on Linux releases the descriptor even when it reports EINTR, so it is never retried.
    protected override bool ReleaseHandle() => LibC.Close((int)handle) == 0;
}
