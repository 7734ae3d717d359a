namespace TunTelemetry.Netlink;

/// <summary>
/// What <see cref="LinkDumps.DumpLinks"/> does with each <c>RTM_NEWLINK</c> body. A struct implements it, so a dump
/// (a namespace's poll) allocates no delegate.
/// </summary>
internal interface ILinkDumpSink
{
    void OnLink(ReadOnlySpan<byte> body);

    /// <summary>Forgets what an interrupted attempt handed it: the dump is asked again.</summary>
    void Restart();
}

/// <summary>
/// How a link dump ended: <paramref name="Interrupted"/> when the kernel flagged <c>NLM_F_DUMP_INTR</c> (the table
/// changed mid-dump, so what was read may be inconsistent: ask again); <paramref name="Errno"/>, when not 0, is the
/// failure its <c>NLMSG_DONE</c> carried.
/// </summary>
internal readonly record struct LinkDumpEnd(bool Interrupted, int Errno);

/// <summary>Decodes each link of a dump into a <see cref="LinkDescription"/>.</summary>
internal readonly struct LinkDescriptionSink(List<LinkDescription> links) : ILinkDumpSink
{
    public List<LinkDescription> Links => links;

    public void OnLink(ReadOnlySpan<byte> body) => links.Add(RtmNewLinkMessage.Decode(body));

    public void Restart() => links.Clear();
}

/// <summary>
/// Reading a link dump on any of the agent's sockets: the kernel's replies to <c>NLMSG_DONE</c>, its errno, and
/// <c>NLM_F_DUMP_INTR</c> retried. The one dump loop: discovery's listings, the snapshot's, the tests'.
/// </summary>
internal static class LinkDumps
{
    /// <summary>
    /// Sends the <c>RTM_GETLINK</c> dump <paramref name="request"/> (numbered <paramref name="sequence"/>) and hands the
    /// body of each <c>RTM_NEWLINK</c> it returns to <paramref name="sink"/>, until the kernel's <c>NLMSG_DONE</c>.
    /// Throws on an <c>NLMSG_ERROR</c> (named <paramref name="operation"/>) or a message of another type; messages of
    /// other requests are passed over.
    /// </summary>
    public static LinkDumpEnd DumpLinks<TSink>(this NetlinkSocket socket, ReadOnlySpan<byte> request, uint sequence, string operation, ref TSink sink)
        where TSink : struct, ILinkDumpSink
    {
        socket.Send(request);
        bool interrupted = false;
        while (true)
        {
            using RentedDatagram datagram = socket.ReceiveRented();
            var messages = new NetlinkMessageReader(datagram.Bytes);
            while (messages.Next())
            {
                NetlinkHeader header = messages.Header;
                if (!socket.IsReplyTo(header, sequence))
                {
                    continue;
                }

                interrupted |= (header.Flags & NetlinkMessageFlags.DumpInterrupted) != 0;
                switch (header.Type)
                {
                    case NetlinkMessageType.Done:
                        // A dump that fails after it started ends with NLMSG_DONE carrying the negative errno.
                        int status = messages.Body.Length >= sizeof(int) ? NativeEndian.ReadInt32(messages.Body) : 0;
                        return new LinkDumpEnd(interrupted, status < 0 ? -status : 0);
                    case NetlinkMessageType.Error:
                        throw NetlinkErrorMessage.ToException(header, messages.Body, operation, ifIndex: 0);
                    case NetlinkMessageType.NewLink:
                        sink.OnLink(messages.Body);
                        break;
                    default:
                        throw new MalformedNetlinkReplyException(MalformedReplyReason.WrongMessageType,
                            $"RTM_GETLINK dump returned message type {header.Type}");
                }
            }
        }
    }

    /// <summary>How often a dump is asked again while the kernel flags it interrupted.</summary>
    internal const int MaxDumpAttempts = 3;

    /// <summary>
    /// A whole link dump of <paramref name="target"/>'s links (its TUN/TAP devices only, with <paramref name="tunOnly"/>),
    /// as every one is read: the request sent and its replies handed to
    /// <paramref name="sink"/> to the kernel's <c>NLMSG_DONE</c> (<see cref="DumpLinks"/>); asked again, with the sink
    /// restarted, while the kernel flags it interrupted (<c>NLM_F_DUMP_INTR</c>: the table changed mid-dump, so what
    /// was read may be inconsistent), at most <see cref="MaxDumpAttempts"/> times. An errno its <c>NLMSG_DONE</c>
    /// carries (a dump that failed after it started, such as a target namespace id that died) is thrown as a
    /// <see cref="NetlinkErrnoException"/> named <paramref name="operation"/>.
    /// </summary>
    public static void DumpAllLinks<TSink>(this NetlinkSocket socket, LinkTarget target, bool tunOnly, string operation, ref TSink sink)
        where TSink : struct, ILinkDumpSink
    {
        Span<byte> buffer = stackalloc byte[RtmGetLinkRequest.MaxSize];
        for (int attempt = 1; ; attempt++)
        {
            uint sequence = socket.NextSequence();
            LinkDumpEnd end = socket.DumpLinks(buffer[..RtmGetLinkRequest.WriteDump(buffer, sequence, target, tunOnly)], sequence, operation, ref sink);
            if (end.Errno != 0)
            {
                throw new NetlinkErrnoException(operation, end.Errno, null);
            }

            if (!end.Interrupted)
            {
                return;
            }

            if (attempt == MaxDumpAttempts)
            {
                throw new NetlinkErrnoException(operation, Errno.EINTR, $"the link table kept changing during {MaxDumpAttempts} dumps");
            }

            sink.Restart();
        }
    }
}
