#!/usr/bin/env bash
# Measures the one runtime in tmux (release build):
#  1. idle CPU (utime+stime from /proc/PID/stat, over MEASURE_SECS after SETTLE_SECS) of:
#     - a lab with 10 sockets;
#     - a lab with 10,000 connected clients (the accepted ends live in a helper process,
#       `examples/hold_sockets.rs accept`: with them the lab would need 20,000 descriptors, the
#       per-process limit here);
#     - a lab with 5,000 descriptors (a listener, 2,499 clients and their 2,499 accepted ends);
#     - a lecture left on a step (backlog, step 3: two clients retransmitting SYNs to a full queue);
#  2. how long `q` takes to end sockscope while a lecture step waits 30 s (key to exit status
#     printed by the pane's shell), 5 runs.
#
# Usage: scripts/runtime_measure.sh [BINARY ...]   (default: target/release/sockscope)
# With several binaries (e.g. a copy of the build before a change, then the new one), every case
# runs ROUNDS times (default 3), the binaries interleaved within each round, and the median per
# binary is printed: the machine is shared, so only side-by-side numbers compare.
# Environment: ROUNDS, SETTLE_SECS (default 8), MEASURE_SECS (default 10), CASES (a space-separated
# subset of: small clients10k fds5k lecture quit).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
cargo build --release --quiet --locked --bin sockscope --example hold_sockets || exit 1
BINS=("$@")
[ "${#BINS[@]}" -gt 0 ] || BINS=("$ROOT/target/release/sockscope")
HOLD=$ROOT/target/release/examples/hold_sockets
ROUNDS=${ROUNDS:-3}
SETTLE=${SETTLE_SECS:-8}
MEASURE=${MEASURE_SECS:-10}
CASES=${CASES:-small clients10k fds5k lecture quit}
HZ=$(getconf CLK_TCK)
WORK=$(mktemp -d)
SOCKETS=()
HELPER=""
cleanup() {
  for socket in "${SOCKETS[@]}"; do stop "$socket"; done
  [ -n "$HELPER" ] && kill "$HELPER" 2>/dev/null && wait "$HELPER" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Starts `BINARY ARGS` in a pane; prints "SOCKET PID".
start() {
  local socket=rm-measure-$$-$RANDOM
  tmux -L "$socket" -f /dev/null new-session -d -s t -x 120 -y 40 \
    "LANG=C.UTF-8 $1 $2; echo EXIT=\$?; sleep 30"
  local shell pid=""
  shell=$(tmux -L "$socket" display-message -p -t t '#{pane_pid}')
  for _ in $(seq 1 100); do
    pid=$(awk '{print $1}' "/proc/$shell/task/$shell/children" 2>/dev/null)
    [ -n "$pid" ] && break
    sleep 0.05
  done
  echo "$socket $pid"
}

stop() { tmux -L "$1" kill-server 2>/dev/null; rm -f "/tmp/tmux-$(id -u)/$1"; }

# idle NAME BINARY ARGS [KEYS...]: percent of a core over MEASURE seconds, after the keys (each
# followed by 1.5 s) and SETTLE seconds.
idle() {
  local name=$1 bin=$2 args=$3 socket pid
  shift 3
  read -r socket pid < <(start "$bin" "$args")
  SOCKETS+=("$socket")
  sleep 1.5
  for key in "$@"; do tmux -L "$socket" send-keys -t t "$key"; sleep 1.5; done
  sleep "$SETTLE"
  local c0 c1
  c0=$(ticks "$pid"); sleep "$MEASURE"; c1=$(ticks "$pid")
  local line
  line=$(tmux -L "$socket" capture-pane -p -t t | grep -m1 -E 'step [0-9]+/|connections \(' | tr -s ' ' | cut -c1-60)
  awk -v t=$(( c1 - c0 )) -v hz="$HZ" -v s="$MEASURE" 'BEGIN {printf "%.2f\n", t / hz / s * 100}' >>"$WORK/$name.$(basename "$bin").$(printf '%s' "$bin" | md5sum | cut -c1-6)"
  echo "  $name $bin: $(( c1 - c0 )) ticks [$line]" >&2
  stop "$socket"
}

report() {
  local name=$1 what=$2
  for bin in "${BINS[@]}"; do
    local file
    file="$WORK/$name.$(basename "$bin").$(printf '%s' "$bin" | md5sum | cut -c1-6)"
    [ -f "$file" ] || continue
    printf '%-52s %-40s median %5.2f%% of a core (runs: %s)\n' "$what" "$bin" \
      "$(median <"$file")" "$(tr '\n' ' ' <"$file")"
  done
}

has() { [[ " $CASES " == *" $1 "* ]]; }

echo "# $(nproc) CPUs, kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
# A fresh helper for every run: it never closes what it accepted, so it would fill up.
start_helper() {
  "$HOLD" accept 600 >"$WORK/helper" &
  HELPER=$!
  for _ in $(seq 1 100); do grep -q listening "$WORK/helper" && break; sleep 0.05; done
  PORT=$(awk '{print $3}' "$WORK/helper")
}
stop_helper() { kill "$HELPER" 2>/dev/null; wait "$HELPER" 2>/dev/null; HELPER=""; }
for round in $(seq 1 "$ROUNDS"); do
  echo "# round $round" >&2
  for bin in "${BINS[@]}"; do
    has small && idle small "$bin" "--run 'server s 127.0.0.1:0 8; clients c 4 s; auto-accept s on; socket u udp; bind u 127.0.0.1:0'"
    if has clients10k; then
      start_helper
      idle clients10k "$bin" "--run 'clients c 10000 127.0.0.1:$PORT'"
      stop_helper
    fi
    has fds5k && idle fds5k "$bin" "--run 'server s 127.0.0.1:0 4096; auto-accept s on; clients c 2499 s'"
    has lecture && idle lecture "$bin" "demo backlog" Right Right
  done
done
has small && report small "idle lab, 10 sockets"
has clients10k && report clients10k "idle lab, 10,000 connected clients"
has fds5k && report fds5k "idle lab, 5,000 descriptors"
has lecture && report lecture "lecture left on a step (backlog, step 3)"

has quit || exit 0
dir=$(mktemp -d)
cat > "$dir/wait.toml" <<'TOML'
title.en = "A long wait"
title.ko = "긴 기다림"
[[step]]
run = "server srv 127.0.0.1:0 2"
say.en = "A listener."
say.ko = "리스너 하나."
[[step]]
run = "client c1 srv"
wait = "30s"
say.en = "A client, then a long wait."
say.ko = "클라이언트 하나, 그리고 긴 기다림."
TOML
for bin in "${BINS[@]}"; do
  times=()
  for _ in 1 2 3 4 5; do
    read -r socket pid < <(start "$bin" "demo $dir/wait.toml")
    for _ in $(seq 1 100); do tmux -L "$socket" capture-pane -p -t t | grep -q "A listener" && break; sleep 0.05; done
    tmux -L "$socket" send-keys -t t Right
    for _ in $(seq 1 100); do tmux -L "$socket" capture-pane -p -t t | grep -q "waiting" && break; sleep 0.05; done
    t0=$(date +%s%N)
    tmux -L "$socket" send-keys -t t q
    while ! tmux -L "$socket" capture-pane -p -t t | grep -q "EXIT="; do sleep 0.005; done
    t1=$(date +%s%N)
    times+=( $(( (t1 - t0) / 1000000 )) )
    stop "$socket"
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v bin="$bin" '{a[NR]=$1} END {printf "q during a 30 s step wait (%s): exit after min %d ms, median %d ms, max %d ms (n=%d)\n", bin, a[1], a[3], a[NR], NR}'
done
rm -rf "$dir"
