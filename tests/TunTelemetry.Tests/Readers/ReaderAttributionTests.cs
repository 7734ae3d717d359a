using TunTelemetry.Devices;
using TunTelemetry.Readers;
using Xunit;

namespace TunTelemetry.Tests.Readers;

/// <summary>
/// Which watched device a reader found in <c>/proc</c> is given to, when device names repeat across namespaces and a
/// device or its holder changed namespace after attaching (the kernel's fdinfo names the device, never its namespace).
/// </summary>
public sealed class ReaderAttributionTests
{
    private const ulong Own = 4026531833;
    private const ulong A = 4026532100;
    private const ulong B = 4026532200;
    private const ulong Unwatched = 4026532300;

    private static readonly TunReader InOwn = new(100, "openvpn", 'S');
    private static readonly TunReader InA = new(200, "wireguard-go", 'S');
    private static readonly TunReader InB = new(300, "wireguard-go", 'T');

    private static TunReaderTable Table(params (ulong Netns, string Device, TunReader Reader)[] readers) =>
        new(readers.GroupBy(r => new NetnsDevice(r.Netns, r.Device))
            .ToDictionary(g => g.Key, g => (IReadOnlyList<TunReader>)g.Select(r => r.Reader).ToArray()), 100, 0);

    private static (ulong, TunDevice) Device(ulong netns, int ifIndex, string name) => (netns, new TunDevice(ifIndex, name, TunDeviceKind.Tun));

    [Fact]
    public void Each_same_named_device_gets_the_readers_of_its_own_namespace_only()
    {
        var table = Table((Own, "tun0", InOwn), (A, "tun0", InA), (B, "tun0", InB));
        ReaderAttribution.Attributed result = ReaderAttribution.Attribute(table,
            [Device(Own, 5, "tun0"), Device(A, 2, "tun0"), Device(B, 2, "tun0")], new HashSet<ulong> { Own, A, B });

        Assert.Equal([[InOwn], [InA], [InB]], result.Readers);
        Assert.Equal(0, result.Moved);
        Assert.Equal(0, result.Ambiguous);
    }

    [Fact]
    public void A_holder_whose_device_moved_to_another_watched_namespace_follows_it_when_its_name_is_watched_once()
    {
        // Measured: after `ip link set dev tun7 netns B` the holder in A still shows iff: tun7 and A has no tun7.
        var table = Table((A, "tun7", InA), (B, "tun0", InB));
        ReaderAttribution.Attributed result = ReaderAttribution.Attribute(table,
            [Device(B, 2, "tun0"), Device(B, 3, "tun7")], new HashSet<ulong> { Own, A, B });

        Assert.Equal([[InB], [InA]], result.Readers);
        Assert.Equal(1, result.Moved);
    }

    [Fact]
    public void A_holder_that_entered_another_namespace_after_attaching_is_a_reader_of_the_device_it_left_behind()
    {
        var table = Table((A, "wg0", InOwn)); // attached in our namespace, then setns into A
        ReaderAttribution.Attributed result = ReaderAttribution.Attribute(table, [Device(Own, 9, "wg0")], new HashSet<ulong> { Own, A });

        Assert.Equal([[InOwn]], result.Readers);
    }

    [Fact]
    public void A_holder_whose_name_is_watched_in_several_other_namespaces_is_left_out_and_counted()
    {
        var table = Table((A, "tun0", InA));
        ReaderAttribution.Attributed result = ReaderAttribution.Attribute(table,
            [Device(Own, 5, "tun0"), Device(B, 2, "tun0")], new HashSet<ulong> { Own, A, B });

        Assert.Equal([[], []], result.Readers);
        Assert.Equal(1, result.Ambiguous);
        Assert.Equal(0, result.Moved);
    }

    [Fact]
    public void A_holder_in_a_namespace_whose_devices_are_not_known_lends_no_readers_to_a_same_named_device()
    {
        // Without --all-namespaces only our namespace is listed: a container's tun0 holder is not our tun0's reader.
        var table = Table((Unwatched, "tun0", InA), (Own, "tun0", InOwn));
        ReaderAttribution.Attributed result = ReaderAttribution.Attribute(table, [Device(Own, 5, "tun0")], new HashSet<ulong> { Own });

        Assert.Equal([[InOwn]], result.Readers);
        Assert.Equal(0, result.Moved);
        Assert.Equal(0, result.Ambiguous);
    }

    [Fact]
    public void Readers_met_from_two_namespaces_on_one_device_are_ordered_by_pid()
    {
        var table = Table((B, "tun0", InB), (A, "tun0", InA)); // a forked holder: one child entered A
        ReaderAttribution.Attributed result = ReaderAttribution.Attribute(table, [Device(B, 2, "tun0")], new HashSet<ulong> { A, B });

        Assert.Equal([[InA, InB]], result.Readers);
    }
}
