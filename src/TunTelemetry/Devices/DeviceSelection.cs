using System.Text.RegularExpressions;
using TunTelemetry.Netlink;

namespace TunTelemetry.Devices;

/// <summary>Which kinds of device to watch.</summary>
[Flags]
public enum TunKindSelection
{
    Tun = 1,
    Tap = 2,
    All = Tun | Tap,
}

/// <summary>
/// Which devices are watched: TUN and/or TAP, names matching any include pattern (all when there is none) and no
/// exclude pattern. Patterns are .NET regular expressions matched anywhere in the name unless anchored.
/// </summary>
public sealed class DeviceSelection
{
    // Names are at most 15 bytes; a pattern that needs longer than this is pathological, not slow.
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(100);

    private readonly Regex[] _include;
    private readonly Regex[] _exclude;

    public DeviceSelection(TunKindSelection kinds = TunKindSelection.All, IEnumerable<string>? include = null, IEnumerable<string>? exclude = null)
    {
        if ((kinds & TunKindSelection.All) == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(kinds), kinds, "select tun, tap or both");
        }

        Kinds = kinds;
        _include = Compile(include, "include");
        _exclude = Compile(exclude, "exclude");
    }

    public static DeviceSelection All { get; } = new();

    internal TunKindSelection Kinds { get; }

    internal IReadOnlyList<string> IncludePatterns => _include.Select(r => r.ToString()).ToArray();

    internal IReadOnlyList<string> ExcludePatterns => _exclude.Select(r => r.ToString()).ToArray();

    internal bool Matches(TunDevice device)
    {
        TunKindSelection kind = device.Kind == TunDeviceKind.Tap ? TunKindSelection.Tap : TunKindSelection.Tun;
        if ((Kinds & kind) == 0)
        {
            return false;
        }

        if (_include.Length > 0 && !_include.Any(r => r.IsMatch(device.Name)))
        {
            return false;
        }

        return !_exclude.Any(r => r.IsMatch(device.Name));
    }

    /// <summary>The TUN/TAP device a link is, if this selection watches it.</summary>
    internal TunDevice? Select(LinkDescription link) =>
        TunDevice.FromLink(link) is { } device && Matches(device) ? device : null;

    private static Regex[] Compile(IEnumerable<string>? patterns, string what)
    {
        if (patterns is null)
        {
            return [];
        }

        return patterns.Select(p =>
        {
            try
            {
                return new Regex(p, RegexOptions.CultureInvariant, MatchTimeout);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"{what} pattern '{p}' is not a valid regular expression: {e.Message}", what, e);
            }
        }).ToArray();
    }
}
