#!/usr/bin/env bash
# Cost of one /proc reader scan (tuntelemetry.metrics.reader-interval) with 1,000 extra processes holding 50 open
# files each (every 100th a TUN device, in a private network namespace), against the same host without them.
#   bash perf/reader-scan.sh [PROCESSES] [FILES_EACH] [SCANS]      defaults: 1000 50 20
# Needs root (creates the TUN devices). Prints the benchmark's lines for both runs.
set -euo pipefail
processes=${1:-1000}
files=${2:-50}
scans=${3:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
ns=ttscan$$
holder_pid=

cleanup() {
  [ -n "$holder_pid" ] && kill "$holder_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cc -O2 -o "$work/fdholders" "$root/perf/fdholders.c"
dotnet build -c Release "$root/tests/TunTelemetry.Perf" -o "$work/perf" >/dev/null
ulimit -n $((files + 64))

echo "# baseline: this host's own processes"
dotnet "$work/perf/TunTelemetry.Perf.dll" reader-scan "$scans"

ip netns add "$ns"
mkfifo "$work/in"
ip netns exec "$ns" "$work/fdholders" "$processes" "$files" < "$work/in" > "$work/out" &
holder_pid=$!
exec 3> "$work/in"
until grep -q ready "$work/out" 2>/dev/null; do sleep 0.2; done

echo "# with $processes more processes holding $files open files each"
dotnet "$work/perf/TunTelemetry.Perf.dll" reader-scan "$scans"
exec 3>&-
