using Akka.Actor;
using Akka.Dispatch;
using Akka.Dispatch.MessageQueues;

namespace TunTelemetry.Dispatch;

/// <summary>
/// An unbounded mailbox queue that costs about 150 bytes while it holds a few messages, instead of the 1 KiB that
/// Akka's default (a <c>ConcurrentQueue</c> with its first 32-slot segment) reserves per actor.
/// </summary>
/// <remarks>
/// A per-device actor receives a tick every poll interval and almost never has more than one message queued, and
/// there are two such actors per device: at 10,000 devices the default queues were 20 MB of the agent's heap. A short
/// uncontended lock per enqueue and dequeue costs tens of nanoseconds against a poll's microseconds.
/// </remarks>
internal sealed class CompactMessageQueue : IMessageQueue, IUnboundedMessageQueueSemantics
{
    // The aggregator's queue takes a burst of readings every tick; keeping room for a normal burst saves a reallocation
    // per tick, and only a flood (start-up with thousands of devices) is given back.
    private const int TrimAboveCapacity = 1024;

    private readonly Queue<Envelope> _queue = new();
    private volatile int _count;

    public bool HasMessages => _count > 0;

    public int Count => _count;

    public void Enqueue(IActorRef receiver, Envelope envelope)
    {
        lock (_queue)
        {
            _queue.Enqueue(envelope);
            _count = _queue.Count;
        }
    }

    public bool TryDequeue(out Envelope envelope)
    {
        if (_count == 0)
        {
            envelope = default;
            return false;
        }

        lock (_queue)
        {
            bool dequeued = _queue.TryDequeue(out envelope);
            _count = _queue.Count;
            if (_count == 0 && _queue.EnsureCapacity(0) > TrimAboveCapacity)
            {
                _queue.TrimExcess();
            }

            return dequeued;
        }
    }

    public void CleanUp(IActorRef owner, IMessageQueue deadletters)
    {
        while (TryDequeue(out Envelope envelope))
        {
            deadletters.Enqueue(owner, envelope);
        }
    }
}
