#!/usr/bin/env bash
# The cost of one network namespace discovery scan with PROCESSES extra processes on the host, NAMESPACES of them
# each in a namespace of its own (unshare -n), the rest in ours: how much the agent's periodic /proc rescan costs.
#   bash perf/netns-scan.sh [PROCESSES] [NAMESPACES] [SCANS]    # defaults: 1000 processes, 100 namespaces, 200 scans
# Needs root (to make namespaces); also runs the scan as nobody, who cannot follow other users' namespace links.
set -euo pipefail
processes=${1:-1000}
namespaces=${2:-100}
scans=${3:-200}
root=$(cd "$(dirname "$0")/.." && pwd)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
say() { echo "# $*" >&2; }

dotnet build -c Release "$root/tests/TunTelemetry.Perf" -nologo -v q >/dev/null
perf="$root/tests/TunTelemetry.Perf/bin/Release/net10.0/TunTelemetry.Perf.dll"

say "starting $processes processes, $namespaces of them in new network namespaces"
for ((i = 0; i < processes; i++)); do
  if ((i < namespaces)); then unshare -n sleep infinity & else sleep infinity & fi
  pids+=($!)
done
sleep 2   # let every unshare exec its sleep
for repeat in 1 2 3; do dotnet "$perf" netns-scan "$scans"; done
say "as nobody (no capabilities): other users' namespace links are refused"
chmod o+rx "$root" 2>/dev/null || true
setpriv --reuid=nobody --regid=nogroup --clear-groups env DOTNET_CLI_HOME=/tmp HOME=/tmp dotnet "$perf" netns-scan "$scans" || true
