using System.Diagnostics.Metrics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using TunTelemetry.Testing;

namespace TunTelemetry.TestSupport;

/// <summary>
/// The one way a test reads what a meter exports: the OpenTelemetry SDK collects it, as the agent's periodic reader
/// does, into a cumulative in-memory exporter, and each <see cref="Export"/> is read as <c>TunTelemetry.Testing</c>'s
/// <see cref="ExportedMetrics"/>, the type <see cref="PerDeviceActorHarness.Export"/> returns. A series the
/// instruments' callbacks no longer report is absent from the next export, as it would be from OTLP.
/// </summary>
/// <remarks>
/// Make it before the code under test records anything. A meter of its own per test: the SDK merges the
/// same-named meters of one process into one stream.
/// </remarks>
public sealed class MeterExport : IDisposable
{
    private readonly List<Metric> _exported = [];
    private readonly MeterProvider _provider;

    public MeterExport(Meter meter)
    {
        ArgumentNullException.ThrowIfNull(meter);
        _provider = Sdk.CreateMeterProviderBuilder().AddMeter(meter.Name).AddInMemoryExporter(_exported).Build();
    }

    /// <summary>Makes one export now and returns what it carried.</summary>
    public ExportedMetrics Export()
    {
        lock (_exported)
        {
            _exported.Clear();
            _provider.ForceFlush();
            return new ExportedMetrics(_exported); // internal: the test projects see TunTelemetry.Testing's internals
        }
    }

    /// <summary>
    /// How many values a histogram has recorded, summed over its series, in an export made now (an
    /// <see cref="ExportedPoint"/> carries sums and gauges only).
    /// </summary>
    public long HistogramCount(string metric)
    {
        lock (_exported)
        {
            _exported.Clear();
            _provider.ForceFlush();
            long count = 0;
            foreach (Metric m in _exported.Where(m => m.Name == metric))
            {
                foreach (ref readonly MetricPoint point in m.GetMetricPoints())
                {
                    count += point.GetHistogramCount();
                }
            }

            return count;
        }
    }

    public void Dispose() => _provider.Dispose();
}
