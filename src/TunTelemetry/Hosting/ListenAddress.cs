using System.Globalization;
using System.Net;

namespace TunTelemetry.Hosting;

/// <summary>
/// A TCP listen address written <c>HOST:PORT</c> (<c>127.0.0.1:9464</c>, <c>localhost:9464</c>, <c>[::1]:9464</c>), as
/// <c>tuntelemetry.prometheus.listen</c> and <c>--prometheus-listen</c> take it.
/// </summary>
internal sealed record ListenAddress(string Host, int Port)
{
    /// <summary>Parses <paramref name="text"/>, or says in one line what is wrong with it.</summary>
    public static bool TryParse(string text, out ListenAddress? address, out string error)
    {
        address = null;
        text = text.Trim();
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            error = $"'{text}' is not HOST:PORT, like 127.0.0.1:9464 or [::1]:9464";
            return false;
        }

        string host = text[..colon];
        string portText = text[(colon + 1)..];
        // An IPv6 address carries colons of its own, so it is written in brackets, as in a URL.
        bool bracketed = host.StartsWith('[') && host.EndsWith(']');
        if ((host.Contains(':') && !bracketed)
            || (bracketed && !IPAddress.TryParse(host[1..^1], out _))
            || (!bracketed && Uri.CheckHostName(host) == UriHostNameType.Unknown))
        {
            error = $"'{text}' is not HOST:PORT: '{host}' is not a host name or address (write an IPv6 address in brackets, like [::1]:9464)";
            return false;
        }

        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
        {
            error = $"'{text}' is not HOST:PORT: port '{portText}' is not a number from 1 to 65535";
            return false;
        }

        address = new ListenAddress(host, port);
        error = string.Empty;
        return true;
    }

    public override string ToString() => $"{Host}:{Port.ToString(CultureInfo.InvariantCulture)}";
}
