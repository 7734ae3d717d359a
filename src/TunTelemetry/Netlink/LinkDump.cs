namespace TunTelemetry.Netlink;

/// <summary>
/// What <see cref="NetlinkSocket.DumpLinks"/> does with each <c>RTM_NEWLINK</c> body. A struct implements it, so a dump
/// (a namespace's poll) allocates no delegate.
/// </summary>
internal interface ILinkDumpSink
{
    void OnLink(ReadOnlySpan<byte> body);
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
}
