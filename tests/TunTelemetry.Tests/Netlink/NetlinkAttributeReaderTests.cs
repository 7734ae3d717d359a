using TunTelemetry.Netlink;
using Xunit;

namespace TunTelemetry.Tests.Netlink;

public sealed class NetlinkAttributeReaderTests
{
    [Fact]
    public void Walks_attributes_with_padding_and_strips_flag_bits_from_the_type()
    {
        byte[] run =
        [
            5, 0, 3, 0, (byte)'a', 0, 0, 0,           // type 3, 1-byte payload, 3 bytes of padding
            8, 0, 0x04, 0x80, 1, 2, 3, 4,             // type 4 with NLA_F_NESTED set
        ];
        var reader = new NetlinkAttributeReader(run);
        Assert.True(reader.Next());
        Assert.Equal(3, reader.Type);
        Assert.Equal("a"u8.ToArray(), reader.Payload.ToArray());
        Assert.True(reader.Next());
        Assert.Equal(4, reader.Type);
        Assert.Equal(4, reader.Payload.Length);
        Assert.False(reader.Next());
    }

    [Fact]
    public void The_last_attribute_may_end_without_its_padding()
    {
        byte[] run = [5, 0, 3, 0, (byte)'a'];
        var reader = new NetlinkAttributeReader(run);
        Assert.True(reader.Next());
        Assert.False(reader.Next());
    }

    [Theory]
    [InlineData(new byte[] { 9, 0, 3, 0, 1, 2, 3, 4 })]   // length past the end
    [InlineData(new byte[] { 2, 0, 3, 0 })]               // length shorter than the header
    [InlineData(new byte[] { 8, 0, 3, 0, 1, 2, 3, 4, 7 })] // a stray non-zero byte after the last attribute
    public void Rejects_a_truncated_attribute(byte[] run)
    {
        Assert.Throws<MalformedNetlinkReplyException>(() =>
        {
            var reader = new NetlinkAttributeReader(run);
            while (reader.Next())
            {
            }
        });
    }

    [Fact]
    public void Typed_getters_check_the_payload_size()
    {
        byte[] run = [6, 0, 4, 0, 1, 2, 0, 0];
        Assert.Throws<MalformedNetlinkReplyException>(() =>
        {
            var reader = new NetlinkAttributeReader(run);
            reader.Next();
            return reader.PayloadUInt32();
        });
    }
}
