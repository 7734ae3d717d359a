using System.Runtime.InteropServices;

namespace TunTelemetry.IntegrationTests.Support;

/// <summary>
/// Sends IPv4 packets into a device of another network namespace through an <c>AF_PACKET</c> socket opened inside it.
/// A socket stays in the namespace it was created in, so a dedicated thread enters the namespace (<c>setns</c>),
/// opens the socket, and leaves again; no thread-pool thread ever changes namespace.
/// </summary>
internal static partial class NamespacePackets
{
    private const int AF_PACKET = 17;
    private const int SOCK_DGRAM = 2;
    private const int SOCK_CLOEXEC = 0x80000;
    private const int CLONE_NEWNET = 0x40000000;
    private const ushort ETH_P_IP = 0x0800;

    public static int Send(string namespacePath, string device, int count)
    {
        int sent = 0;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                sent = SendInside(namespacePath, device, count);
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        return failure is null ? sent : throw new InvalidOperationException($"sending into {device} in {namespacePath} failed", failure);
    }

    private static int SendInside(string namespacePath, string device, int count)
    {
        using var own = File.OpenHandle("/proc/thread-self/ns/net");
        using var target = File.OpenHandle(namespacePath);
        Check(SetNs(target.DangerousGetHandle().ToInt32(), CLONE_NEWNET), "setns into the namespace");
        int socket = -1;
        uint ifIndex;
        try
        {
            ifIndex = IfNameToIndex(device);
            Check(ifIndex == 0 ? -1 : 0, $"if_nametoindex {device}");
            socket = Socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            Check(socket, "socket(AF_PACKET)");
        }
        finally
        {
            // Back out before anything else runs on this thread, even if the socket failed.
            Check(SetNs(own.DangerousGetHandle().ToInt32(), CLONE_NEWNET), "setns back");
        }

        try
        {
            // sockaddr_ll: family, protocol (network order), ifindex, hatype, pkttype, halen, addr[8].
            byte[] address = new byte[20];
            BitConverter.TryWriteBytes(address.AsSpan(0), (ushort)AF_PACKET);
            address[2] = ETH_P_IP >> 8;
            address[3] = ETH_P_IP & 0xff;
            BitConverter.TryWriteBytes(address.AsSpan(4), (int)ifIndex);
            // A 28-byte IPv4/UDP packet 10.0.0.1 -> 10.0.0.2 (the checksum does not matter: nothing reads it).
            byte[] packet = Convert.FromHexString("4500001c000000004011000a0a0000010a000002" + "0000000000000000");
            int sent = 0;
            for (int i = 0; i < count; i++)
            {
                if (SendTo(socket, packet, (nuint)packet.Length, 0, address, address.Length) == packet.Length)
                {
                    sent++;
                }
            }

            return sent;
        }
        finally
        {
            _ = Close(socket);
        }
    }

    private static void Check(int result, string what)
    {
        if (result < 0)
        {
            throw new InvalidOperationException($"{what}: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nsType);

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "sendto", SetLastError = true)]
    private static partial nint SendTo(int fd, byte[] buffer, nuint length, int flags, byte[] address, int addressLength);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "if_nametoindex", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial uint IfNameToIndex(string name);
}
