using TunTelemetry.Devices;
using TunTelemetry.Netlink;
using Xunit;

namespace TunTelemetry.Tests.Devices;

public sealed class HumanTextTests
{
    [Theory]
    [InlineData("wg0", "wg0")]
    [InlineData("tt\u001b[2Jx", "tt\\x1b[2Jx")] // clears the screen
    [InlineData("a\"b\nc{d}\\e\u001b[31m", "a\"b\\x0ac{d}\\e\\x1b[31m")] // a newline forges a line; a quote and a backslash stay
    [InlineData("tab\there\r", "tab\\x09here\\x0d")]
    [InlineData("nul\0del\u007f", "nul\\x00del\\x7f")]
    [InlineData("csi\u009b31m", "csi\\x9b31m")] // a C1 control: the one-character CSI
    [InlineData("osc\u001b]8;;http://x\u0007link", "osc\\x1b]8;;http://x\\x07link")] // an OSC 8 link, BEL-terminated
    [InlineData("abc\u202edcb", "abc\\u202edcb")] // right-to-left override
    [InlineData("a\u2066b\u2069c", "a\\u2066b\\u2069c")] // bidi isolates
    [InlineData("zero\u200bwidth\ufeff", "zero\\u200bwidth\\ufeff")]
    [InlineData("line\u2028sep", "line\\u2028sep")]
    [InlineData("wg-é-ü-名", "wg-é-ü-名")] // letters of any script are text
    [InlineData("tun\U0001F600", "tun\U0001F600")] // a character beyond the BMP: a surrogate pair, kept whole
    [InlineData("\\x80", "\\x80")] // how a byte that is not UTF-8 arrives (InterfaceName.Decode): already visible
    public void Escapes_what_a_terminal_would_act_on_and_keeps_text(string name, string shown) =>
        Assert.Equal(shown, HumanText.Escape(name));

    [Fact]
    public void An_unpaired_surrogate_is_shown_as_its_code_unit() =>
        Assert.Equal("a\\ud800b\\udc00", HumanText.Escape("a\ud800b\udc00"));

    [Fact]
    public void Escaping_twice_changes_nothing()
    {
        string once = HumanText.Escape("x\u001b\n\u009b\u202e\ud800");
        Assert.False(HumanText.NeedsEscape(once));
        Assert.Equal(once, HumanText.Escape(once));
    }

    [Fact]
    public void Every_control_character_is_escaped_and_nothing_else_below_U_00A0()
    {
        for (int c = 0; c < 0xa0; c++)
        {
            string shown = HumanText.Escape(((char)c).ToString());
            bool control = c < 0x20 || c >= 0x7f;
            Assert.Equal(control ? $"\\x{c:x2}" : ((char)c).ToString(), shown);
        }
    }

    [Fact]
    public void A_device_name_that_is_not_UTF8_is_shown_in_the_same_notation()
    {
        string name = InterfaceName.Decode([(byte)'t', 0x1b, 0xff, (byte)'\\']);
        Assert.Equal("t\\x1b\\xff\\x5c", name);
        Assert.Equal(name, HumanText.Escape(name));
    }
}
