using TunTelemetry.Agent.Diagnose;
using Xunit;

namespace TunTelemetry.Tests.Agent;

/// <summary>Why a device dropped, decided from what was seen over the window: the evidence in its order, first match wins.</summary>
public sealed class DropCauseTests
{
    private static readonly ThrottlingWindow Throttled = new("/kubepods/pod1/c1", 0.001, 0.1, 50, 40, 3.9);
    private static readonly ThrottlingWindow QuotaNeverHit = new("/kubepods/pod1/c1", 0.5, 0.1, 50, 0, 0);

    private static ReaderWindow Reader(char state = 'S', double? cpu = 0.05, double? delay = 0.01, ThrottlingWindow? throttling = null) =>
        new(4242, "wireguard-go", state, cpu, delay, throttling);

    private static DeviceWindow Device(params ReaderWindow[] readers) => new("wg0", null, 600, 500, 300, 600, readers, ReadersHidden: false);

    [Fact]
    public void A_device_nobody_holds_says_so_and_an_unprivileged_look_says_what_it_could_not_see()
    {
        DropCause cause = DropCause.Of(Device());
        Assert.Equal(DropCause.NobodyHolds, cause.Code);
        Assert.StartsWith("nobody holds it", cause.Evidence, StringComparison.Ordinal);
        Assert.Equal(DropCause.NoReaderVisible, DropCause.Of(Device() with { ReadersHidden = true }).Code);
    }

    [Fact]
    public void A_stopped_reader_comes_before_anything_its_cgroup_says()
    {
        DropCause cause = DropCause.Of(Device(Reader('T', cpu: 0, delay: 0, throttling: Throttled)));
        Assert.Equal(DropCause.ReaderStopped, cause.Code);
        Assert.Equal("its reader wireguard-go[4242] is stopped (SIGSTOP)", cause.Evidence);
        Assert.Equal("resume it (kill -CONT 4242) or detach the tracer", cause.Remedy);
        Assert.Contains("stopped by a tracer", DropCause.Of(Device(Reader('t'))).Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void A_throttled_cgroup_names_the_quota_and_the_share_of_periods_even_when_the_reader_also_waited()
    {
        // A throttled task waits on the run queue too: throttling is the cause, not a busy host.
        DropCause cause = DropCause.Of(Device(Reader(cpu: 0.01, delay: 0.95, throttling: Throttled)));
        Assert.Equal(DropCause.CgroupThrottled, cause.Code);
        Assert.Equal("its reader wireguard-go[4242]'s cgroup /kubepods/pod1/c1 was throttled in 80 % of its CPU periods (40 of 50, 3.90 s stopped) "
            + "by its quota of 1 ms per 100 ms (0.01 CPU)", cause.Evidence);
        Assert.Contains("resources.limits.cpu", cause.Remedy, StringComparison.Ordinal);
    }

    [Fact]
    public void A_reader_at_a_whole_core_cannot_keep_up_and_a_quota_it_never_hit_does_not_matter()
    {
        DropCause cause = DropCause.Of(Device(Reader(cpu: 0.97, throttling: QuotaNeverHit)));
        Assert.Equal(DropCause.ReaderSaturated, cause.Code);
        Assert.Equal("its reader wireguard-go[4242] used 97 % of a core: it cannot keep up on one core", cause.Evidence);
        Assert.Equal(DropCause.Unknown, DropCause.Of(Device(Reader(cpu: 0.89, delay: 0.09)) with { LargestBurst = 100 }).Code);
    }

    [Fact]
    public void A_reader_that_waited_for_a_cpu_is_held_back_by_a_busy_host()
    {
        DropCause cause = DropCause.Of(Device(Reader(cpu: 0.3, delay: 0.35)));
        Assert.Equal(DropCause.CpuContention, cause.Code);
        Assert.Equal("its reader wireguard-go[4242] waited 35 % of the time for a CPU: the host's CPUs are busy", cause.Evidence);
    }

    [Fact]
    public void Bursts_larger_than_the_queue_with_every_drop_in_them_are_bursts_else_the_cause_is_unknown_with_what_was_seen()
    {
        DeviceWindow bursty = Device(Reader(cpu: 0.2, delay: 0.02)) with { LargestBurst = 3000, DropsOutsideBursts = 0 };
        DropCause cause = DropCause.Of(bursty);
        Assert.Equal(DropCause.Bursts, cause.Code);
        Assert.Equal("raise its queue (ip link set dev wg0 txqueuelen 2000)", cause.Remedy);

        DropCause unknown = DropCause.Of(bursty with { DropsOutsideBursts = 10 });
        Assert.Equal(DropCause.Unknown, unknown.Code);
        Assert.Equal("cause unknown: its reader wireguard-go[4242] used 20 % of a core, waited 2 % of the time for a CPU, had no CPU quota", unknown.Evidence);
        Assert.EndsWith("an unknown share of the time for a CPU, had no CPU quota", DropCause.Of(Device(Reader(cpu: null, delay: null))).Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void With_several_readers_the_worst_one_is_named()
    {
        ReaderWindow calm = Reader(cpu: 0.1) with { Pid = 1, Name = "openvpn" };
        ReaderWindow hot = Reader(cpu: 0.99) with { Pid = 2, Name = "openvpn" };
        Assert.Contains("openvpn[2]", DropCause.Of(Device(calm, hot)).Evidence, StringComparison.Ordinal);
    }
}
