#!/usr/bin/env bash
# Cost of /proc reader discovery (tuntelemetry.metrics.reader-interval) with 1,000 extra processes holding 50 open
# files each (3 of them a TUN device each, in a private network namespace), against the same host without them; then a
# steady hour's worth of discovery, this tree against the commit it is compared with, interleaved.
#   bash perf/reader-scan.sh [PROCESSES] [FILES_EACH] [SCANS] [DEVICES] [HOURS]      defaults: 1000 50 20 3 3
# SCANS full scans are timed per scan (TunTelemetry.Perf reader-scan). Then HOURS times, alternately: the base's build
# doing 60 full scans (a scan a minute, as it did every minute: its "per scan" CPU times 60 is its hour), and this
# tree's doing a simulated hour (TunTelemetry.Perf reader-hour: 60 scans, a full one every 15 minutes).
# The base is READER_SCAN_BASE (a commit), by default where this branch left main (git merge-base HEAD main).
# Needs root (creates the TUN devices). Prints the benchmark's lines for every run and the hours side by side.
set -euo pipefail
processes=${1:-1000}
files=${2:-50}
scans=${3:-20}
devices=${4:-3}
hours=${5:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
base=${READER_SCAN_BASE:-$(git -C "$root" merge-base HEAD main)}
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
# The base from git's objects, not a worktree: nothing is registered in the repository.
mkdir "$work/base-src"
git -C "$root" archive "$base" | tar -x -C "$work/base-src"
dotnet build -c Release "$work/base-src/tests/TunTelemetry.Perf" -o "$work/base" >/dev/null
ulimit -n $((files + 64))

echo "# baseline: this host's own processes"
dotnet "$work/perf/TunTelemetry.Perf.dll" reader-scan "$scans"

ip netns add "$ns"
mkfifo "$work/in"
ip netns exec "$ns" "$work/fdholders" "$processes" "$files" "$devices" < "$work/in" > "$work/out" &
holder_pid=$!
exec 3> "$work/in"
until grep -q ready "$work/out" 2>/dev/null; do sleep 0.2; done

echo "# with $processes more processes holding $files open files each, $devices of them a TUN device"
dotnet "$work/perf/TunTelemetry.Perf.dll" reader-scan "$scans"

echo "# a steady hour: base $(git -C "$root" rev-parse --short "$base") (60 full scans) and this tree (reader-hour), interleaved"
for i in $(seq "$hours"); do
  base_out=$(dotnet "$work/base/TunTelemetry.Perf.dll" reader-scan 60)
  echo "$base_out"
  this_out=$(dotnet "$work/perf/TunTelemetry.Perf.dll" reader-hour)
  echo "$this_out"
  before=$(sed -n 's/^per scan: .*cpu \([0-9.]*\) ms.*/\1/p' <<< "$base_out")
  after=$(sed -n 's/^hour: .*cpu \([0-9.]*\) ms.*/\1/p' <<< "$this_out")
  awk -v b="$before" -v a="$after" -v i="$i" \
    'BEGIN { printf "hour %d: base %.0f ms of CPU (60 x %.1f ms), this tree %.0f ms: %.1f%% of the base (1/%.1f)\n", i, b * 60, b, a, 100 * a / (b * 60), b * 60 / a }'
done
exec 3>&-
