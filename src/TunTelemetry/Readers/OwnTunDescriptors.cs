namespace TunTelemetry.Readers;

/// <summary>
/// How many TUN/TAP queues this process holds open itself (the <c>demo</c> command's devices, the tests' devices):
/// the reader scan looks through the agent's own descriptors only while there are any.
/// </summary>
/// <remarks>
/// The agent holds a netlink socket per watched device and per-device actor, tens of thousands on a large host, and
/// listing and checking them costs the kernel a few microseconds each on every scan (docs/performance.md, "Reader
/// scan"), for a process that otherwise never opens <c>/dev/net/tun</c>. Code in the agent's process that opens a
/// device without counting it here is not seen as its reader.
/// </remarks>
internal static class OwnTunDescriptors
{
    private static int _open;

    /// <summary>True while this process holds a TUN/TAP queue it counted.</summary>
    public static bool Any => Volatile.Read(ref _open) > 0;

    /// <summary>Counts a queue this process opened (after <c>TUNSETIFF</c> attached it).</summary>
    public static void Opened() => Interlocked.Increment(ref _open);

    /// <summary>Counts a queue this process closed.</summary>
    public static void Closed() => Interlocked.Decrement(ref _open);
}
