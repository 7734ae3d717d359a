namespace TunTelemetry.Netlink;

/// <summary>
/// The namespace attributes of an RTM_NEWLINK / RTM_DELLINK message, each null when absent. Ids are as seen from the
/// namespace the message describes a link of, and may be <see cref="NetnsId.NotAssigned"/>.
/// </summary>
/// <param name="LinkNetnsId"><c>IFLA_LINK_NETNSID</c>: the namespace of the link's peer or lower device (a veth's other end).</param>
/// <param name="NewNetnsId">
/// <c>IFLA_NEW_NETNSID</c>: on the RTM_DELLINK sent when a device moves to another namespace (<c>ip link set dev X
/// netns Y</c>), the namespace it went to. A delete without it is a real delete.
/// </param>
/// <param name="NewIfIndex"><c>IFLA_NEW_IFINDEX</c>: the device's ifindex in the namespace it moved to, when that changed.</param>
internal readonly record struct LinkNetnsAttributes(int? LinkNetnsId, int? NewNetnsId, int? NewIfIndex)
{
    private const int IfInfoMsgSize = 16;
    private const ushort IflaLinkNetnsid = 37;
    private const ushort IflaNewNetnsid = 45;
    private const ushort IflaNewIfIndex = 49;

    /// <summary>Whether the message reports a device leaving for another namespace rather than being deleted.</summary>
    public bool IsMove => NewNetnsId is not null;

    public static LinkNetnsAttributes Read(ReadOnlySpan<byte> body)
    {
        if (body.Length < IfInfoMsgSize)
        {
            throw new MalformedNetlinkReplyException(MalformedReplyReason.TooShort,
                $"ifinfomsg needs {IfInfoMsgSize} bytes, the message body has {body.Length}");
        }

        int? link = null, moved = null, newIfIndex = null;
        var attributes = new NetlinkAttributeReader(body[IfInfoMsgSize..]);
        while (attributes.Next())
        {
            switch (attributes.Type)
            {
                case IflaLinkNetnsid:
                    link = (int)attributes.PayloadUInt32();
                    break;
                case IflaNewNetnsid:
                    moved = (int)attributes.PayloadUInt32();
                    break;
                case IflaNewIfIndex:
                    newIfIndex = (int)attributes.PayloadUInt32();
                    break;
            }
        }

        return new LinkNetnsAttributes(link, moved, newIfIndex);
    }
}
