using System.Diagnostics.Metrics;
using Akka.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TunTelemetry.Devices;
using TunTelemetry.Hosting;
using TunTelemetry.Metrics;
using TunTelemetry.Netlink;

namespace TunTelemetry.Agent.Demo;

/// <summary>
/// <c>demo</c>: shows the whole pipeline on a device that really drops packets. Creates a temporary TUN device, holds
/// it without reading, pushes packets into it every second, runs the agent on it (1 s polls, the real exporter) and
/// prints what <c>tundev.txq.drops</c> has counted beside the kernel's own <c>tx_dropped</c>. The device is removed on
/// exit, Ctrl-C included.
/// </summary>
internal static class DemoCommand
{
    internal static async Task<int> RunAsync(int packetsPerSecond, int seconds, CancellationToken cancellationToken)
    {
        if (packetsPerSecond is < 1 or > 1_000_000 || seconds < 0)
        {
            Console.Error.WriteLine("tuntelemetry: --packets must be 1 to 1000000 and --seconds 0 or more");
            return ExitCodes.BadUsage;
        }

        DroppingTunDevice device;
        try
        {
            device = DroppingTunDevice.Create(TunDeviceKind.Tun, $"tdemo{Random.Shared.Next(0, 0xfffff):x5}");
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"tuntelemetry: demo needs root (CAP_NET_ADMIN) to create a TUN device: {e.Message}");
            return ExitCodes.Failure;
        }

        using (device)
        {
            Console.WriteLine($"Created TUN device {device.Name} (ifindex {device.IfIndex}). Nothing reads it, so its TX queue "
                + $"(500 packets) fills and every further packet is dropped. Sending {packetsPerSecond} packets/s; Ctrl-C to stop.");

            using var meter = new Meter(TunDeviceMetrics.MeterName);
            using var drops = new ExportedCounter(meter, MetricNames.TxQueueDrops, device.Name);
            TunTelemetryOptions options = TunTelemetryOptions.Default with
            {
                PollInterval = TimeSpan.FromSeconds(1),
                NetlinkTimeout = TimeSpan.FromMilliseconds(500),
                Devices = new DeviceSelection(include: [$"^{device.Name}$"]),
            };
            using IHost host = AgentHost.Build(Config.Empty, options, console: false, t => t.UseMeter(meter));
            await host.StartAsync(cancellationToken).ConfigureAwait(false);

            // Ctrl-C reaches the host's console lifetime, which stops the application: stop sending then, too.
            IHostApplicationLifetime lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.ApplicationStopping);
            try
            {
                using RouteSocket socket = RouteSocket.Open();
                for (int second = 0; seconds == 0 || second < seconds; second++)
                {
                    device.SendPackets(packetsPerSecond);
                    await Task.Delay(TimeSpan.FromSeconds(1), stop.Token).ConfigureAwait(false);
                    Console.WriteLine($"{DateTime.Now:HH:mm:ss}  tundev.txq.drops{{network.interface.name={device.Name}}} = {drops.Total,9}"
                        + $"   kernel tx_dropped = {socket.ReadStats(LinkTarget.Own, device.IfIndex, device.Name).TxDropped,9}");
                }
            }
            catch (OperationCanceledException)
            {
                // Ctrl-C
            }
            finally
            {
                await host.StopAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }

        Console.WriteLine("Removed the demo device.");
        return ExitCodes.Success;
    }

    /// <summary>Reads one counter series now, as a cumulative exporter would see it.</summary>
    private sealed class ExportedCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _total;

        public ExportedCounter(Meter meter, string metric, string device)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == meter.Name && instrument.Name == metric)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (KeyValuePair<string, object?> tag in tags)
                {
                    if (tag.Key == MetricNames.InterfaceName && Equals(tag.Value, device))
                    {
                        Interlocked.Exchange(ref _total, value); // cumulative: the newest value is the total
                    }
                }
            });
            _listener.Start();
        }

        public long Total
        {
            get
            {
                _listener.RecordObservableInstruments();
                return Interlocked.Read(ref _total);
            }
        }

        public void Dispose() => _listener.Dispose();
    }
}
