namespace TunTelemetry.Netlink;

/// <summary>
/// What a poller needs from its socket: one device's stats per call. <see cref="DeviceLinkReader"/> is the real one;
/// tests substitute failures a real socket cannot produce on demand.
/// </summary>
internal interface ILinkStatsReader : IDisposable
{
    /// <summary>Throws <see cref="NetlinkException"/> subtypes on failure.</summary>
    LinkStats64 Read(int ifIndex);
}

/// <summary>Opens a fresh <see cref="ILinkStatsReader"/>; a restarted poller calls it again.</summary>
internal delegate ILinkStatsReader LinkStatsReaderFactory();
