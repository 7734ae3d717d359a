#!/usr/bin/env bash
# Chooses how the agent reads TUN devices in other network namespaces: (a) RTM_GETLINK with IFLA_TARGET_NETNSID from
# a socket in our own namespace against (b) RTM_GETSTATS on sockets opened inside the namespace (setns), per device
# per poll, plus the privilege each needs. See perf/netnspoll.c for what each mode does.
#   bash perf/netns.sh [DEVICES] [ROUNDS]     # defaults: 1000 devices, 200 rounds, each mode three times, interleaved;
#                                             # first in one namespace, then spread over NETNS_SPREAD (100) namespaces
# Needs root (makes the namespaces and their persistent TUN devices, removed on exit). Prints one line per run.
set -euo pipefail
devices=${1:-1000}
rounds=${2:-200}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
ns=ttnsperf$$
namespaces=()

cleanup() {
  for name in "${namespaces[@]}"; do ip netns del "$name" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
say() { echo "# $*" >&2; }

command -v cc >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libc6-dev >/dev/null; }
cc -O2 -Wall -o "$work/netnspoll" "$root/perf/netnspoll.c"
chmod 755 "$work" "$work/netnspoll"   # nobody runs it below

# Every namespace gets lo, a veth pair (as a container's eth0 would be) and its share of persistent TUN devices.
# A persistent TUN device that nobody reads counts every packet sent into it as tx_dropped: device i gets i % 5 + 1,
# so the counters differ per device and each mode's sum can be checked against sysfs.
make_ns() { # NAME DEVICES
  local name=$1 count=$2 batch="$work/batch"
  ip netns add "$name"
  namespaces+=("$name")
  { echo "link set lo up"; echo "link add ve0 type veth peer name ve1"
    for ((i = 0; i < count; i++)); do echo "tuntap add dev tn$i mode tun"; echo "link set tn$i up"; done; } > "$batch"
  ip -n "$name" -batch "$batch"
  ip netns exec "$name" python3 - "$count" <<'EOF2'
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM)
ipv4 = bytes.fromhex("4500001c000000004011000a0a0000010a000002") + bytes(8)
for i in range(int(sys.argv[1])):
    for _ in range(i % 5 + 1):
        s.sendto(ipv4, (f"tn{i}", 0x0800))
EOF2
}
sysfs_sum() { for name in "$@"; do ip netns exec "$name" sh -c 'cat /sys/class/net/tn*/statistics/tx_dropped'; done | awk '{ s += $1 } END { print s }'; }
compare() { # LABEL PATHS
  say "$1"
  for repeat in 1 2 3; do
    "$run" target "$2" tn "$rounds"
    "$run" target "$2" tn "$rounds" 8      # RTEXT_FILTER_SKIP_STATS: the smallest reply IFLA_EXT_MASK gives
    "$run" targetdump "$2" tn "$rounds"
    "$run" targetdumptun "$2" tn "$rounds"
    "$run" setns "$2" tn "$rounds"
  done
}
run="$work/netnspoll"

say "making $devices TUN devices in namespace $ns"
make_ns "$ns" "$devices"
echo "sysfs tx_dropped_sum=$(sysfs_sum "$ns")"
path=/run/netns/$ns
compare "$devices devices in one namespace" "$path"

spread=${NETNS_SPREAD:-100}
say "making $devices TUN devices over $spread namespaces"
spread_paths=()
for ((n = 0; n < spread; n++)); do make_ns "$ns-$n" $((devices / spread)); spread_paths+=("/run/netns/$ns-$n"); done
echo "sysfs tx_dropped_sum=$(sysfs_sum "${namespaces[@]:1}")"
compare "$devices devices over $spread namespaces" "$(IFS=:; echo "${spread_paths[*]}")"

say "does RTM_GETSTATS take a target namespace? (ifindex $((devices + 1)) exists only in $ns)"
"$run" statsprobe "$path" "$((devices + 1))" || true
say "and for ifindex 1, which exists in both (lo): the plain request reads ours"
"$run" statsprobe "$path" 1 || true

as_nobody_with_net_admin=(setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=+net_admin --ambient-caps=+net_admin)
as_nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
say "as nobody with CAP_NET_ADMIN only"
"${as_nobody_with_net_admin[@]}" "$run" target "$path" tn 5 2>&1 || true
"${as_nobody_with_net_admin[@]}" "$run" setns "$path" tn 5 2>&1 || true
say "as nobody without capabilities"
"${as_nobody[@]}" "$run" target "$path" tn 5 2>&1 || true
