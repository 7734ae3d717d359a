"""Writes COUNT small IPv4/UDP packets into device NAME's TX queue through an AF_PACKET socket (packet(7)).

Usage: send_packets.py NAME COUNT. Run with `ip netns exec NS` for a device in another namespace. Nothing is routed:
the packets go straight into the device, whose reader (if any) would receive them. Prints how many were accepted.
"""
import errno
import socket
import struct
import sys


def checksum(header):
    total = sum(struct.unpack("!10H", header))
    total = (total & 0xFFFF) + (total >> 16)
    return ~(total + (total >> 16)) & 0xFFFF


def packet():
    payload = b"tuntelemetry"
    udp = struct.pack("!HHHH", 9, 9, 8 + len(payload), 0) + payload
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                         bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2]))
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + udp


def main(name, count):
    data = packet()
    sent = 0
    with socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0) as s:
        for _ in range(count):
            try:
                s.sendto(data, (name, 0x0800))
                sent += 1
            except OSError as e:
                if e.errno != errno.ENOBUFS:
                    raise
    print(sent, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
