using System.Text;

namespace TunTelemetry.Netlink;

/// <summary>
/// Interface names are up to 15 arbitrary bytes except <c>/</c>, <c>:</c>, whitespace and NUL: not necessarily UTF-8.
/// Valid UTF-8 (dots, dashes, non-ASCII letters) decodes as it is; any other byte becomes <c>\xNN</c>, so two
/// different names never print the same and nothing is silently replaced.
/// </summary>
internal static class InterfaceName
{
    /// <summary>IFNAMSIZ - 1.</summary>
    public const int MaxLength = 15;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static string Decode(ReadOnlySpan<byte> name)
    {
        if (System.Text.Unicode.Utf8.IsValid(name))
        {
            return StrictUtf8.GetString(name);
        }

        var text = new StringBuilder(name.Length * 4);
        foreach (byte b in name)
        {
            if (b is >= 0x20 and < 0x7f && b != (byte)'\\')
            {
                text.Append((char)b);
            }
            else
            {
                text.Append("\\x").Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return text.ToString();
    }

    /// <summary>
    /// Whether the kernel's <paramref name="bytes"/> are the name <paramref name="name"/> (as <see cref="Decode"/> gives
    /// it). Allocates nothing for a valid UTF-8 name: it is asked at every poll of a device of another namespace.
    /// </summary>
    internal static bool Matches(ReadOnlySpan<byte> bytes, string name)
    {
        if (bytes.Length > MaxLength + 1 || !System.Text.Unicode.Utf8.IsValid(bytes))
        {
            return Decode(bytes) == name;
        }

        Span<char> chars = stackalloc char[MaxLength + 1];
        int length = StrictUtf8.GetChars(bytes, chars);
        return chars[..length].SequenceEqual(name);
    }

    /// <summary>The bytes of a name as given by a person (UTF-8), checked against the kernel's rules.</summary>
    public static byte[] Encode(string name)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(name);
        if (bytes.Length is 0 or > MaxLength)
        {
            throw new ArgumentException($"interface name '{name}' must have 1 to {MaxLength} bytes, it has {bytes.Length}", nameof(name));
        }

        if (bytes.AsSpan().IndexOfAny("/: \t\n\r\v\f\0"u8) >= 0)
        {
            throw new ArgumentException($"interface name '{name}' contains '/', ':', whitespace or NUL", nameof(name));
        }

        return bytes;
    }
}
