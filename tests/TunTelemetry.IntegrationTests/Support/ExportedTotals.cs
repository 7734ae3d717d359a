using System.Diagnostics.Metrics;
using TunTelemetry.Metrics;

namespace TunTelemetry.IntegrationTests.Support;

/// <summary>
/// What a cumulative exporter of one meter would send per metric, device and direction: every read collects the
/// observable counters afresh, as an export does, so a series they no longer report is absent.
/// </summary>
public sealed class ExportedTotals : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly object _collecting = new();
    private Dictionary<(string, string, string?), long> _totals = [];

    public ExportedTotals(Meter meter)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == meter.Name && instrument is ObservableCounter<long>)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string? device = null, direction = null;
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == MetricNames.InterfaceName)
                {
                    device = tag.Value as string;
                }
                else if (tag.Key == MetricNames.Direction)
                {
                    direction = tag.Value as string;
                }
            }

            if (device is not null)
            {
                _totals[(instrument.Name, device, direction)] = value; // cumulative: the newest value is the total
            }
        });
        _listener.Start();
    }

    public bool Has(string metric, string device, string? direction = null) => Collect().ContainsKey((metric, device, direction));

    public long Total(string metric, string device, string? direction = null) =>
        Collect().TryGetValue((metric, device, direction), out long total) ? total : 0;

    /// <summary>Devices with at least one series in a collection now.</summary>
    public IReadOnlySet<string> Devices() => Collect().Keys.Select(k => k.Item2).ToHashSet();

    public void Dispose() => _listener.Dispose();

    private Dictionary<(string, string, string?), long> Collect()
    {
        lock (_collecting)
        {
            _totals = [];
            _listener.RecordObservableInstruments();
            return _totals;
        }
    }
}
