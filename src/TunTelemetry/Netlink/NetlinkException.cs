namespace TunTelemetry.Netlink;

/// <summary>
/// Base of every netlink failure. Callers pick their reaction by type: the device is gone
/// (<see cref="NetlinkDeviceGoneException"/>), the kernel refused (<see cref="NetlinkErrnoException"/>), the socket
/// failed (<see cref="NetlinkSocketException"/>), or the reply made no sense (<see cref="MalformedNetlinkReplyException"/>).
/// </summary>
internal abstract class NetlinkException : Exception
{
    protected NetlinkException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }

    /// <summary>A short, stable, low-cardinality label for metrics (<c>device_gone</c>, <c>socket</c>, ...).</summary>
    public abstract string Reason { get; }
}

/// <summary>The kernel answered <c>-ENODEV</c>: no device has this ifindex (any more).</summary>
internal sealed class NetlinkDeviceGoneException(int ifIndex)
    : NetlinkException($"network device with ifindex {ifIndex} is gone (ENODEV)")
{
    public int IfIndex { get; } = ifIndex;

    public override string Reason => "device_gone";
}

/// <summary>The kernel answered a request with an error other than <c>ENODEV</c>.</summary>
internal sealed class NetlinkErrnoException(string operation, int errno, string? kernelMessage)
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
internal sealed class NetlinkSocketException : NetlinkException
{
    public NetlinkSocketException(string operation, int errno)
        : this(operation, errno, Describe(operation, errno))
    {
    }

    private NetlinkSocketException(string operation, int errno, string message)
        : base(message)
    {
        Operation = operation;
        Errno = errno;
    }

    public string Operation { get; }

    public int Errno { get; }

    /// <summary>The receive timeout expired: the kernel did not answer in time.</summary>
    public bool IsTimeout => IsTimeoutErrno(Errno);

    /// <summary>The kernel dropped notifications for this socket (its receive buffer overflowed).</summary>
    public bool IsOverrun => Errno == Netlink.Errno.ENOBUFS;

    /// <summary>
    /// No descriptor for this socket: the process's limit is reached (<c>EMFILE</c>, also when the socket would have
    /// eaten into the <see cref="DescriptorReserve"/>) or the system's (<c>ENFILE</c>).
    /// </summary>
    public bool IsOutOfDescriptors => Errno is Netlink.Errno.EMFILE or Netlink.Errno.ENFILE;

    public override string Reason => IsTimeout ? "timeout" : "socket";

    /// <summary>
    /// A socket got descriptor <paramref name="fd"/>, one of the last <paramref name="reserve"/> under the limit, and was
    /// closed again: it counts as <c>EMFILE</c>, which it would soon have caused elsewhere.
    /// </summary>
    internal static NetlinkSocketException ReserveReached(int fd, ulong limit, int reserve) =>
        new("socket", Netlink.Errno.EMFILE,
            $"netlink socket not kept: it got descriptor {fd}, and the last {reserve} under RLIMIT_NOFILE {limit} are kept for the agent itself (EMFILE)"
            + OutOfDescriptorsAdvice);

    private const string OutOfDescriptorsAdvice =
        "; out of file descriptors: each watched device uses one socket (two with link-state), so raise LimitNOFILE / ulimit -n";

    private static string Describe(string operation, int errno) => IsTimeoutErrno(errno)
        ? $"netlink {operation} timed out"
        : $"netlink {operation} failed: {Netlink.Errno.Name(errno)} ({errno}: {Netlink.Errno.Describe(errno)})"
            + (errno is Netlink.Errno.EMFILE or Netlink.Errno.ENFILE ? OutOfDescriptorsAdvice : string.Empty);

    private static bool IsTimeoutErrno(int errno) => errno is Netlink.Errno.EAGAIN or Netlink.Errno.ETIMEDOUT;
}

/// <summary>Why a reply was rejected.</summary>
internal enum MalformedReplyReason
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
internal sealed class MalformedNetlinkReplyException(MalformedReplyReason kind, string message)
    : NetlinkException($"malformed netlink reply ({kind}): {message}")
{
    public MalformedReplyReason Kind { get; } = kind;

    public override string Reason => "malformed_reply";
}
