#!/usr/bin/env bash
# Times `sockscope dump` against the tools it replaces, on a machine holding N loopback TCP sockets:
#
#   sockscope dump, sockscope dump --no-owners, a bare sock_diag walk (examples/diag_walk.rs: the
#   same four dumps, messages counted, nothing decoded or printed), ss -tan, ss -tanp, netstat -tanp
#
# and the ratios the issue asks for: ss -tanp / dump, ss -tan / dump --no-owners, and
# dump --no-owners / bare walk.
#
# Usage: scripts/bench_dump.sh [SOCKETS ...]        (default: 20000 100000)
# Environment: RUNS (timed runs per command, default 7), SLOW_RUNS (for ss -tanp and netstat -tanp,
#              default 3), HOLD_SECS (how long helpers live at most, default 1800), TIMEOUT (seconds
#              one command may take, default 300), NICE (e.g. -10, as root: run every measured
#              command at that priority, to shield all of them alike from other load on the machine).
#
# Both ends of every connection are on 127.0.0.1, held by helper processes
# (`examples/hold_sockets.rs`): each holds at most 8000 connections (16001 descriptors, under the
# usual 20000 per-process limit) to its own listener, so each has its own 28k ephemeral ports. Helpers
# set SO_LINGER 0, so they leave no TIME_WAIT behind, and they exit by themselves after HOLD_SECS;
# the script stops them (only the ones it started) when it ends, however it ends.
#
# Commands run interleaved (one of each, then again), so a busy machine slows them all alike. Each
# run is timed with bash's `time`: wall clock, and user+system CPU, whose median is printed too
# (the CPU figure is less sensitive to other load on the machine). netstat comes from net-tools:
# if it is missing, this script installs it with apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-7}
SLOW_RUNS=${SLOW_RUNS:-3}
HOLD_SECS=${HOLD_SECS:-1800}
TIMEOUT=${TIMEOUT:-300}
NICE=${NICE:-0}
SIZES=("$@")
[ "${#SIZES[@]}" -gt 0 ] || SIZES=(20000 100000)

if ! command -v netstat >/dev/null 2>&1; then
  echo "netstat is missing: installing net-tools with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq net-tools >&2
fi
command -v ss >/dev/null 2>&1 || { echo "ss (iproute2) is required" >&2; exit 1; }

cargo build --release --quiet --locked --bin sockscope --example hold_sockets --example diag_walk
SOCKSCOPE=target/release/sockscope
HOLD=target/release/examples/hold_sockets
WALK=target/release/examples/diag_walk

# Descriptors per helper: 2 per connection, plus a few.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
LIMIT=$(ulimit -n)
PER_HELPER=$(( (LIMIT - 64) / 2 ))
[ "$PER_HELPER" -le 8000 ] || PER_HELPER=8000

WORK=$(mktemp -d)
HELPERS=()
stop_helpers() {
  for pid in "${HELPERS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${HELPERS[@]}"; do wait "$pid" 2>/dev/null || true; done
  HELPERS=()
}
cleanup() { stop_helpers; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

tcp_sockets() { ss -Htan | wc -l; }

# Holds `$1` sockets (half as many connections) in helper processes; waits until all are ready.
populate() {
  local sockets=$1 connections=$(( $1 / 2 )) index=0
  while [ "$connections" -gt 0 ]; do
    local n=$(( connections < PER_HELPER ? connections : PER_HELPER ))
    "$HOLD" "$n" "$HOLD_SECS" >"$WORK/ready.$index" &
    HELPERS+=("$!")
    connections=$(( connections - n ))
    index=$(( index + 1 ))
  done
  local deadline=$(( SECONDS + 180 ))
  while [ "$(cat "$WORK"/ready.* 2>/dev/null | grep -c '^ready')" -lt "$index" ]; do
    for pid in "${HELPERS[@]}"; do
      kill -0 "$pid" 2>/dev/null || { echo "a helper died while connecting" >&2; exit 1; }
    done
    [ "$SECONDS" -lt "$deadline" ] || { echo "helpers not ready after 180 s" >&2; exit 1; }
    sleep 0.2
  done
  echo "# $sockets sockets held by $index helper processes; ss -tan sees $(tcp_sockets) TCP sockets" >&2
}

# Waits until the helpers' sockets are gone (they reset, so nothing lingers).
drain() {
  local deadline=$(( SECONDS + 60 ))
  while [ "$(tcp_sockets)" -gt 1000 ] && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.5; done
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

NAMES=("sockscope dump" "sockscope dump --no-owners" "bare sock_diag walk" "ss -tan" "ss -tanp" "netstat -tanp")
# Index of the first slow command (run SLOW_RUNS times only).
SLOW_FROM=4
run_command() {
  local limit=(nice -n "$NICE" timeout "$TIMEOUT")
  case "$1" in
    0) "${limit[@]}" "$SOCKSCOPE" dump ;;
    1) "${limit[@]}" "$SOCKSCOPE" dump --no-owners ;;
    2) "${limit[@]}" "$WALK" ;;
    3) "${limit[@]}" ss -tan ;;
    4) "${limit[@]}" ss -tanp ;;
    5) "${limit[@]}" netstat -tanp ;;
  esac
}

WALL=()
measure() {
  local sockets=$1
  populate "$sockets"
  rm -f "$WORK"/time.*
  # One untimed run of each, to warm the caches.
  for c in "${!NAMES[@]}"; do run_command "$c" >/dev/null 2>&1 || true; done
  local TIMEFORMAT='%R %U %S'
  for run in $(seq 1 "$RUNS"); do
    for c in "${!NAMES[@]}"; do
      [ "$c" -ge "$SLOW_FROM" ] && [ "$run" -gt "$SLOW_RUNS" ] && continue
      { time run_command "$c" >/dev/null 2>&1 || true; } 2>>"$WORK/time.$c"
    done
  done
  local lines
  lines=$(ss -Htan | wc -l)
  printf '\n%d sockets (ss -tan: %d lines), load average: %s\n' "$sockets" "$lines" "$(cut -d' ' -f1-3 /proc/loadavg)"
  printf '%-28s %12s %12s %6s\n' "command" "median wall" "median CPU" "runs"
  for c in "${!NAMES[@]}"; do
    local wall cpu runs
    wall=$(awk '{ print $1 }' "$WORK/time.$c" | median)
    cpu=$(awk '{ print $2 + $3 }' "$WORK/time.$c" | median)
    runs=$(wc -l <"$WORK/time.$c")
    printf '%-28s %11.3fs %11.3fs %6d\n' "${NAMES[$c]}" "$wall" "$cpu" "$runs"
    WALL[$c]=$wall
  done
  ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
  printf 'ratios (wall medians): ss -tanp / dump %sx (target >= 5), ss -tan / dump --no-owners %sx (target >= 2.5), dump --no-owners / bare walk %sx (target <= 2), netstat -tanp / dump %sx\n' \
    "$(ratio "${WALL[4]}" "${WALL[0]}")" "$(ratio "${WALL[3]}" "${WALL[1]}")" \
    "$(ratio "${WALL[1]}" "${WALL[2]}")" "$(ratio "${WALL[5]}" "${WALL[0]}")"
  stop_helpers
  drain
}

echo "# $(nproc) CPUs, kernel $(uname -r), fd limit $LIMIT, $PER_HELPER connections per helper, nice $NICE" >&2
for size in "${SIZES[@]}"; do
  measure "$size"
done
