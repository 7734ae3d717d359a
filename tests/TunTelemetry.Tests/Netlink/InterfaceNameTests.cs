using TunTelemetry.Netlink;
using Xunit;

namespace TunTelemetry.Tests.Netlink;

public sealed class InterfaceNameTests
{
    [Theory]
    [InlineData("tun0")]
    [InlineData("a.b-c_d")]
    [InlineData("ünï")]
    public void Valid_utf8_names_decode_as_they_are(string name)
    {
        Assert.Equal(name, InterfaceName.Decode(System.Text.Encoding.UTF8.GetBytes(name)));
    }

    [Fact]
    public void Bytes_that_are_not_utf8_are_escaped_so_no_two_names_print_alike()
    {
        Assert.Equal("tun\\xff\\xfe", InterfaceName.Decode([(byte)'t', (byte)'u', (byte)'n', 0xff, 0xfe]));
        Assert.NotEqual(InterfaceName.Decode([0xff, (byte)'\\']), InterfaceName.Decode([0xfe, (byte)'\\']));
    }

    [Theory]
    [InlineData("")]
    [InlineData("sixteen-chars-xx")]
    [InlineData("a/b")]
    [InlineData("a:b")]
    [InlineData("a b")]
    public void Encoding_rejects_names_the_kernel_would_refuse(string name)
    {
        Assert.Throws<ArgumentException>(() => InterfaceName.Encode(name));
    }
}
