using TunTelemetry.Netlink;
using TunTelemetry.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace TunTelemetry.Tests.Reliability;

/// <summary>
/// Hostile input: generated replies (mutations of real captures, and random bytes) thrown at every decoder. The only
/// acceptable outcomes are a value or a typed <see cref="NetlinkException"/>; anything else (an index out of range,
/// an overflow, a hang) fails. CI runs a fast sample; <c>TUNTELEMETRY_FUZZ_ITERATIONS=1000000</c> is the long mode.
/// </summary>
public sealed class NetlinkFuzzTests(ITestOutputHelper output)
{
    private static readonly int Iterations =
        int.TryParse(Environment.GetEnvironmentVariable("TUNTELEMETRY_FUZZ_ITERATIONS"), out int n) ? n : 30_000;

    private static readonly byte[][] Seeds =
    [
        Fixture.Read(Fixture.LoopbackStats),
        Fixture.Read(Fixture.TunWithDrops),
        Fixture.Read(Fixture.NoSuchDevice),
    ];

    [Fact]
    public void Stats_reply_decoder_throws_only_typed_errors_on_generated_replies()
    {
        int values = 0, stale = 0, rejected = 0;
        var random = new Random(20261125);
        for (int i = 0; i < Iterations; i++)
        {
            byte[] reply = Generate(random);
            NetlinkHeader header = reply.Length >= NetlinkHeader.Size ? NetlinkHeader.Read(reply) : default;
            try
            {
                if (RtmNewStatsReply.TryDecode(reply, header.Sequence, header.PortId, 1, out _))
                {
                    values++;
                }
                else
                {
                    stale++; // only possible when the header's sequence or port id disagree with themselves: never here
                }
            }
            catch (NetlinkException)
            {
                rejected++;
            }
        }

        output.WriteLine($"{Iterations} generated replies: {values} decoded, {rejected} rejected with typed errors");
        Assert.Equal(0, stale); // the sequence and port id asked for are the reply's own
        Assert.True(values > Iterations / 20, "the generator must also produce replies that decode");
        Assert.True(rejected > Iterations / 10, "the generator must produce malformed replies");
    }

    [Fact]
    public void Message_attribute_and_link_decoders_throw_only_typed_errors_on_generated_input()
    {
        var random = new Random(7);
        int rejected = 0;
        for (int i = 0; i < Iterations; i++)
        {
            byte[] input = Generate(random);
            try
            {
                var messages = new NetlinkMessageReader(input);
                while (messages.Next())
                {
                    var attributes = new NetlinkAttributeReader(messages.Body.Length > 16 ? messages.Body[16..] : messages.Body);
                    while (attributes.Next())
                    {
                    }

                    RtmNewLinkMessage.Decode(messages.Body);
                }
            }
            catch (MalformedNetlinkReplyException)
            {
                rejected++;
            }
        }

        Assert.True(rejected > 0);
    }

    private static byte[] Generate(Random random)
    {
        int strategy = random.Next(6);
        if (strategy == 0)
        {
            byte[] noise = new byte[random.Next(0, 300)];
            random.NextBytes(noise);
            return noise;
        }

        byte[] reply = (byte[])Seeds[random.Next(Seeds.Length)].Clone();
        switch (strategy)
        {
            case 1: // flip bytes
                for (int k = random.Next(1, 8); k > 0; k--)
                {
                    reply[random.Next(reply.Length)] ^= (byte)random.Next(1, 256);
                }

                return reply;
            case 2: // truncate
                return reply[..random.Next(reply.Length)];
            case 3: // extend with junk
                byte[] longer = new byte[reply.Length + random.Next(1, 64)];
                reply.CopyTo(longer, 0);
                random.NextBytes(longer.AsSpan(reply.Length));
                return longer;
            case 4: // lie in a length field (message or attribute)
                int at = random.Next(2) == 0 ? 0 : NetlinkHeader.Size + IfStatsMsg.Size;
                if (at + 2 <= reply.Length)
                {
                    BitConverter.TryWriteBytes(reply.AsSpan(at), (ushort)random.Next(0, 65536));
                }

                return reply;
            default: // valid structure, random counters
                if (reply.Length > 40)
                {
                    random.NextBytes(reply.AsSpan(NetlinkHeader.Size + IfStatsMsg.Size + 4));
                }

                return reply;
        }
    }
}
