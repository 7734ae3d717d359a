#!/usr/bin/env bash
# Fixed cost per host: the agent and node_exporter side by side on the same 3 TUN devices, as a fleet runs them (one
# per node, a handful of devices). Needs root: the devices live in a private network namespace made here and removed
# on exit, with an OTLP receiver on its loopback at 127.0.0.1:4317 (gRPC, as the agent's default endpoint and the
# systemd unit expect) and node_exporter (Debian's, netdev collector only, installed if missing) scraped every 15 s.
#   bash perf/footprint.sh              # README's command: dotnet run --project src/TunTelemetry.Agent -c Release -- run
#   bash perf/footprint.sh unit         # the published build as config/tuntelemetry.service runs it: its Environment=
#                                       # lines and ExecStart arguments, as the unprivileged user nobody
#   bash perf/footprint.sh readme DOTNET_GCgen0size=0x100000   # either, with extra environment for the agent
# In unit mode PERF_PUBLISH_ARGS adds arguments to dotnet publish (e.g. -p:PublishReadyToRun=false) and
# PERF_PUBLISHED=DIR takes an existing publish directory instead.
# Prints one line per process: RSS and its parts (/proc/PID/status: RssAnon, RssFile, RssShmem) and threads at
# PERF_SETTLE_SECONDS (default 120) after start, CPU (utime+stime, /proc/PID/stat) in the first minute, time from the
# agent's start to the first export its receiver got and the CPU that export cost, and CPU per hour after warm-up
# (measured over the PERF_HOUR_SECONDS, default 240, after the settle point). The agent's mappings with the most
# resident memory (/proc/PID/smaps) go to stderr; PERF_SMAPS_OUT=FILE keeps the full list. PERF_THREADS=1 also prints,
# to stderr, each of the agent's threads' CPU and wake-ups (voluntary context switches) per hour over the window, by
# thread id and name (/proc/PID/task/*/schedstat, status, comm, sampled every second): a thread that started within
# the window counts from zero, one that ended with its figures at the last sample.
set -euo pipefail
mode=${1:-readme}
[ $# -gt 0 ] && shift
case "$mode" in readme | unit) ;; *) echo "usage: bash perf/footprint.sh [readme|unit] [VAR=value …]" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "footprint: needs root (it creates TUN devices in a network namespace)" >&2; exit 1; }
root=$(cd "$(dirname "$0")/.." && pwd)
settle=${PERF_SETTLE_SECONDS:-120}
window=${PERF_HOUR_SECONDS:-240}
work=$(mktemp -d)
chmod 755 "$work"   # the unit mode's agent runs as nobody from here
ns=ttfoot$$
pids=()

# shellcheck source=perf/lib.sh
source "$root/perf/lib.sh"
cleanup() {
  stop_all_in_ns
  stop_started_and_remove_ns
}
trap cleanup EXIT

command -v prometheus-node-exporter >/dev/null || {
  say "installing prometheus-node-exporter"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus-node-exporter >/dev/null
}

say "building (Release)"
dotnet build -c Release "$root/src/TunTelemetry.Agent" -nologo -v q >/dev/null
dotnet build -c Release "$root/tests/TunTelemetry.Perf" -nologo -v q >/dev/null
perf="$root/tests/TunTelemetry.Perf/bin/Release/net10.0/TunTelemetry.Perf.dll"
unit="$root/config/tuntelemetry.service"
agent_env=()
if [ "$mode" = unit ]; then
  if [ -n "${PERF_PUBLISHED:-}" ]; then # a publish made before, e.g. to compare runtime settings on one build
    cp -r "$PERF_PUBLISHED" "$work/opt"
  else
    say "publishing as the unit's install steps say"
    # shellcheck disable=SC2086 # PERF_PUBLISH_ARGS: extra publish arguments, word-split on purpose
    dotnet publish "$root/src/TunTelemetry.Agent" -c Release -o "$work/opt" -nologo -v q ${PERF_PUBLISH_ARGS:-} >/dev/null
  fi
  chmod -R a+rX "$work/opt"
  # The unit's environment and command line, with the install paths mapped to this publish and this host's dotnet.
  while IFS= read -r line; do agent_env+=("${line#Environment=}"); done < <(grep -E '^Environment=' "$unit")
  exec_start=$(sed -nE 's/^ExecStart=//p' "$unit")
  exec_start=${exec_start//\/usr\/bin\/dotnet/$(command -v dotnet)}
  exec_start=${exec_start//\/etc\/tuntelemetry\/hocon.conf/$work/opt/hocon.conf}
  exec_start=${exec_start//\/opt\/tuntelemetry/$work/opt}
  read -r -a agent_cmd <<<"$exec_start"
  agent_cmd=(setpriv --reuid=nobody --regid=nogroup --clear-groups "${agent_cmd[@]}")
else
  # README's command, pointed at the local receiver as README's "Pointing it at a collector" says. No msbuild node or
  # build server may outlive the run inside the namespace.
  agent_env=(OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0)
  agent_cmd=(dotnet run --project "$root/src/TunTelemetry.Agent" -c Release -- run)
fi

ip netns add "$ns"
ip -n "$ns" link set lo up
for i in 0 1 2; do ip -n "$ns" tuntap add dev "tf$i" mode tun; ip -n "$ns" link set "tf$i" up; done

status="$work/sink"
ip netns exec "$ns" dotnet "$perf" sink 4318 "$status" 4317 >"$work/sink.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do ip netns exec "$ns" ss -Hltn 'sport = :4317' | grep -q . && break; sleep 0.2; done

hz=$(getconf CLK_TCK)
btime=$(awk '/^btime/ { print $2 }' /proc/stat)
cpu_ms() { awk -v hz="$hz" '{ sub(/^.*\) /, ""); print ($12 + $13) * 1000 / hz }' "/proc/$1/stat"; }   # utime+stime
start_ms() { awk -v hz="$hz" -v bt="$btime" '{ sub(/^.*\) /, ""); printf "%.0f", bt * 1000 + $20 * 1000 / hz }' "/proc/$1/stat"; }
now_ms() { date +%s%3N; }

ip netns exec "$ns" prometheus-node-exporter --collector.disable-defaults --collector.netdev \
  --web.listen-address=127.0.0.1:9100 >"$work/ne.log" 2>&1 &
ne=$!; pids+=("$ne")
ip netns exec "$ns" bash -c 'while :; do curl -s --compressed http://127.0.0.1:9100/metrics >/dev/null; sleep 15; done' &
pids+=($!)

launch_ms=$(now_ms)
ip netns exec "$ns" env "${agent_env[@]}" "$@" "${agent_cmd[@]}" >"$work/agent.log" 2>&1 &
launcher=$!; pids+=("$launcher")
ag=
for _ in $(seq 600); do # the agent process: the launcher itself, or the child dotnet run starts
  for p in $launcher $(ip netns pids "$ns"); do
    cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" || true)
    if [[ "$cmd" == *TunTelemetry.Agent* && "$cmd" != *--project* && "$cmd" != setpriv* ]]; then ag=$p; break 2; fi
  done
  sleep 0.1
done
[ -n "$ag" ] || { echo "footprint: the agent did not start; its output:" >&2; cat "$work/agent.log" >&2; exit 1; }
agent_start=$(start_ms "$ag")
ne_start=$(start_ms "$ne")
say "agent pid $ag (started $((agent_start - launch_ms)) ms after the command), node_exporter pid $ne"

alive() { kill -0 "$ag" 2>/dev/null || { echo "footprint: the agent exited; its output:" >&2; cat "$work/agent.log" >&2; exit 1; }; }
first_ms=0 cpu_before_first=0 cpu_first=
a_min= n_min=
while :; do
  alive
  t=$(($(now_ms) - agent_start))
  if [ -z "$a_min" ] && [ "$t" -ge 60000 ]; then a_min=$(cpu_ms "$ag"); fi
  if [ -z "$n_min" ] && [ $(($(now_ms) - ne_start)) -ge 60000 ]; then n_min=$(cpu_ms "$ne"); fi
  if [ "$first_ms" = 0 ]; then
    first_ms=$(sed -nE 's/.*first_export_ms=([0-9]+).*/\1/p' "$status" 2>/dev/null || true); first_ms=${first_ms:-0}
    if [ "$first_ms" = 0 ]; then cpu_before_first=$(cpu_ms "$ag"); else first_seen=$(now_ms); fi
  elif [ -z "$cpu_first" ] && [ $(($(now_ms) - first_seen)) -ge 2000 ]; then
    cpu_first=$(awk "BEGIN { print $(cpu_ms "$ag") - $cpu_before_first }")
  fi
  [ "$t" -ge $((settle * 1000)) ] && [ -n "$n_min" ] && break
  sleep 0.2
done
[ "$first_ms" != 0 ] || { echo "footprint: no export reached the receiver in ${settle}s; the agent's output:" >&2; cat "$work/agent.log" >&2; exit 1; }

kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
mb() { awk "BEGIN { printf \"%.1f\", $1 / 1024 }"; }
declare -A mem
for p in "$ag" "$ne"; do
  mem[$p]="rss_mb=$(mb "$(kib "$p" VmRSS)") anon_mb=$(mb "$(kib "$p" RssAnon)") file_mb=$(mb "$(kib "$p" RssFile)") shmem_mb=$(mb "$(kib "$p" RssShmem)") anon_shmem_mb=$(mb $(($(kib "$p" RssAnon) + $(kib "$p" RssShmem)))) pss_mb=$(mb "$(awk '$1 == "Pss:" { print $2 }' "/proc/$p/smaps_rollup")") threads=$(kib "$p" Threads)"
done
# Resident memory per mapping: file name, or [heap]/[stack]/anonymous; the JIT's double-mapped code shows as /memfd.
awk '/^[0-9a-f]+-[0-9a-f]+ / { name = ($6 == "" ? "[anonymous]" : $6) } $1 == "Rss:" { rss[name] += $2 }
     END { for (n in rss) if (rss[n] > 0) printf "%8d KiB  %s\n", rss[n], n }' "/proc/$ag/smaps" | sort -rn >"$work/smaps"
say "agent's resident memory by mapping at ${settle}s (largest 15):"
head -15 "$work/smaps" | sed 's/^/#   /' >&2
[ -n "${PERF_SMAPS_OUT:-}" ] && cp "$work/smaps" "$PERF_SMAPS_OUT"
if [ "$mode" = readme ] && [ "$launcher" != "$ag" ]; then
  say "dotnet run itself (the launcher README's command keeps alive): RSS $(mb "$(kib "$launcher" VmRSS)") MB"
fi

# Per thread: "tid name cpu_ms voluntary_switches involuntary_switches", one line each; CPU from schedstat (ns on a
# CPU), finer than stat's 10 ms ticks, which a thread waking for 100 µs a few times a minute mostly never gets. One
# awk for all threads, so that sampling every second costs the host little.
threads_now() {
  awk 'FNR == 1 { split(FILENAME, p, "/"); t = p[5] }
       FILENAME ~ /comm$/ { name[t] = $0; gsub(/ /, "_", name[t]) }
       FILENAME ~ /schedstat$/ { cpu[t] = $1 / 1e6 }
       $1 == "voluntary_ctxt_switches:" { v[t] = $2 } $1 == "nonvoluntary_ctxt_switches:" { nv[t] = $2 }
       END { for (t in name) print t, name[t], cpu[t], v[t], nv[t] }' \
    /proc/"$1"/task/*/comm /proc/"$1"/task/*/schedstat /proc/"$1"/task/*/status 2>/dev/null || true
}
a0=$(cpu_ms "$ag"); n0=$(cpu_ms "$ne")
if [ -n "${PERF_THREADS:-}" ]; then
  # Sampled every second, so that a thread that ends within the window (a pool worker retiring) keeps its last figures.
  threads_now "$ag" >"$work/threads0"
  end=$(($(now_ms) + window * 1000))
  while [ "$(now_ms)" -lt "$end" ]; do threads_now "$ag" >>"$work/threads"; sleep 1; done
  sleep "$(awk "BEGIN { d = ($end - $(now_ms)) / 1000; print (d > 0 ? d : 0) }")"
  threads_now "$ag" >"$work/threads1"
else
  sleep "$window"
fi
alive
if [ -n "${PERF_THREADS:-}" ]; then
  say "agent's threads over the ${window}s window, per hour: CPU ms, voluntary and involuntary context switches"
  awk -v w="$window" 'FILENAME ~ /threads0$/ { before[$1] = 1; c[$1] = $3; v[$1] = $4; n[$1] = $5 }
       FILENAME !~ /threads0$/ { name[$1] = $2; lc[$1] = $3; lv[$1] = $4; ln[$1] = $5 }
       FILENAME ~ /threads1$/ { alive[$1] = 1 }
       END { for (t in name) { cpu = (lc[t] - c[t]) * 3600 / w; sum += cpu; if (!(t in before)) started++
                                printf "%9.1f ms %7.0f vcsw %6.0f ivcsw  %-7s %s%s\n", cpu, (lv[t] - v[t]) * 3600 / w, (ln[t] - n[t]) * 3600 / w,
                                       t, name[t], (t in alive) ? "" : ((t in before) ? " (ended)" : " (started and ended)") }
             printf "%9.1f ms in all; %d threads started in the window\n", sum, started }' \
    "$work/threads0" "$work/threads" "$work/threads1" | sort -rn | sed 's/^/#   /' >&2
fi
per_hour() { awk "BEGIN { printf \"%.0f\", ($1 - $2) * 3600 / $window }"; }
a_hour=$(per_hour "$(cpu_ms "$ag")" "$a0"); n_hour=$(per_hour "$(cpu_ms "$ne")" "$n0")
exported=$(sed -nE 's/.*txq_series_last=([0-9]+).*/\1/p' "$status")
extra=${*:-none}
echo "footprint mode=$mode process=agent ${mem[$ag]} cpu_first_min_ms=${a_min%.*} first_export_s=$(awk "BEGIN { printf \"%.2f\", ($first_ms - $agent_start) / 1000 }") first_export_cpu_ms=${cpu_first:-?} cpu_ms_per_hour=$a_hour devices_exported=$exported env=${extra// /,}"
echo "footprint mode=$mode process=node_exporter ${mem[$ne]} cpu_first_min_ms=${n_min%.*} cpu_ms_per_hour=$n_hour scraped_every=15s"
