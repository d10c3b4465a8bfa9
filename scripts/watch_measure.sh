#!/usr/bin/env bash
# Measures `sockscope watch` in tmux on whatever population the machine holds (build one with
# examples/hold_sockets, as scripts/bench_dump.sh does): key press (j/k) to screen change, polling
# `capture-pane -e` (with colours: a moved selection changes only colours) every 5 ms, 20 presses;
# then the CPU (utime+stime from /proc/PID/stat) over CPU_SECS (default 30: six of watch's forced
# walks, one every 5 s when the kernel's counters do not move) at the default refresh.
# BINS may name "floor": the same key presses to less scrolling a file, the harness's own latency
# (tmux, send-keys, capture-pane), measured in the same run.
# Usage: [SOCKETS=100000] [PRESSES=60] [BINS="A B"] [ROUNDS=1] [ARGS="--no-owners"] [CPU_SECS=30]
#        [TRAFFIC=1] scripts/watch_measure.sh
# SOCKETS: first hold that many loopback sockets in helper processes (examples/hold_sockets, 8000
# connections each: the per-process descriptor limit), stopped again at the end.
# Prints the latency percentiles (p50, p90, p99, max) and the CPU over CPU_SECS at 1 Hz.
# TRAFFIC=1: one more helper keeps a connection busy (a small exchange every 50 ms), so the
# kernel's counters move every second and watch walks at every refresh: its cost on a busy machine.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/target/release/sockscope}
PRESSES=${PRESSES:-60}
S=wm-measure-$$
HELPERS=()
floor_file=$(mktemp)
cleanup() { for pid in "${HELPERS[@]}"; do kill "$pid" 2>/dev/null; done; wait 2>/dev/null; rm -f "$floor_file"; }
trap cleanup EXIT
if [ -n "${SOCKETS:-}" ]; then
  connections=$(( SOCKETS / 2 )); index=0; dir=$(mktemp -d)
  while [ "$connections" -gt 0 ]; do
    n=$(( connections < 8000 ? connections : 8000 ))
    "$ROOT/target/release/examples/hold_sockets" "$n" 900 >"$dir/ready.$index" &
    HELPERS+=("$!"); connections=$(( connections - n )); index=$(( index + 1 ))
  done
  while [ "$(cat "$dir"/ready.* 2>/dev/null | grep -c '^ready')" -lt "$index" ]; do sleep 0.2; done
  echo "holding $SOCKETS sockets in $index helpers; ss sees $(ss -Htan | wc -l) TCP sockets"
fi
if [ -n "${TRAFFIC:-}" ]; then
  python3 -c '
import socket, time
listener = socket.socket(); listener.bind(("127.0.0.1", 0)); listener.listen(1)
client = socket.create_connection(listener.getsockname()); server, _ = listener.accept()
end = time.time() + 900
while time.time() < end:
    client.send(b"x"); server.recv(1); time.sleep(0.05)
' &
  HELPERS+=("$!")
  echo "traffic: one connection exchanging a byte every 50 ms"
fi
# One binary after another, ROUNDS times (several binaries: interleaved, same population).
measure() {
  local BIN=$1 S=wm-measure-$$-$RANDOM
  local command="LANG=C.UTF-8 $BIN watch --lang en ${ARGS:-}"
  if [ "$BIN" = floor ]; then
    # The harness's own latency: less scrolling a file by j/k in the same tmux set-up.
    seq 1 100000 | sed 's/^/sockets (/' >"$floor_file"
    command="less $floor_file"
  fi
  tmux -L $S -f /dev/null new-session -d -s t -x 200 -y 60 "$command; sleep 5"
  sleep 1
  shell=$(tmux -L $S display-message -p -t t '#{pane_pid}')
  pid=$(cat /proc/$shell/task/$shell/children | awk '{print $1}')
  echo "watch pid $pid"
  # Wait for the first snapshot.
  for i in $(seq 1 200); do tmux -L $S capture-pane -p -t t | grep -q "sockets (" && break; sleep 0.05; done
  sleep 3
  tmux -L $S capture-pane -p -t t | sed -n 1,3p
  ticks() { awk '{print $14+$15}' /proc/$pid/stat; }
  now_ms() { date +%s%N | awk '{printf "%.3f", $1/1e6}'; }
  lat=()
  for n in $(seq 1 "$PRESSES"); do
    before=$(tmux -L $S capture-pane -e -p -t t)
    key=j; [ $((n % 2)) -eq 0 ] && key=k
    t0=$(date +%s%N)
    tmux -L $S send-keys -t t $key
    while :; do
      now=$(tmux -L $S capture-pane -e -p -t t)
      [ "$now" != "$before" ] && break
      sleep 0.005
      [ $(( ($(date +%s%N) - t0) / 1000000 )) -gt 3000 ] && { echo timeout; break; }
    done
    t1=$(date +%s%N)
    lat+=( $(( (t1 - t0) / 1000 )) )
    sleep 0.$(( RANDOM % 4 + 2 ))
  done
  printf '%s\n' "${lat[@]}" | sort -n | awk '{a[NR]=$1} END {printf "latency ms: min %.1f p50 %.1f p90 %.1f p99 %.1f max %.1f (n=%d; includes tmux capture polling every 5 ms)\n", a[1]/1000, a[int(NR*0.5+0.5)]/1000, a[int(NR*0.9+0.5)]/1000, a[int(NR*0.99+0.5)]/1000, a[NR]/1000, NR}'
  hz=$(getconf CLK_TCK)
  secs=${CPU_SECS:-30}
  c0=$(ticks); sleep "$secs"; c1=$(ticks)
  echo "cpu over $secs s: $(( (c1 - c0) * 1000 / hz )) ms = $(( (c1 - c0) * 100 / hz / secs )).$(( (c1 - c0) * 1000 / hz / secs % 10 ))% of a core (ticks $c0 -> $c1, CLK_TCK $hz)"
  tmux -L $S capture-pane -p -t t | sed -n 2,2p
  tmux -L $S send-keys -t t q
  sleep 0.5
  tmux -L $S kill-server
}
for round in $(seq 1 "${ROUNDS:-1}"); do
  for bin in ${BINS:-$BIN}; do
    echo "== $bin (round $round)"
    measure "$bin"
  done
done
