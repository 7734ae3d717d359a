using Akka.Actor;
using TunTelemetry.Dispatch;
using Xunit;

namespace TunTelemetry.Tests.Dispatch;

public sealed class CompactMessageQueueTests
{
    [Fact]
    public void Messages_come_out_in_the_order_they_went_in()
    {
        var queue = new CompactMessageQueue();
        Assert.False(queue.HasMessages);

        for (int i = 0; i < 100; i++)
        {
            queue.Enqueue(ActorRefs.Nobody, new Envelope(i, ActorRefs.NoSender));
        }

        Assert.True(queue.HasMessages);
        Assert.Equal(100, queue.Count);
        for (int i = 0; i < 100; i++)
        {
            Assert.True(queue.TryDequeue(out Envelope envelope));
            Assert.Equal(i, envelope.Message);
        }

        Assert.False(queue.TryDequeue(out _));
        Assert.False(queue.HasMessages);
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public async Task Concurrent_senders_lose_and_duplicate_nothing()
    {
        var queue = new CompactMessageQueue();
        const int Senders = 4;
        const int PerSender = 20_000;
        var seen = new bool[Senders * PerSender];
        int received = 0;
        using var sendersDone = new CountdownEvent(Senders);

        var consumer = Task.Run(() =>
        {
            while (!sendersDone.IsSet || queue.HasMessages)
            {
                while (queue.TryDequeue(out Envelope envelope))
                {
                    int n = (int)envelope.Message;
                    Assert.False(seen[n], $"message {n} came out twice");
                    seen[n] = true;
                    received++;
                }
            }
        });
        Parallel.For(0, Senders, s =>
        {
            for (int i = 0; i < PerSender; i++)
            {
                queue.Enqueue(ActorRefs.Nobody, new Envelope((s * PerSender) + i, ActorRefs.NoSender));
            }

            sendersDone.Signal();
        });

        await consumer.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(Senders * PerSender, received);
    }

    [Fact]
    public void Clean_up_hands_what_is_left_to_dead_letters()
    {
        var queue = new CompactMessageQueue();
        var deadLetters = new CompactMessageQueue();
        queue.Enqueue(ActorRefs.Nobody, new Envelope("a", ActorRefs.NoSender));
        queue.Enqueue(ActorRefs.Nobody, new Envelope("b", ActorRefs.NoSender));

        queue.CleanUp(ActorRefs.Nobody, deadLetters);

        Assert.False(queue.HasMessages);
        Assert.True(deadLetters.TryDequeue(out Envelope first));
        Assert.True(deadLetters.TryDequeue(out Envelope second));
        Assert.Equal(["a", "b"], new[] { first.Message, second.Message });
    }
}
