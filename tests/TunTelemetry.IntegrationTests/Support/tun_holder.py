"""A real process that holds a TUN/TAP device open and never reads it, for the reader tests.

Usage: tun_holder.py NAME [--queues N] [--detach K] [--fork] [--tap] [--pi] [--vnet-hdr] [--no-up] [--as-user UID]
                    [--comm NAME] [--multi-queue] [--spare] [--commands]

Opens N queues of NAME (IFF_MULTI_QUEUE when N > 1), detaches the last K of them (TUNSETQUEUE with
IFF_DETACH_QUEUE), brings the device up (unless --no-up: an unprivileged process attaching to a
persistent device it owns may not), optionally forks a child that keeps the same descriptors, prints
"ready PID [CHILD_PID]" and waits for its standard input to close; then it (and the child) exit, which
deletes the device. Constants from uapi/linux/if_tun.h, uapi/linux/sockios.h and uapi/linux/prctl.h.

With --as-user UID it does what an unprivileged VPN daemon does (wireguard-go, openvpn --user): it opens its queues
as root, then drops to UID (its own group, no supplementary groups, no capabilities) before it says it is ready, so
it works where /dev/net/tun is root-only (mode 0600, as on hardened hosts and many container images).

With --comm NAME it names itself NAME (prctl PR_SET_NAME: what /proc/PID/stat and /proc/PID/comm show, at most 15
bytes), as any process may, hostile bytes included.

For the reader discovery tests, which need a process to change its open files while it runs: --queues 0 opens none
(with --no-up: there is no device to bring up), --multi-queue asks for IFF_MULTI_QUEUE whatever N, --spare holds one
more open file (/dev/null), and --commands reads lines from standard input after "ready" instead of waiting for it
to close, answering each with "done":
  open NAME   attach one more queue to NAME (one more open file)
  swap NAME   close the spare file, then attach a queue to NAME: the same number of open files, often the same fd
  move NAME   close the last queue, then attach a queue to NAME: the same number of open files
"""
import ctypes
import fcntl
import os
import socket
import struct
import sys

TUNSETIFF = 0x400454CA
TUNSETQUEUE = 0x400454D9
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_TUN = 0x0001
IFF_TAP = 0x0002
IFF_MULTI_QUEUE = 0x0100
IFF_DETACH_QUEUE = 0x0400
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000
IFF_UP = 0x1
PR_SET_NAME = 15
PR_SET_DUMPABLE = 4


def drop_to(uid):
    """Become UID for good: groups first (setgid needs root), then the uid, which clears every capability."""
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    # A process whose uid changed is not dumpable, which makes its /proc/PID/fd root's: an agent running as UID
    # could not see the queues its own user holds. A daemon that dropped privileges is read like any of UID's.
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE)")


def main(argv):
    name = argv[0]
    queues = int(argv[argv.index("--queues") + 1]) if "--queues" in argv else 1
    detach = int(argv[argv.index("--detach") + 1]) if "--detach" in argv else 0
    flags = IFF_TAP if "--tap" in argv else IFF_TUN
    if "--pi" not in argv:
        flags |= IFF_NO_PI
    if "--vnet-hdr" in argv:
        flags |= IFF_VNET_HDR
    if queues > 1 or "--multi-queue" in argv:
        flags |= IFF_MULTI_QUEUE

    def attach(device):
        fd = os.open("/dev/net/tun", os.O_RDWR)
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", device.encode("utf-8", "surrogateescape"), flags))
        return fd

    fds = []
    for _ in range(queues):
        fds.append(attach(name))
    spare = os.open("/dev/null", os.O_RDONLY) if "--spare" in argv else None
    for fd in fds[queues - detach:]:
        fcntl.ioctl(fd, TUNSETQUEUE, struct.pack("16sH22x", b"", IFF_DETACH_QUEUE))

    ipv6 = f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6"
    if "--no-up" not in argv and os.path.exists(ipv6):
        with open(ipv6, "w") as f:
            f.write("1")  # no router solicitations: drop counts stay exact
    if "--no-up" not in argv:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            raw = name.encode("utf-8", "surrogateescape")
            current = fcntl.ioctl(s, SIOCGIFFLAGS, struct.pack("16sH22x", raw, 0))
            up = struct.unpack("16sH22x", current)[1] | IFF_UP
            fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH22x", raw, up))

    if "--as-user" in argv:
        drop_to(int(argv[argv.index("--as-user") + 1]))

    if "--comm" in argv:
        comm = argv[argv.index("--comm") + 1].encode("utf-8", "surrogateescape")
        if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NAME, ctypes.c_char_p(comm), 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NAME)")

    pids = [os.getpid()]
    if "--fork" in argv:
        child = os.fork()
        if child == 0:
            sys.stdin.read()
            os._exit(0)
        pids.append(child)

    print("ready", *pids, flush=True)
    if "--commands" in argv:
        for line in sys.stdin:
            command, device = line.split()
            if command == "open":
                fds.append(attach(device))
            elif command == "swap":
                os.close(spare)
                fds.append(attach(device))
            elif command == "move":
                os.close(fds.pop())
                fds.append(attach(device))
            print("done", flush=True)
    sys.stdin.read()
    if len(pids) > 1:
        os.waitpid(pids[1], 0)


if __name__ == "__main__":
    main(sys.argv[1:])
