using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace TunTelemetry.IntegrationTests.Support;

/// <summary>
/// Debian's real Prometheus server with a configuration of our own: its own storage and loopback port in a temporary
/// directory, so it neither needs nor clashes with the system service the package installs. Removed on dispose.
/// </summary>
public sealed class PrometheusServer : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly string _work;

    private PrometheusServer(Process process, string work, int port)
    {
        _process = process;
        _work = work;
        Address = new Uri($"http://127.0.0.1:{port}/");
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Uri Address { get; }

    public bool HasExited => _process.HasExited;

    public string Output
    {
        get { lock (_output) { return _output.ToString(); } }
    }

    /// <summary>Starts <c>prometheus</c> with <paramref name="configuration"/> as its <c>prometheus.yml</c>.</summary>
    public static PrometheusServer Start(string server, string configuration)
    {
        string work = Directory.CreateTempSubdirectory("tt-prometheus-").FullName;
        int port = FreeLoopbackPort();
        File.WriteAllText(Path.Combine(work, "prometheus.yml"), configuration);
        var start = new ProcessStartInfo(server)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = work,
        };
        foreach (string argument in (string[])[
            $"--config.file={Path.Combine(work, "prometheus.yml")}",
            $"--storage.tsdb.path={Path.Combine(work, "data")}",
            $"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn"])
        {
            start.ArgumentList.Add(argument);
        }

        return new PrometheusServer(Process.Start(start) ?? throw new InvalidOperationException("could not start prometheus"), work, port);
    }

    /// <summary>
    /// An instant query through the HTTP API: the parsed answer whether it succeeded or not (a bad query is an error
    /// answer with status 400); null while the server is not listening yet.
    /// </summary>
    public async Task<JsonDocument?> QueryAsync(string promQl)
    {
        return await GetJsonAsync($"api/v1/query?query={Uri.EscapeDataString(promQl)}");
    }

    /// <summary>A GET of the HTTP API (<c>api/v1/rules</c>, <c>api/v1/alerts</c>, …); null while not listening yet.</summary>
    public async Task<JsonDocument?> GetJsonAsync(string relative)
    {
        try
        {
            using HttpResponseMessage response = await _http.GetAsync(new Uri(Address, relative));
            string body = await response.Content.ReadAsStringAsync();
            return body.Length == 0 ? null : JsonDocument.Parse(body);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// A loopback port free now, below the kernel's ephemeral range (net.ipv4.ip_local_port_range, 32768-60999 by
    /// default): the port is released before the server binds it, and a port from that range could meanwhile become the
    /// local end of any outgoing connection on the host.
    /// </summary>
    public static int FreeLoopbackPort()
    {
        while (true)
        {
            int port = Random.Shared.Next(20_000, 32_000);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // taken: try another
            }
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
        _http.Dispose();
        Directory.Delete(_work, recursive: true);
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}
