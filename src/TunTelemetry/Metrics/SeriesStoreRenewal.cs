namespace TunTelemetry.Metrics;

/// <summary>
/// Decides when the per-device instruments are made anew, so the OpenTelemetry SDK's store of their points follows
/// the devices that exist rather than every name ever seen.
/// </summary>
/// <remarks>
/// The SDK keeps one metric point per attribute set a cumulative stream has ever seen, for the life of the instrument:
/// a series whose callback stops reporting it leaves the export (opentelemetry-dotnet#5950, fixed in 1.15.1), but its
/// point stays, and once a stream holds its cardinality limit (sized from <c>metrics.max-devices</c>) every new name
/// falls into the overflow series. The only way the SDK frees those points is the instrument's end: disposing the meter
/// that made it. So after enough names have left, the instruments are made again on a new meter of the same name and
/// version. To a backend that is what an agent restart looks like: every series carries on at the same value, with a
/// new start time.
/// <para>
/// Renewal is due when names have left since the last one and either as many have left as are kept now (at least
/// <see cref="MinimumLeft"/>, so a host with a few devices and steady churn renews rarely), or the store holds
/// <c>max-devices</c> names, so the next new name would overflow. The store then never holds more than twice the kept
/// names plus <see cref="MinimumLeft"/>, and never more than <c>max-devices</c> while fewer are kept.
/// </para>
/// <para>
/// The reader gauges' (device, process) pairs are counted the same way by a second instance: a "name" is then a pair.
/// </para>
/// </remarks>
internal struct SeriesStoreRenewal(int maxDevices)
{
    /// <summary>Names that must have left before their points are worth a renewal on a small host.</summary>
    public const int MinimumLeft = 256;

    /// <summary>Device names that have had series in the current instruments' store.</summary>
    public int NamesInStore { get; private set; }

    /// <summary>Of those, the names whose series have since left.</summary>
    public int NamesLeft { get; private set; }

    public void NameAdded(int count = 1) => NamesInStore += count;

    public void NameLeft(int count = 1) => NamesLeft += count;

    /// <summary>Whether to renew now, with <paramref name="kept"/> names' series still exported.</summary>
    public readonly bool Due(int kept) =>
        NamesLeft > 0 && (NamesLeft >= Math.Max(MinimumLeft, kept) || NamesInStore >= maxDevices);

    /// <summary>The instruments were made anew: the new store holds the kept names only.</summary>
    public void Renewed(int kept)
    {
        NamesInStore = kept;
        NamesLeft = 0;
    }
}
