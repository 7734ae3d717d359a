# Shared by the perf scripts that run processes in a private network namespace. A script sets ns (the namespace),
# work (its temporary directory) and pids (the background processes it started), then sources this file.

say() { echo "# $*" >&2; }

# Everything started inside namespace $1 (default: $ns), the build processes of dotnet run included: TERM, up to 5 s
# to go, then KILL.
stop_all_in_ns() {
  local name=${1:-$ns} p
  for p in $(ip netns pids "$name" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  for _ in 1 2 3 4 5 6 7 8 9 10; do [ -z "$(ip netns pids "$name" 2>/dev/null)" ] && return; sleep 0.5; done
  for p in $(ip netns pids "$name" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
}

# The processes the script started, then its namespace and its work directory.
stop_started_and_remove_ns() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
