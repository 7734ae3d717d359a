using TunTelemetry.Netlink;
using TunTelemetry.Tests.Support;
using Xunit;

namespace TunTelemetry.Tests.Reliability;

/// <summary>
/// The namespace decoders against mutations of their real captures (flipped bytes, cut, grown, lying lengths) and
/// noise: each returns a value or throws a typed <see cref="NetlinkException"/>, nothing else.
/// </summary>
public sealed class NetnsFuzzTests
{
    private static readonly int Iterations =
        int.TryParse(Environment.GetEnvironmentVariable("TUNTELEMETRY_FUZZ_ITERATIONS"), out int n) ? n : 30_000;

    private static readonly byte[][] Seeds =
    [
        Fixture.Read(Fixture.NsidReply),
        Fixture.Read(Fixture.TargetedTunDump),
        Fixture.Read(Fixture.MovedLinkDelete),
    ];

    [Fact]
    public void Namespace_id_stats_and_move_decoders_throw_only_typed_errors_on_generated_messages()
    {
        var random = new Random(20261203);
        int decoded = 0, rejected = 0;
        for (int i = 0; i < Iterations; i++)
        {
            byte[] input = Mutate(random, Seeds[random.Next(Seeds.Length)]);
            try
            {
                var messages = new NetlinkMessageReader(input);
                while (messages.Next())
                {
                    _ = RtmNsidMessage.Decode(messages.Body);
                    decoded++;
                }
            }
            catch (NetlinkException)
            {
                rejected++;
            }

            try
            {
                var messages = new NetlinkMessageReader(input);
                while (messages.Next())
                {
                    _ = RtmNewLinkStats.TryRead(messages.Body, out _);
                    _ = LinkNetnsAttributes.Read(messages.Body);
                    decoded++;
                }
            }
            catch (NetlinkException)
            {
                rejected++;
            }
        }

        Assert.True(decoded > Iterations / 20, "the generator must also produce messages that decode");
        Assert.True(rejected > Iterations / 10, "the generator must produce malformed messages");
    }

    [Fact]
    public void The_control_message_reader_throws_only_typed_errors_on_generated_control_bytes()
    {
        var random = new Random(8);
        byte[] seed = Fixture.Read(Fixture.MovedLinkDeleteControl);
        int found = 0, rejected = 0;
        for (int i = 0; i < Iterations; i++)
        {
            try
            {
                if (NetlinkNsidControlMessage.TryReadNsid(Mutate(random, seed), out _))
                {
                    found++;
                }
            }
            catch (NetlinkException)
            {
                rejected++;
            }
        }

        Assert.True(found > 0);
        Assert.True(rejected > 0);
    }

    private static byte[] Mutate(Random random, byte[] seed)
    {
        byte[] input = (byte[])seed.Clone();
        switch (random.Next(5))
        {
            case 0:
                byte[] noise = new byte[random.Next(0, 200)];
                random.NextBytes(noise);
                return noise;
            case 1:
                for (int k = random.Next(1, 8); k > 0; k--)
                {
                    input[random.Next(input.Length)] ^= (byte)random.Next(1, 256);
                }

                return input;
            case 2:
                return input[..random.Next(input.Length)];
            case 3:
                byte[] longer = new byte[input.Length + random.Next(1, 64)];
                input.CopyTo(longer, 0);
                random.NextBytes(longer.AsSpan(input.Length));
                return longer;
            default:
                int at = random.Next(input.Length - 2) & ~3;
                BitConverter.TryWriteBytes(input.AsSpan(at), (ushort)random.Next(0, 65536));
                return input;
        }
    }
}
