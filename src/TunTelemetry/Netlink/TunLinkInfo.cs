namespace TunTelemetry.Netlink;

/// <summary>
/// A TUN/TAP device's settings as the kernel reports them in <c>IFLA_LINKINFO</c> → <c>IFLA_INFO_DATA</c> of an
/// RTM_NEWLINK (<c>tun_fill_info</c> in <c>drivers/net/tun.c</c>; attribute numbers from <c>IFLA_TUN_*</c> in
/// <c>uapi/linux/if_link.h</c>, Linux ≥ 4.15).
/// </summary>
/// <param name="Owner">The uid allowed to attach (<c>TUNSETOWNER</c>); null when none is set (the kernel omits it).</param>
/// <param name="Group">The gid allowed to attach (<c>TUNSETGROUP</c>); null when none is set.</param>
/// <param name="Type"><c>tun</c> or <c>tap</c> (<c>IFLA_TUN_TYPE</c>).</param>
/// <param name="PacketInfo">Packets carry the 4-byte <c>struct tun_pi</c> header (no <c>IFF_NO_PI</c>).</param>
/// <param name="VnetHeader">Packets carry a <c>virtio_net_hdr</c> (<c>IFF_VNET_HDR</c>).</param>
/// <param name="Persist">The device outlives its last file descriptor (<c>TUNSETPERSIST</c>).</param>
/// <param name="MultiQueue">Created with <c>IFF_MULTI_QUEUE</c>: each open file is one queue.</param>
/// <param name="Queues">Attached (enabled) queues; the kernel reports it for multi-queue devices only, else null.</param>
/// <param name="DisabledQueues">Queues detached with <c>TUNSETQUEUE</c>/<c>IFF_DETACH_QUEUE</c>; multi-queue only, else null.</param>
internal sealed record TunLinkInfo(
    uint? Owner,
    uint? Group,
    string Type,
    bool PacketInfo,
    bool VnetHeader,
    bool Persist,
    bool MultiQueue,
    uint? Queues,
    uint? DisabledQueues)
{
    private const ushort IflaTunOwner = 1;
    private const ushort IflaTunGroup = 2;
    private const ushort IflaTunType = 3;
    private const ushort IflaTunPi = 4;
    private const ushort IflaTunVnetHdr = 5;
    private const ushort IflaTunPersist = 6;
    private const ushort IflaTunMultiQueue = 7;
    private const ushort IflaTunNumQueues = 8;
    private const ushort IflaTunNumDisabledQueues = 9;

    // TUN_TYPE_MASK bits of IFLA_TUN_TYPE (IFF_TUN / IFF_TAP in uapi/linux/if_tun.h).
    private const byte IffTun = 0x1;
    private const byte IffTap = 0x2;

    /// <summary>
    /// Decodes the attributes nested in <c>IFLA_INFO_DATA</c> of a link whose <c>IFLA_INFO_KIND</c> is <c>tun</c>.
    /// Unknown attributes (from newer kernels) are skipped. <paramref name="fallbackType"/> names the type when
    /// <c>IFLA_TUN_TYPE</c> is absent.
    /// </summary>
    public static TunLinkInfo Decode(ReadOnlySpan<byte> infoData, string fallbackType)
    {
        uint? owner = null, group = null, queues = null, disabled = null;
        string type = fallbackType;
        bool pi = false, vnetHeader = false, persist = false, multiQueue = false;
        var attributes = new NetlinkAttributeReader(infoData);
        while (attributes.Next())
        {
            switch (attributes.Type)
            {
                case IflaTunOwner:
                    owner = attributes.PayloadUInt32();
                    break;
                case IflaTunGroup:
                    group = attributes.PayloadUInt32();
                    break;
                case IflaTunType:
                    type = (attributes.PayloadByte() & (IffTun | IffTap)) switch
                    {
                        IffTun => LinkKinds.Tun,
                        IffTap => LinkKinds.Tap,
                        _ => fallbackType,
                    };
                    break;
                case IflaTunPi:
                    pi = attributes.PayloadByte() != 0;
                    break;
                case IflaTunVnetHdr:
                    vnetHeader = attributes.PayloadByte() != 0;
                    break;
                case IflaTunPersist:
                    persist = attributes.PayloadByte() != 0;
                    break;
                case IflaTunMultiQueue:
                    multiQueue = attributes.PayloadByte() != 0;
                    break;
                case IflaTunNumQueues:
                    queues = attributes.PayloadUInt32();
                    break;
                case IflaTunNumDisabledQueues:
                    disabled = attributes.PayloadUInt32();
                    break;
            }
        }

        return new TunLinkInfo(owner, group, type, pi, vnetHeader, persist, multiQueue, queues, disabled);
    }
}
