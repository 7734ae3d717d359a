#!/usr/bin/env bash
# TunTelemetry benchmarks, all in one run on the same devices (see docs/performance.md).
#   bash perf/run.sh quick   # under 5 minutes: poll vs C, pipeline, agent vs node_exporter vs C at 100 and 1,000 devices
#   bash perf/run.sh long    # adds 500 and 5,000 devices, 1,000 devices over 100 namespaces and the 10,000-device scale test
#   bash perf/run.sh netns   # only the namespace row: 1,000 devices in the agent's namespace vs over 100 others
# Needs root (creates TUN devices in a private network namespace, removed on exit). Prints a markdown table.
set -euo pipefail
mode=${1:-quick}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
ns=ttperf$$
seconds=${PERF_SECONDS:-12}
# The netns row's device names (and the agent's --include): another prefix keeps a concurrent run's tb* devices, which
# an --all-namespaces agent would also watch, out of this one's figures.
prefix=${PERF_DEVICE_PREFIX:-tb}
pids=()
# shellcheck source=perf/lib.sh
source "$root/perf/lib.sh"

extra_ns=()   # namespaces of the netns row (the 100 spread ones and each run's one-namespace set)

cleanup() {
  stop_all_in_ns
  for name in "${extra_ns[@]}"; do
    for p in $(ip netns pids "$name" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "$name" 2>/dev/null || true
  done
  stop_started_and_remove_ns
}
trap cleanup EXIT
# Foreground helper; background processes call ip netns exec directly so that $! is the process itself
# (ip netns exec and env both exec, they do not fork).
inns() { ip netns exec "$ns" "$@"; }
cpu_us() { awk '{ print ($14 + $15) * 10000 }' "/proc/$1/stat"; }   # utime+stime in USER_HZ (100/s) -> µs
rss_kib() { awk '/VmRSS/ { print $2 }' "/proc/$1/status"; }

command -v prometheus-node-exporter >/dev/null || {
  say "installing prometheus-node-exporter"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus-node-exporter >/dev/null
}
command -v cc >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libc6-dev >/dev/null; }

say "building (Release)"
dotnet build -c Release "$root/src/TunTelemetry.Agent" -nologo -v q >/dev/null
dotnet build -c Release "$root/tests/TunTelemetry.Perf" -nologo -v q >/dev/null
cc -O2 -o "$work/cpoller" "$root/perf/cpoller.c"
agent="$root/src/TunTelemetry.Agent/bin/Release/net10.0/TunTelemetry.Agent.dll"
perf="$root/tests/TunTelemetry.Perf/bin/Release/net10.0/TunTelemetry.Perf.dll"

ip netns add "$ns"
ip -n "$ns" link set lo up
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true   # each device costs the agent two sockets

rows=()
row() { rows+=("$1"); }
print_rows() {
  echo
  echo "| benchmark | baseline | TunTelemetry | ratio / notes |"
  echo "|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
}

# 0. Other namespaces (long and netns modes): CPU per device per round of the agent watching 1,000 TUN devices in its
# own namespace (today's per-device pollers) against the agent with --all-namespaces watching 1,000 devices spread over
# 100 other namespaces, 10 each (one targeted RTM_GETLINK dump per namespace per poll), interleaved A, B, A, B.
# Runs first, while $ns has no devices: the --all-namespaces agent runs in $ns and sees every namespace on the host,
# so the one-namespace set lives in a namespace of its own that is deleted (all its devices at once) before the agent
# with --all-namespaces starts. Namespaces other work on the host makes are watched too; their devices are left out by
# --include '^tb' unless they are named tb*, but their dumps are paid.
agent_round_us() { # NAMESPACE DEVICES ARGS...: runs the agent with a local sink there, sets a_us, rss, fds, exported
  local where=$1 n=$2 status
  shift 2
  port=$((port + 1)); status="$work/sink-$port"
  ip netns exec "$where" dotnet "$perf" sink "$port" "$status" >/dev/null 2>&1 &
  local sink=$!; pids+=("$sink"); sleep 2
  ip netns exec "$where" env OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$port" OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf \
    OTEL_METRIC_EXPORT_INTERVAL=1000 dotnet "$agent" run --no-console --poll-interval 1s --include "^$prefix" "$@" >"$work/agent-$port.log" 2>&1 &
  local ag=$!; pids+=("$ag")
  sleep 15   # start-up, JIT, and (with --all-namespaces) the first scan and every namespace's first dump
  local a0; a0=$(cpu_us "$ag")
  sleep "$seconds"
  a_us=$(awk "BEGIN{printf \"%.1f\", ($(cpu_us "$ag") - $a0) / $n / $seconds}")
  rss=$(rss_kib "$ag"); fds=$(ls "/proc/$ag/fd" | wc -l)
  exported=$(sed -E 's/.*txq_series_last=([0-9]+).*/\1/' "$status" 2>/dev/null || echo 0)
  kill "$ag" "$sink" 2>/dev/null || true
  wait "$ag" "$sink" 2>/dev/null || true
}
port=14318
if [ "$mode" = long ] || [ "$mode" = netns ]; then
  spread=100 per_ns=10
  say "making $spread namespaces with $per_ns TUN devices each"
  for ((k = 0; k < spread; k++)); do
    name="$ns-s$k"; extra_ns+=("$name"); ip netns add "$name"
    for ((i = 0; i < per_ns; i++)); do echo "tuntap add dev $prefix$i mode tun"; echo "link set $prefix$i up"; done > "$work/batch"
    ip -n "$name" -batch "$work/batch"
  done
  one=() many=() ratios=()
  for repeat in 1 2; do
    name="$ns-one$repeat"; extra_ns+=("$name"); ip netns add "$name"; ip -n "$name" link set lo up
    for ((i = 0; i < spread * per_ns; i++)); do echo "tuntap add dev $prefix$i mode tun"; echo "link set $prefix$i up"; done > "$work/batch"
    ip -n "$name" -batch "$work/batch"
    agent_round_us "$name" $((spread * per_ns))
    say "$((spread * per_ns)) devices in the agent's namespace: $a_us µs/device/round, RSS $rss KiB, $fds fds, $exported exported"
    one+=("$a_us"); one_line="RSS $((rss / 1024)) MB, $fds fds, $exported exported"
    ip netns del "$name"   # its devices go with it, before the agent below scans the host
    a_one=$a_us
    agent_round_us "$ns" $((spread * per_ns)) --all-namespaces
    say "$((spread * per_ns)) devices over $spread namespaces, --all-namespaces: $a_us µs/device/round, RSS $rss KiB, $fds fds, $exported exported"
    many+=("$a_us"); many_line="RSS $((rss / 1024)) MB, $fds fds, $exported exported"
    ratios+=("$(awk "BEGIN{printf \"%.2f\", $a_us/$a_one}")")
  done
  row "| 1,000 devices over 100 namespaces (--all-namespaces) vs 1,000 in the agent's own namespace, 1 s polls and exports, interleaved twice | own namespace ${one[0]}, ${one[1]} µs/device/round (last: $one_line) | 100 namespaces ${many[0]}, ${many[1]} µs/device/round (last: $many_line) | ratio ${ratios[0]}, ${ratios[1]} (target ≤ 1.5) |"
  if [ "$mode" = netns ]; then print_rows; exit 0; fi
fi

devices=0
set_devices() { # grows or shrinks the tb* device set to $1
  local want=$1 batch="$work/batch"
  : > "$batch"
  for ((i = devices; i < want; i++)); do echo "tuntap add dev tb$i mode tun" >> "$batch"; echo "link set tb$i up" >> "$batch"; done
  for ((i = want; i < devices; i++)); do echo "link del tb$i" >> "$batch"; done
  [ -s "$batch" ] && ip -n "$ns" -batch "$batch"
  devices=$want
}

# 1. Per-poll cost against the C floor, on the same device.
set_devices 1
ifindex=$(inns cat /sys/class/net/tb0/ifindex)
c=$(inns "$work/cpoller" bench "$ifindex" 300000)
d=$(inns dotnet "$perf" poll "$ifindex" 300000)
c_ns=$(sed -E 's/.*c_poll_cpu_ns=([0-9]+).*/\1/' <<<"$c")
d_ns=$(sed -E 's/.*dotnet_poll_cpu_ns=([0-9]+).*/\1/' <<<"$d")
d_bytes=$(sed -E 's/.*bytes_per_poll=([0-9.]+).*/\1/' <<<"$d")
say "$c"; say "$d"
row "| poll: CPU per RTM_GETSTATS round trip + decode | C $c_ns ns | TunTelemetry $d_ns ns | ratio $(awk "BEGIN{printf \"%.2f\", $d_ns/$c_ns}") (target ≤ 1.3); $d_bytes managed bytes/poll (target 0) |"

# 2. Whole pipeline without export: 100 devices, 100 ms ticks, busy (every reading changed) and idle.
set_devices 100
# The same raw polls, one socket per device, round robin over the 100 devices on one thread (no actors, no sleeping).
r=$(inns dotnet "$perf" poll-devices tb 3000)
say "$r"
r_ns=$(sed -E 's/.*poll_devices_cpu_ns=([0-9]+).*/\1/' <<<"$r")
row "| raw poll over 100 devices, a socket each, round robin in a loop | single-device loop $d_ns ns | $r_ns ns per poll | ratio to the single-device loop $(awk "BEGIN{printf \"%.2f\", $r_ns/$d_ns}") |"
# The same polls in the pipeline's pattern without actors: a burst over the 100 devices every 100 ms, asleep in between.
b=$(inns dotnet "$perf" poll-devices tb 100 100)
say "$b"
b_ns=$(sed -E 's/.*poll_devices_cpu_ns=([0-9]+).*/\1/' <<<"$b")
row "| raw poll over 100 devices in a burst every 100 ms (the pipeline's pattern), no actors | single-device loop $d_ns ns | $b_ns ns per poll | ratio to the single-device loop $(awk "BEGIN{printf \"%.2f\", $b_ns/$d_ns}") |"
# The C floor in the same pattern: what the burst pattern costs without .NET or actors.
cb=$(inns "$work/cpoller" spread tb 10 100 1)
say "$cb"
cb_ns=$(awk "BEGIN{printf \"%.0f\", $(sed -E 's/.*c_spread_cpu_us_per_poll=([0-9.]+).*/\1/' <<<"$cb") * 1000}")
row "| C poller over 100 devices in a burst every 100 ms (the same pattern) | C single-device loop $c_ns ns | $cb_ns ns per poll | ratio to C's single-device loop $(awk "BEGIN{printf \"%.2f\", $cb_ns/$c_ns}") |"
# run_pipeline ARGS...: runs the in-process pipeline over the current devices (pipeline tb ARGS) and sets p_cpu (µs per
# device per tick) and p_bytes (bytes per device per tick).
run_pipeline() {
  local p
  p=$(inns dotnet "$perf" pipeline tb "$@")
  say "$devices devices, pipeline $*: $p"
  p_cpu=$(sed -E 's/.*pipeline_cpu_us_per_device_tick=([0-9.]+).*/\1/' <<<"$p")
  p_bytes=$(sed -E 's/.*pipeline_bytes_per_device_tick=([0-9]+).*/\1/' <<<"$p")
}
ns_per_tick() { awk "BEGIN{printf \"%.0f\", $p_cpu*1000}"; }
ratio_to() { awk "BEGIN{printf \"%.2f\", $p_cpu*1000/$1}"; }
# pipeline_row LOAD LABEL: the pipeline at 100 ms ticks, the shipped pattern, and its row.
pipeline_row() {
  run_pipeline "$seconds" 100 "$1"
  row "| $2 | raw poll $d_ns ns | $(ns_per_tick) ns per device per tick | ratio $(ratio_to "$d_ns") (target ≤ 2); $(ratio_to "$b_ns") to the same polls in bursts, $(ratio_to "$cb_ns") to C's; $p_bytes bytes/device/tick (target ≤ 150) |"
}
for load in busy idle; do
  pipeline_row "$load" "pipeline, $load devices (tick → poll → reading → aggregator → instruments)"
done
# What the simplest extension costs on top: one gauge per device reported every interval (PERF_EXTENSION_GAUGE=on).
idle_ns=$(ns_per_tick)
p=$(inns env PERF_EXTENSION_GAUGE=on dotnet "$perf" pipeline tb "$seconds" 100 idle)
say "extension gauge: $p"
e_cpu=$(sed -E 's/.*pipeline_cpu_us_per_device_tick=([0-9.]+).*/\1/' <<<"$p")
e_bytes=$(sed -E 's/.*pipeline_bytes_per_device_tick=([0-9]+).*/\1/' <<<"$p")
row "| pipeline, idle devices plus a per-device extension reporting one gauge per tick | idle pipeline $idle_ns ns | $(awk "BEGIN{printf \"%.0f\", $e_cpu*1000}") ns per device per tick | the extension's own cost $(awk "BEGIN{printf \"%.0f\", $e_cpu*1000-$idle_ns}") ns; $e_bytes bytes/device/tick (the idle pipeline allocates none: the rest is the extension's message) |"
# The same busy pipeline with 1 ms ticks and a 1 ms interval: each device is polled again within a few milliseconds, so
# its kernel data stays in cache as in the raw loops above. What the actors add, without what a cold kernel adds.
run_pipeline 8 1 busy 1
row "| pipeline, busy devices at 1 ms ticks (every device polled again within milliseconds: the raw loop's warm kernel) | raw poll $d_ns ns | $(ns_per_tick) ns per device per tick | ratio $(ratio_to "$d_ns") (target ≤ 2); $(ratio_to "$r_ns") to the 100-device loop; $p_bytes bytes/device/tick (target ≤ 150) |"

# The same pipeline with ten times the devices per tick (long mode): how much of the per-tick cost is fixed per burst.
if [ "$mode" = long ]; then
  set_devices 1000
  pipeline_row busy "pipeline, 1,000 busy devices per 100 ms tick"
  set_devices 100
fi

# Live heap per per-device actor (no kernel involved): the shape the poller had (ReceiveActor + IWithTimers), the one it
# has (UntypedActor + one cancellable repeated tell), and the poller itself.
f=$(dotnet "$perf" actor-footprint 10000)
say "$(tr '\n' ' ' <<<"$f")"
fp() { sed -nE "s/.*footprint_shape=$1 .*live_bytes_per_actor=(-?[0-9]+).*/\1/p" <<<"$f"; }
row "| live heap per per-device actor, 10,000 of each | ReceiveActor + IWithTimers $(fp receive-actor-with-timers) B | UntypedActor + cancellable repeated tell $(fp untyped-actor-with-cancelable) B | the poller as shipped $(fp device-poller) B per device |"

# Where in the interval polls land (1 s interval: the 100 ms scheduler tick gives ten slots), with and without poll-spread.
for spread in on off; do
  p=$(inns env PERF_POLL_SPREAD=$spread dotnet "$perf" pipeline tb 8 1000 idle)
  say "poll-spread $spread: $p"
  p_spread=$(sed -E 's/.*pipeline_busiest_tenth_of_interval=([0-9.]+%).*/\1/' <<<"$p")
  p_cpu=$(sed -E 's/.*pipeline_cpu_us_per_device_tick=([0-9.]+).*/\1/' <<<"$p")
  row "| spread of 100 devices' polls in a 1 s interval, poll-spread $spread | evenly spread: 10 % per tenth | $p_spread of polls in the busiest tenth | $p_cpu µs CPU per device per tick |"
done

# 3. Agent (poll 1 s, export 1 s over OTLP/HTTP) vs node_exporter (netdev, scraped every second, gzip) vs C poller.
counts=(100 1000)
[ "$mode" = long ] && counts=(1 100 500 1000 5000)
for n in "${counts[@]}"; do
  set_devices "$n"
  say "$n devices"
  c=$(inns "$work/cpoller" run tb "$seconds")
  c_us=$(sed -E 's/.*c_cpu_us_per_device_round=([0-9.]+).*/\1/' <<<"$c")

  ip netns exec "$ns" prometheus-node-exporter --collector.disable-defaults --collector.netdev --web.listen-address=127.0.0.1:19100 >/dev/null 2>&1 &
  ne=$!; pids+=("$ne"); sleep 2
  inns curl -s --compressed http://127.0.0.1:19100/metrics >/dev/null
  ne0=$(cpu_us "$ne")
  for ((s = 0; s < seconds; s++)); do inns curl -s --compressed http://127.0.0.1:19100/metrics >/dev/null; sleep 1; done
  ne_us=$(awk "BEGIN{printf \"%.1f\", ($(cpu_us "$ne") - $ne0) / $n / $seconds}")
  stop_all_in_ns

  # "shipped" is the agent as built; "untuned" puts back .NET's and Akka's defaults (tiered JIT, thread-pool spinning,
  # Akka's scheduler with 10 ms ticks) to show what those settings are worth together.
  for variant in shipped untuned; do
    port=$((port + 1)); status="$work/sink-$port"
    ip netns exec "$ns" dotnet "$perf" sink "$port" "$status" >/dev/null 2>&1 &
    sink=$!; pids+=("$sink"); sleep 2
    env_extra=()
    config_extra=()
    if [ "$variant" = untuned ]; then
      env_extra=(DOTNET_TieredCompilation=1 DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=70)
      { cat "$root/hocon.conf"; echo "akka.scheduler.tick-duration = 10ms"
        echo 'akka.scheduler.implementation = "Akka.Actor.HashedWheelTimerScheduler, Akka"'; } > "$work/untuned.conf"
      config_extra=(--config "$work/untuned.conf")
    fi
    ip netns exec "$ns" env "${env_extra[@]}" OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$port" OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf \
      OTEL_METRIC_EXPORT_INTERVAL=1000 dotnet "$agent" run --no-console --poll-interval 1s --include '^tb' "${config_extra[@]}" >/dev/null 2>&1 &
    ag=$!; pids+=("$ag")
    sleep 15   # start-up and JIT are not the steady state
    a0=$(cpu_us "$ag")
    sleep "$seconds"
    a_us=$(awk "BEGIN{printf \"%.1f\", ($(cpu_us "$ag") - $a0) / $n / $seconds}")
    rss=$(rss_kib "$ag"); fds=$(ls "/proc/$ag/fd" | wc -l)
    exported=$(sed -E 's/.*txq_series_last=([0-9]+).*/\1/' "$status" 2>/dev/null || echo 0)
    stop_all_in_ns
    say "$n devices, agent ($variant): $a_us µs/device/round, RSS $rss KiB, $fds fds, $exported devices in the last export"
    row "| $n devices, agent $variant vs node_exporter | node_exporter $ne_us µs/device/scrape | agent $a_us µs/device/round (RSS $((rss / 1024)) MB, $fds fds, $exported/$n devices exported) | agent/node_exporter $(awk "BEGIN{printf \"%.2f\", $a_us/$ne_us}"), agent/C $(awk "BEGIN{printf \"%.1f\", $a_us/$c_us}") (C poller $c_us µs) |"
  done
done

# 4. Long mode: 10,000 devices at the real 15 s interval (perf/scale.sh, on this namespace's devices).
if [ "$mode" = long ]; then
  set_devices 10000
  stop_all_in_ns
  s=$(PERF_NETNS=$ns bash "$root/perf/scale.sh")
  say "$s"
  field() { sed -nE "1s/.* $1=([^ ]+).*/\1/p" <<<"$s"; }   # the first line; the second is CPU by thread
  row "| 10,000 devices, 15 s polls and exports | CPU $(field cpu_pct) % of one core (target ≤ 1 %; C poller, same spread, $(field c_cpu_pct) %, agent/C $(field agent_to_c)) | RSS $(field rss_mb) MB (target ≤ 150; $(field anon_mb) MB anonymous, $(field file_mb) MB file-backed), $(field fds) fds | $(field exported)/10000 devices exported |"
fi

print_rows
