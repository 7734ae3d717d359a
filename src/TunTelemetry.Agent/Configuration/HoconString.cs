using System.Globalization;
using System.Text;

namespace TunTelemetry.Agent.Configuration;

/// <summary>
/// A command-line value as a HOCON quoted string, which follows JSON's escaping: a quote, a backslash and control
/// characters are escaped, everything else stays as it is, so a regular expression like <c>\d+</c> survives intact.
/// Written out rather than taken from System.Text.Json, whose serializer would load that assembly (about 1 MB resident)
/// into every agent for this one line (docs/performance.md "Fixed cost per host").
/// </summary>
internal static class HoconString
{
    public static string Quote(string value)
    {
        var quoted = new StringBuilder(value.Length + 2).Append('"');
        foreach (char c in value)
        {
            _ = c switch
            {
                '"' => quoted.Append("\\\""),
                '\\' => quoted.Append("\\\\"),
                '\n' => quoted.Append("\\n"),
                '\t' => quoted.Append("\\t"),
                < ' ' => quoted.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)),
                _ => quoted.Append(c),
            };
        }

        return quoted.Append('"').ToString();
    }
}
