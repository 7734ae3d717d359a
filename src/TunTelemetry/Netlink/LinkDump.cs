namespace TunTelemetry.Netlink;

/// <summary>
/// What <see cref="NetlinkSocket.DumpLinks"/> does with each <c>RTM_NEWLINK</c> body. A struct implements it, so a dump
/// (a namespace's poll) allocates no delegate.
/// </summary>
internal interface ILinkDumpSink
{
    void OnLink(ReadOnlySpan<byte> body);

    /// <summary>Forgets what an interrupted attempt handed it: the dump is asked again.</summary>
    void Restart();
}

/// <summary>
/// Writes one link dump request, numbered <c>sequence</c>, into <c>destination</c> and returns its length. A struct
/// implements it, so a dump allocates no closure.
/// </summary>
internal interface ILinkDumpRequest
{
    int Write(Span<byte> destination, uint sequence);
}

/// <summary>Every link of the socket's own namespace.</summary>
internal readonly struct OwnLinksDumpRequest : ILinkDumpRequest
{
    public int Write(Span<byte> destination, uint sequence) => RtmGetLinkRequest.WriteDump(destination, sequence);
}

/// <summary>The links of the namespace with id <paramref name="Nsid"/> in ours (<c>IFLA_TARGET_NETNSID</c>); with <paramref name="TunOnly"/>, its TUN/TAP devices only.</summary>
internal readonly record struct TargetedLinksDumpRequest(int Nsid, bool TunOnly) : ILinkDumpRequest
{
    public int Write(Span<byte> destination, uint sequence) => RtmGetLinkTargetedRequest.WriteDump(destination, sequence, Nsid, TunOnly);
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
