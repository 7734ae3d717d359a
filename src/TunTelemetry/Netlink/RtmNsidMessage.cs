namespace TunTelemetry.Netlink;

/// <summary>
/// One RTM_NEWNSID or RTM_DELNSID message: the answer to RTM_GETNSID, or a notification (<c>RTNLGRP_NSID</c>) that an
/// id was given or dropped. <see cref="Pid"/> and <see cref="Fd"/> are null unless the message carries them (the
/// kernel echoes neither in answers; requests carry one).
/// </summary>
internal readonly record struct NetnsIdMessage(int Nsid, int? Pid, int? Fd);

/// <summary>Decodes the body of an RTM_NEWNSID / RTM_DELNSID message (<c>struct rtgenmsg</c>, then <c>NETNSA_*</c>).</summary>
internal static class RtmNsidMessage
{
    private const int RtGenMsgSize = 4;

    public static NetnsIdMessage Decode(ReadOnlySpan<byte> body)
    {
        if (body.Length < RtGenMsgSize)
        {
            throw new MalformedNetlinkReplyException(MalformedReplyReason.TooShort,
                $"rtgenmsg needs {RtGenMsgSize} bytes, the message body has {body.Length}");
        }

        int? nsid = null, pid = null, fd = null;
        var attributes = new NetlinkAttributeReader(body[RtGenMsgSize..]);
        while (attributes.Next())
        {
            switch (attributes.Type)
            {
                case NetnsAttribute.Nsid:
                    nsid = (int)attributes.PayloadUInt32();
                    break;
                case NetnsAttribute.Pid:
                    pid = (int)attributes.PayloadUInt32();
                    break;
                case NetnsAttribute.Fd:
                    fd = (int)attributes.PayloadUInt32();
                    break;
            }
        }

        if (nsid is null)
        {
            throw new MalformedNetlinkReplyException(MalformedReplyReason.MissingAttribute, "namespace-id message has no NETNSA_NSID");
        }

        return new NetnsIdMessage(nsid.Value, pid, fd);
    }
}
