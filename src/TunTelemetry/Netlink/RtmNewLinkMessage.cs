namespace TunTelemetry.Netlink;

/// <summary>The kind of a link as TunTelemetry reports it.</summary>
internal static class LinkKinds
{
    public const string Tun = "tun";
    public const string Tap = "tap";
}

/// <summary>
/// One link as the kernel describes it in RTM_NEWLINK / RTM_DELLINK (<c>struct ifinfomsg</c> plus the attributes we use).
/// </summary>
/// <param name="Kind">
/// <c>tun</c> or <c>tap</c> for TUN/TAP devices (which share the kernel link kind <c>tun</c>); otherwise the kernel's
/// link kind (<c>veth</c>, <c>bridge</c>, ...), or for links without one a name of their hardware type
/// (<c>loopback</c>, <c>ether</c>, <c>none</c>).
/// </param>
internal sealed record LinkDescription(
    int IfIndex,
    string Name,
    string Kind,
    ushort HardwareType,
    uint Flags,
    uint Mtu,
    uint TxQueueLength,
    LinkOperState OperState,
    TunLinkInfo? Tun = null)
{
    private const uint IffUp = 0x1;
    private const uint IffRunning = 0x40;
    private const uint IffLowerUp = 0x10000;

    public bool IsTunOrTap => Kind is LinkKinds.Tun or LinkKinds.Tap;

    /// <summary>IFF_UP: administratively up.</summary>
    public bool IsUp => (Flags & IffUp) != 0;

    /// <summary>
    /// Administratively up and with carrier (<c>IFF_LOWER_UP</c> or <c>IFF_RUNNING</c>): what "up" means for a TUN
    /// device, whose driver never sets an operational state (<see cref="OperState"/> stays <c>unknown</c>) but turns
    /// its carrier on while a process has a queue attached.
    /// </summary>
    public bool IsUpWithCarrier => IsUp && (Flags & (IffLowerUp | IffRunning)) != 0;
}

/// <summary>RFC 2863 operational state (<c>IF_OPER_*</c> in <c>uapi/linux/if.h</c>).</summary>
internal enum LinkOperState : byte
{
    Unknown = 0,
    NotPresent = 1,
    Down = 2,
    LowerLayerDown = 3,
    Testing = 4,
    Dormant = 5,
    Up = 6,
}

/// <summary>Decodes an RTM_NEWLINK or RTM_DELLINK message body.</summary>
internal static class RtmNewLinkMessage
{
    private const int IfInfoMsgSize = 16;

    private const ushort IflaIfName = 3;
    private const ushort IflaMtu = 4;
    private const ushort IflaTxQueueLength = 13;
    private const ushort IflaOperState = 16;
    private const ushort IflaLinkInfo = 18;
    private const ushort IflaInfoKind = 1;
    private const ushort IflaInfoData = 2;

    private const ushort ArphrdEther = 1;
    private const ushort ArphrdLoopback = 772;
    private const ushort ArphrdNone = 0xfffe;

    public static LinkDescription Decode(ReadOnlySpan<byte> body)
    {
        if (body.Length < IfInfoMsgSize)
        {
            throw new MalformedNetlinkReplyException(MalformedReplyReason.TooShort,
                $"ifinfomsg needs {IfInfoMsgSize} bytes, the message body has {body.Length}");
        }

        ushort hardwareType = NativeEndian.ReadUInt16(body[2..]);
        int ifIndex = NativeEndian.ReadInt32(body[4..]);
        uint flags = NativeEndian.ReadUInt32(body[8..]);

        string? name = null;
        string? infoKind = null;
        TunLinkInfo? tun = null;
        uint mtu = 0, txQueueLength = 0;
        var operState = LinkOperState.Unknown;

        var attributes = new NetlinkAttributeReader(body[IfInfoMsgSize..]);
        while (attributes.Next())
        {
            switch (attributes.Type)
            {
                case IflaIfName:
                    name = InterfaceName.Decode(attributes.PayloadCString());
                    break;
                case IflaMtu:
                    mtu = attributes.PayloadUInt32();
                    break;
                case IflaTxQueueLength:
                    txQueueLength = attributes.PayloadUInt32();
                    break;
                case IflaOperState:
                    operState = (LinkOperState)attributes.PayloadByte();
                    break;
                case IflaLinkInfo:
                    ReadLinkInfo(attributes.Payload, hardwareType, ref infoKind, ref tun);
                    break;
            }
        }

        if (name is null)
        {
            throw new MalformedNetlinkReplyException(MalformedReplyReason.MissingAttribute,
                $"link {ifIndex} has no IFLA_IFNAME attribute");
        }

        return new LinkDescription(ifIndex, name, KindOf(infoKind, tun, hardwareType), hardwareType, flags, mtu,
            txQueueLength, operState, tun);
    }

    private static void ReadLinkInfo(ReadOnlySpan<byte> linkInfo, ushort hardwareType, ref string? infoKind, ref TunLinkInfo? tun)
    {
        ReadOnlySpan<byte> data = default;
        bool hasData = false;
        var info = new NetlinkAttributeReader(linkInfo);
        while (info.Next())
        {
            if (info.Type == IflaInfoKind)
            {
                infoKind = System.Text.Encoding.ASCII.GetString(info.PayloadCString());
            }
            else if (info.Type == IflaInfoData)
            {
                data = info.Payload;
                hasData = true;
            }
        }

        // IFLA_INFO_DATA's layout belongs to the kind, so it is read only once the kind is known to be tun.
        if (infoKind == "tun")
        {
            // IFLA_TUN_TYPE exists since Linux 4.15; before that the link type tells: TUN has no link layer.
            string fallback = hardwareType == ArphrdEther ? LinkKinds.Tap : LinkKinds.Tun;
            tun = hasData ? TunLinkInfo.Decode(data, fallback) : null;
            infoKind = tun?.Type ?? fallback;
        }
    }

    private static string KindOf(string? infoKind, TunLinkInfo? tun, ushort hardwareType)
    {
        if (tun is not null)
        {
            return tun.Type;
        }

        if (infoKind is LinkKinds.Tun or LinkKinds.Tap)
        {
            return infoKind;
        }

        if (!string.IsNullOrEmpty(infoKind))
        {
            return infoKind;
        }

        return hardwareType switch
        {
            ArphrdLoopback => "loopback",
            ArphrdEther => "ether",
            ArphrdNone => "none",
            _ => $"arphrd-{hardwareType}",
        };
    }
}
