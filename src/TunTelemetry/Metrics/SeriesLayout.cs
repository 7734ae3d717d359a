using TunTelemetry.Netlink;

namespace TunTelemetry.Metrics;

/// <summary>
/// The kernel fields that the counter instruments read, each given a slot in every <see cref="DeviceSeries"/>' totals:
/// a device keeps a total only for a field that is exported (8 of the 25 unless <c>metrics.detailed</c> is on).
/// </summary>
internal sealed class SeriesLayout
{
    public SeriesLayout(IEnumerable<LinkStats64Field> exportedFields)
    {
        Fields = exportedFields.Distinct().ToArray();
    }

    /// <summary>The field of each slot.</summary>
    public LinkStats64Field[] Fields { get; }

    /// <summary>The slot of an exported field.</summary>
    public int SlotOf(LinkStats64Field field)
    {
        int slot = Array.IndexOf(Fields, field);
        return slot >= 0 ? slot : throw new ArgumentOutOfRangeException(nameof(field), field, "not an exported field");
    }
}
