using System.Text;
using TunTelemetry.Readers;
using TunTelemetry.Tests.Support;
using Xunit;

namespace TunTelemetry.Tests.Readers;

/// <summary>The /proc texts of the reader scan, captured from this kernel, and the ways they can differ.</summary>
public sealed class ProcTextTests
{
    [Fact]
    public void The_device_of_a_captured_tun_fdinfo_is_read()
    {
        Assert.True(ProcText.TryReadIff(Fixture.Read(Fixture.TunFdInfo), out ReadOnlySpan<byte> name));
        Assert.Equal("ttcapfd", Encoding.ASCII.GetString(name));
    }

    [Theory]
    [InlineData("pos:\t0\nflags:\t02\nmnt_id:\t23\nino:\t103\n")] // a tun file not attached to a device
    [InlineData("pos:\t0\nflags:\t02\niff:\t")] // an empty name
    [InlineData("")]
    public void An_fdinfo_without_a_device_has_none(string text)
    {
        Assert.False(ProcText.TryReadIff(Encoding.ASCII.GetBytes(text), out _));
    }

    [Fact]
    public void An_iff_line_without_a_newline_at_the_end_is_read()
    {
        Assert.True(ProcText.TryReadIff("pos:\t0\niff:\twg0"u8, out ReadOnlySpan<byte> name));
        Assert.Equal("wg0", Encoding.ASCII.GetString(name));
    }

    [Fact]
    public void A_stopped_process_with_parentheses_in_its_name_is_read_to_the_last_parenthesis()
    {
        Assert.True(ProcText.TryReadStat(Fixture.Read(Fixture.StoppedStatWithParens), out ReadOnlySpan<byte> comm, out char state));
        Assert.Equal("tt (x) y", Encoding.ASCII.GetString(comm));
        Assert.Equal('T', state);
        Assert.True(new TunReader(1, "tt (x) y", state).IsStopped);
    }

    [Theory]
    [InlineData("1234 (wireguard-go")]
    [InlineData("1234 (wireguard-go)")]
    [InlineData("1234 wireguard-go S")]
    [InlineData("")]
    public void A_cut_or_foreign_stat_is_rejected(string text)
    {
        Assert.False(ProcText.TryReadStat(Encoding.ASCII.GetBytes(text), out _, out _));
    }

    [Theory]
    [InlineData("net:[4026531833]", 4026531833UL)]
    [InlineData("net:[1]", 1UL)]
    public void A_network_namespace_link_gives_its_inode(string link, ulong inode)
    {
        Assert.True(ProcText.TryReadNetNamespace(Encoding.ASCII.GetBytes(link), out ulong read));
        Assert.Equal(inode, read);
    }

    [Theory]
    [InlineData("mnt:[4026531833]")]
    [InlineData("net:[]")]
    [InlineData("net:[12x]")]
    [InlineData("net:[12")]
    [InlineData("net:[99999999999999999999999]")]
    public void Anything_else_is_not_a_network_namespace(string link)
    {
        Assert.False(ProcText.TryReadNetNamespace(Encoding.ASCII.GetBytes(link), out _));
    }

    [Theory]
    [InlineData('R', "running", false, false)]
    [InlineData('S', "sleeping", false, false)]
    [InlineData('D', "disk-sleep", false, false)]
    [InlineData('T', "stopped", true, true)]
    [InlineData('t', "tracing-stop", true, true)]
    [InlineData('Z', "zombie", false, true)]
    [InlineData('?', "unknown", false, false)]
    public void A_readers_state_letter_has_a_name_and_says_whether_it_can_read(char state, string name, bool stopped, bool notRunning)
    {
        var reader = new TunReader(42, "wireguard-go", state);
        Assert.Equal(name, reader.StateName);
        Assert.Equal(stopped, reader.IsStopped);
        Assert.Equal(notRunning, reader.IsNotRunning);
        Assert.Equal("wireguard-go[42]", reader.ToString());
    }
}
