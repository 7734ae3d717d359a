namespace TunTelemetry.Netlink;

/// <summary>
/// Base of every netlink failure. Callers pick their reaction by type: the device is gone
/// (<see cref="NetlinkDeviceGoneException"/>), the kernel refused (<see cref="NetlinkErrnoException"/>), the socket
/// failed (<see cref="NetlinkSocketException"/>), or the reply made no sense (<see cref="MalformedNetlinkReplyException"/>).
/// </summary>
public abstract class NetlinkException : Exception
{
    protected NetlinkException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }

    /// <summary>A short, stable, low-cardinality label for metrics (<c>device_gone</c>, <c>socket</c>, ...).</summary>
    public abstract string Reason { get; }
}

/// <summary>The kernel answered <c>-ENODEV</c>: no device has this ifindex (any more).</summary>
public sealed class NetlinkDeviceGoneException(int ifIndex)
    : NetlinkException($"network device with ifindex {ifIndex} is gone (ENODEV)")
{
    public int IfIndex { get; } = ifIndex;

    public override string Reason => "device_gone";
}

/// <summary>The kernel answered a request with an error other than <c>ENODEV</c>.</summary>
public sealed class NetlinkErrnoException(string operation, int errno, string? kernelMessage)
    : NetlinkException(
        $"{operation}: kernel answered {Netlink.Errno.Name(errno)} ({errno}: {Netlink.Errno.Describe(errno)})"
        + (string.IsNullOrEmpty(kernelMessage) ? string.Empty : $": {kernelMessage}"))
{
    public string Operation { get; } = operation;

    /// <summary>The positive errno.</summary>
    public int Errno { get; } = errno;

    public string ErrnoName => Netlink.Errno.Name(Errno);

    /// <summary>The kernel's extended-ack text (<c>NLMSGERR_ATTR_MSG</c>), when it sent one.</summary>
    public string? KernelMessage { get; } = kernelMessage;

    public override string Reason => "kernel_error";
}

/// <summary>A socket call (<c>socket</c>, <c>bind</c>, <c>send</c>, <c>recv</c>, ...) failed or timed out.</summary>
public sealed class NetlinkSocketException(string operation, int errno)
    : NetlinkException(IsTimeoutErrno(errno)
        ? $"netlink {operation} timed out"
        : $"netlink {operation} failed: {Netlink.Errno.Name(errno)} ({errno}: {Netlink.Errno.Describe(errno)})"
            + (errno is Netlink.Errno.EMFILE or Netlink.Errno.ENFILE
                ? "; out of file descriptors: each watched device uses one socket (two with link-state), so raise LimitNOFILE / ulimit -n"
                : string.Empty))
{
    public string Operation { get; } = operation;

    public int Errno { get; } = errno;

    /// <summary>The receive timeout expired: the kernel did not answer in time.</summary>
    public bool IsTimeout => IsTimeoutErrno(Errno);

    /// <summary>The kernel dropped notifications for this socket (its receive buffer overflowed).</summary>
    public bool IsOverrun => Errno == Netlink.Errno.ENOBUFS;

    public override string Reason => IsTimeout ? "timeout" : "socket";

    private static bool IsTimeoutErrno(int errno) => errno is Netlink.Errno.EAGAIN or Netlink.Errno.ETIMEDOUT;
}

/// <summary>Why a reply was rejected.</summary>
public enum MalformedReplyReason
{
    /// <summary>Fewer bytes than a header, struct or attribute needs.</summary>
    TooShort,

    /// <summary>A length field disagrees with the bytes received.</summary>
    BadLength,

    /// <summary>The datagram did not fit the receive buffer.</summary>
    Truncated,

    /// <summary>A message of another type than the request's answer.</summary>
    WrongMessageType,

    /// <summary>More or fewer messages than the request produces.</summary>
    UnexpectedMessageCount,

    /// <summary>An attribute's length runs past its container.</summary>
    TruncatedAttribute,

    /// <summary>The attribute that carries the answer is missing.</summary>
    MissingAttribute,

    /// <summary>The reply is about another device than the one asked for.</summary>
    WrongDevice,
}

/// <summary>The kernel's reply (or bytes claiming to be one) could not be decoded.</summary>
public sealed class MalformedNetlinkReplyException(MalformedReplyReason kind, string message)
    : NetlinkException($"malformed netlink reply ({kind}): {message}")
{
    public MalformedReplyReason Kind { get; } = kind;

    public override string Reason => "malformed_reply";
}
