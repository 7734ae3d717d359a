using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using TunTelemetry.Devices;
using TunTelemetry.Readers;

namespace TunTelemetry.Agent.Demo;

/// <summary>
/// A TUN or TAP device that drops packets for real, for the <c>demo</c> command and the real-kernel tests. It holds
/// the device's file descriptor and never reads it, so packets written into the device queue up; once its TX queue
/// (txqueuelen, 500 by default) is full, every further packet is counted as <c>tx_dropped</c>. Packets are written
/// with an <c>AF_PACKET</c> socket bound to the device: no address or route is involved and nothing leaves it.
/// Closing the descriptor deletes the device. Needs CAP_NET_ADMIN.
/// </summary>
internal sealed unsafe class DroppingTunDevice : IDisposable
{
    private int _fd;

    private DroppingTunDevice(int fd, string name, TunDeviceKind kind, int ifIndex)
    {
        _fd = fd;
        OwnTunDescriptors.Opened();
        Name = name;
        Kind = kind;
        IfIndex = ifIndex;
    }

    public string Name { get; }

    public TunDeviceKind Kind { get; }

    public int IfIndex { get; }

    /// <summary>Creates the device (a unique <c>ttNNNNNNNN</c> name unless one is given) and brings it up.</summary>
    public static DroppingTunDevice Create(TunDeviceKind kind = TunDeviceKind.Tun, string? name = null)
    {
        name ??= $"tt{Random.Shared.Next():x8}";
        byte[] nameBytes = Encoding.UTF8.GetBytes(name);
        if (nameBytes.Length > 15)
        {
            throw new ArgumentException($"device name '{name}' is longer than 15 bytes", nameof(name));
        }

        int fd = TunTapNative.Open("/dev/net/tun", TunTapNative.O_RDWR | TunTapNative.O_CLOEXEC);
        if (fd < 0)
        {
            TunTapNative.ThrowErrno("open(/dev/net/tun)");
        }

        try
        {
            var request = new TunTapNative.IfReq
            {
                Flags = (short)((kind == TunDeviceKind.Tap ? TunTapNative.IFF_TAP : TunTapNative.IFF_TUN) | TunTapNative.IFF_NO_PI),
            };
            nameBytes.CopyTo(new Span<byte>(request.Name, 16));
            if (TunTapNative.Ioctl(fd, TunTapNative.TUNSETIFF, &request) < 0)
            {
                TunTapNative.ThrowErrno($"TUNSETIFF {name}");
            }

            // The kernel's IPv6 router solicitations would add a drop or two; without IPv6 the counts are exact.
            string ipv6 = $"/proc/sys/net/ipv6/conf/{name}/disable_ipv6";
            if (File.Exists(ipv6))
            {
                File.WriteAllText(ipv6, "1");
            }

            SetUp(name);
            int ifIndex = (int)TunTapNative.IfNameToIndex(name);
            if (ifIndex == 0)
            {
                TunTapNative.ThrowErrno($"if_nametoindex {name}");
            }

            return new DroppingTunDevice(fd, name, kind, ifIndex);
        }
        catch
        {
            TunTapNative.Close(fd);
            throw;
        }
    }

    /// <summary>
    /// Writes <paramref name="count"/> small IPv4/UDP packets into the device's TX queue; returns how many the kernel
    /// accepted. Packets beyond the queue length are accepted and counted as dropped by the device.
    /// </summary>
    public int SendPackets(int count)
    {
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        // Protocol 0: a send-only packet socket. Bound to ETH_P_IP it would also receive a copy of every IPv4 packet
        // the host receives while it is open; the protocol of what we send is given per packet in sll_protocol.
        int socket = TunTapNative.Socket(TunTapNative.AF_PACKET, TunTapNative.SOCK_DGRAM | TunTapNative.SOCK_CLOEXEC, 0);
        if (socket < 0)
        {
            TunTapNative.ThrowErrno("socket(AF_PACKET)");
        }

        try
        {
            var address = new TunTapNative.SockAddrLl
            {
                Family = TunTapNative.AF_PACKET,
                Protocol = TunTapNative.HostToNetwork(TunTapNative.ETH_P_IP),
                IfIndex = IfIndex,
            };
            if (Kind == TunDeviceKind.Tap)
            {
                // SOCK_DGRAM on an Ethernet device builds the header from this destination: broadcast.
                address.HaLength = 6;
                new Span<byte>(address.Address, 6).Fill(0xff);
            }

            Span<byte> packet = stackalloc byte[Ipv4UdpPacket.Size];
            Ipv4UdpPacket.Write(packet);
            int sent = 0;
            fixed (byte* p = packet)
            {
                for (int i = 0; i < count; i++)
                {
                    if (TunTapNative.SendTo(socket, p, (nuint)packet.Length, 0, &address, sizeof(TunTapNative.SockAddrLl)) == packet.Length)
                    {
                        sent++;
                    }
                    else if (Marshal.GetLastPInvokeError() != 105)
                    {
                        // ENOBUFS (105) means the kernel refused this one packet: not sent, not counted. Anything else is a bug.
                        TunTapNative.ThrowErrno($"sendto {Name}");
                    }
                }
            }

            return sent;
        }
        finally
        {
            TunTapNative.Close(socket);
        }
    }

    /// <summary>Deletes the device (by closing its descriptor) and waits until the kernel has removed it.</summary>
    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd < 0)
        {
            return;
        }

        TunTapNative.Close(fd);
        OwnTunDescriptors.Closed();
        for (int i = 0; i < 200 && Directory.Exists($"/sys/class/net/{Name}"); i++)
        {
            Thread.Sleep(10);
        }
    }

    private static void SetUp(string name)
    {
        int socket = TunTapNative.Socket(TunTapNative.AF_INET, TunTapNative.SOCK_DGRAM | TunTapNative.SOCK_CLOEXEC, 0);
        if (socket < 0)
        {
            TunTapNative.ThrowErrno("socket(AF_INET)");
        }

        try
        {
            var request = new TunTapNative.IfReq();
            Encoding.UTF8.GetBytes(name).CopyTo(new Span<byte>(request.Name, 16));
            if (TunTapNative.Ioctl(socket, TunTapNative.SIOCGIFFLAGS, &request) < 0)
            {
                TunTapNative.ThrowErrno($"SIOCGIFFLAGS {name}");
            }

            request.Flags |= TunTapNative.IFF_UP;
            if (TunTapNative.Ioctl(socket, TunTapNative.SIOCSIFFLAGS, &request) < 0)
            {
                TunTapNative.ThrowErrno($"SIOCSIFFLAGS {name}");
            }
        }
        finally
        {
            TunTapNative.Close(socket);
        }
    }

    /// <summary>A 32-byte IPv4/UDP packet between documentation addresses (RFC 5737); it is never routed.</summary>
    private static class Ipv4UdpPacket
    {
        internal const int Size = 20 + 8 + 4;

        internal static void Write(Span<byte> p)
        {
            p.Clear();
            p[0] = 0x45; // version 4, 5-word header
            BinaryPrimitives.WriteUInt16BigEndian(p[2..], Size);
            p[8] = 64;   // TTL
            p[9] = 17;   // UDP
            ReadOnlySpan<byte> source = [192, 0, 2, 1];
            ReadOnlySpan<byte> destination = [192, 0, 2, 2];
            source.CopyTo(p[12..]);
            destination.CopyTo(p[16..]);
            BinaryPrimitives.WriteUInt16BigEndian(p[10..], Checksum(p[..20]));
            BinaryPrimitives.WriteUInt16BigEndian(p[20..], 40000); // source port
            BinaryPrimitives.WriteUInt16BigEndian(p[22..], 9);     // discard
            BinaryPrimitives.WriteUInt16BigEndian(p[24..], 8 + 4);
            "tunt"u8.CopyTo(p[28..]);
        }

        private static ushort Checksum(ReadOnlySpan<byte> header)
        {
            uint sum = 0;
            for (int i = 0; i < header.Length; i += 2)
            {
                sum += BinaryPrimitives.ReadUInt16BigEndian(header[i..]);
            }

            while (sum > 0xffff)
            {
                sum = (sum & 0xffff) + (sum >> 16);
            }

            return (ushort)~sum;
        }
    }
}
