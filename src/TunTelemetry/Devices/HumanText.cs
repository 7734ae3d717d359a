using System.Globalization;
using System.Text;

namespace TunTelemetry.Devices;

/// <summary>
/// The one way a name that someone else chose (a device's, a process's <c>comm</c>, a namespace's) reaches a person:
/// every character that a terminal or a log reader would act on instead of showing is written as an escape, so a name
/// can neither clear a screen, colour or retitle a terminal, plant a link, forge a log line nor reorder what follows.
/// </summary>
/// <remarks>
/// <para>
/// Written as <c>\xNN</c> (two lower-case hex digits, as systemd's journal and <c>systemd-escape</c> write bytes):
/// C0 controls (U+0000–U+001F, newline and tab included), DEL (U+007F) and C1 controls (U+0080–U+009F). Written as
/// <c>\uNNNN</c>: the characters that reorder or hide text (bidirectional embeddings, overrides and isolates
/// U+202A–U+202E and U+2066–U+2069, the marks U+200E, U+200F and U+061C, zero-width U+200B–U+200D, U+2060 and
/// U+FEFF, the line and paragraph separators U+2028 and U+2029), and UTF-16 halves that do not pair up.
/// </para>
/// <para>
/// Bytes of a device or process name that are not valid UTF-8 already arrive as <c>\xNN</c>
/// (<see cref="Netlink.InterfaceName.Decode"/>), so a person sees one notation for every byte that is not text. The
/// backslash itself is left as it is: a name that contains the four characters <c>\x1b</c> looks here like one with
/// an ESC byte. Where that matters, match on the machine outputs (<c>snapshot --json</c>, OTLP, Prometheus), which keep
/// the exact name. The result has no character that needs escaping, so escaping twice changes nothing.
/// </para>
/// </remarks>
internal static class HumanText
{
    /// <summary><paramref name="text"/> with every character a person should not receive raw written as an escape.</summary>
    public static string Escape(string text)
    {
        int first = IndexOfUnsafe(text);
        if (first < 0)
        {
            return text; // the usual case: nothing to copy
        }

        var escaped = new StringBuilder(text.Length + 16);
        escaped.Append(text, 0, first);
        for (int i = first; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                escaped.Append(c).Append(text[++i]); // a whole pair: a character beyond the BMP, shown as it is
            }
            else if (c < 0x20 || c is >= '\u007f' and <= '\u009f')
            {
                escaped.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
            }
            else if (IsUnsafe(c))
            {
                escaped.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            }
            else
            {
                escaped.Append(c);
            }
        }

        return escaped.ToString();
    }

    /// <summary>Whether <paramref name="text"/> has a character <see cref="Escape"/> would write as an escape.</summary>
    public static bool NeedsEscape(string text) => IndexOfUnsafe(text) >= 0;

    private static int IndexOfUnsafe(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
                continue;
            }

            if (IsUnsafe(c))
            {
                return i;
            }
        }

        return -1;
    }

    private static bool IsUnsafe(char c) =>
        c < 0x20
        || c is >= '\u007f' and <= '\u009f'
        || c is >= '\u200b' and <= '\u200f' // zero-width space, joiners, LRM, RLM
        || c is >= '\u2028' and <= '\u202e' // line and paragraph separators, bidi embeddings and overrides
        || c is >= '\u2060' and <= '\u2069' // word joiner, invisible operators, bidi isolates
        || c is '\u061c' or '\ufeff'
        || char.IsSurrogate(c); // a pair was skipped by the callers: this is an unpaired half
}
