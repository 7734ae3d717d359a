#!/usr/bin/env bash
# The 10,000-device scale test (docs/performance.md): the agent as built, polling and exporting every 15 s over
# OTLP/HTTP to a local sink, measured after it has settled. Needs root; run `bash perf/run.sh long` for the whole set.
#   bash perf/scale.sh                                 # the agent as shipped
#   bash perf/scale.sh MALLOC_ARENA_MAX=2 DOTNET_X=1   # the same with extra environment for the agent (OTEL_* are set
#                                                      # by the script and win over these)
# Then the C floor on the same devices: perf/cpoller.c polling them every 15 s as the agent spreads its polls (30
# groups, one every 500 ms scheduler tick, in the agent's order), for PERF_C_SECONDS (default 60).
# Prints a line: CPU % of one core, RSS (anonymous and file-backed parts), descriptors, devices exported, and the
# C poller's CPU % with the agent's ratio to it; then the agent's CPU by thread name.
# PERF_NETNS=NAME uses a namespace that already holds tb0..tb9999 (perf/run.sh does); otherwise one is made and removed.
# PERF_DEVICES (default 10000), PERF_MEASURE_SECONDS (default 120: eight exports) and PERF_EXPORT_MS (the export
# interval, default 15000; the agent ships with 60000) change the run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
devices=${PERF_DEVICES:-10000}
measure=${PERF_MEASURE_SECONDS:-120}
work=$(mktemp -d)
own_ns=
ns=${PERF_NETNS:-}
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$own_ns" ]; then ip netns del "$ns" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

agent="$root/src/TunTelemetry.Agent/bin/Release/net10.0/TunTelemetry.Agent.dll"
perf="$root/tests/TunTelemetry.Perf/bin/Release/net10.0/TunTelemetry.Perf.dll"
cc -O2 -o "$work/cpoller" "$root/perf/cpoller.c"
if [ -z "${PERF_NETNS:-}" ]; then
  dotnet build -c Release "$root/src/TunTelemetry.Agent" -nologo -v q >/dev/null
  dotnet build -c Release "$root/tests/TunTelemetry.Perf" -nologo -v q >/dev/null
  ns=ttscale$$; own_ns=1
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  for ((i = 0; i < devices; i++)); do echo "tuntap add dev tb$i mode tun"; echo "link set tb$i up"; done > "$work/batch"
  ip -n "$ns" -batch "$work/batch"
fi

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
config=()
if [ "$(ulimit -Hn)" -lt $((2 * devices + 1000)) ]; then
  # Each device costs a poller socket and a link-state socket; without room for both, measure the poller alone.
  { cat "$root/hocon.conf"; echo "tuntelemetry.metrics.link-state = off"; } > "$work/scale.conf"
  config=(--config "$work/scale.conf")
  echo "# hard RLIMIT_NOFILE $(ulimit -Hn): $devices devices measured with link-state off" >&2
fi

port=$((17000 + RANDOM % 1000)); status="$work/sink"
ip netns exec "$ns" dotnet "$perf" sink "$port" "$status" >/dev/null 2>&1 &
pids+=($!); sleep 2
ip netns exec "$ns" env "$@" OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$port" OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf \
  OTEL_METRIC_EXPORT_INTERVAL="${PERF_EXPORT_MS:-15000}" dotnet "$agent" run --no-console --poll-interval 15s --include '^tb' "${config[@]}" >"$work/agent.log" 2>&1 &
ag=$!; pids+=("$ag")
sleep 45   # start-up, the first polls spread over one interval, and the first exports (which compile the exporter)
cpu_us() { awk '{ print ($14 + $15) * 10000 }' "/proc/$1/stat"; }
alive() { kill -0 "$ag" 2>/dev/null || { echo "scale: the agent exited; its last output:" >&2; tail -20 "$work/agent.log" >&2; exit 1; }; }
alive
# CPU per thread, summed by thread name (the netlink dispatcher's threads, the scheduler, the exporter, ...), so a
# change can be placed: clock ticks from /proc/PID/task/*/stat, the same source as the process figure.
threads() { for t in /proc/"$ag"/task/*; do
  printf '%s %s\n' "$(tr ' ' '_' <"$t/comm" 2>/dev/null)" "$(awk '{ print $14 + $15 }' "$t/stat" 2>/dev/null)"; done; }
threads > "$work/threads0"
a0=$(cpu_us "$ag"); sleep "$measure"
alive
threads > "$work/threads1"
by_thread=$(awk -v s="$measure" 'NR == FNR { before[$1] += $2; next } { after[$1] += $2 }
  END { for (n in after) { d = after[n] - before[n]; if (d > 0) printf "%s=%.3f%% ", n, d / s } }' \
  "$work/threads0" "$work/threads1")
pct=$(awk "BEGIN{printf \"%.2f\", ($(cpu_us "$ag") - $a0) / $measure / 1e6 * 100}")
kib() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$ag/status"; }
exported=$(sed -E 's/.*txq_series_last=([0-9]+).*/\1/' "$status" 2>/dev/null || echo 0)
rss=$(($(kib VmRSS) / 1024)) anon=$(($(kib RssAnon) / 1024)) file=$(($(kib RssFile) / 1024)) shmem=$(($(kib RssShmem) / 1024))
fds=$(ls "/proc/$ag/fd" | wc -l)
for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
wait 2>/dev/null || true
pids=()
c=$(ip netns exec "$ns" "$work/cpoller" spread tb "${PERF_C_SECONDS:-60}" 15000 30)
c_pct=$(sed -E 's/.*c_spread_cpu_pct=([0-9.]+).*/\1/' <<<"$c")
echo "scale devices=$devices cpu_pct=$pct rss_mb=$rss anon_mb=$anon file_mb=$file shmem_mb=$shmem fds=$fds exported=$exported c_cpu_pct=$c_pct agent_to_c=$(awk "BEGIN{printf \"%.2f\", $pct/$c_pct}") env=${*:-none}"
threads_sum=$(grep -oE '[0-9.]+%' <<<"$by_thread" | tr -d % | awk '{ t += $1 } END { printf "%.3f", t }')
# Threads that ended within the window (idle thread-pool workers retire after about 20 s) are in the process's figure only.
echo "scale threads (CPU % of one core over the window, by thread name): $by_thread ended-in-window=$(awk "BEGIN{printf \"%.3f\", $pct - $threads_sum}")%"
