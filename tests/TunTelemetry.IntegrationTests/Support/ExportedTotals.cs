using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using TunTelemetry.Metrics;

namespace TunTelemetry.IntegrationTests.Support;

/// <summary>Sums one meter's counter measurements per metric, device and direction, as a cumulative exporter would.</summary>
public sealed class ExportedTotals : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<(string, string, string?), long> _totals = new();

    public ExportedTotals(Meter meter)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, meter))
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
                _totals.AddOrUpdate((instrument.Name, device, direction), value, (_, t) => t + value);
            }
        });
        _listener.Start();
    }

    public bool Has(string metric, string device, string? direction = null) => _totals.ContainsKey((metric, device, direction));

    public long Total(string metric, string device, string? direction = null) =>
        _totals.TryGetValue((metric, device, direction), out long total) ? total : 0;

    public void Dispose() => _listener.Dispose();
}
