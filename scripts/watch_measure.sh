#!/usr/bin/env bash
# Measures `sockscope watch` in tmux on whatever population the machine holds (build one with
# examples/hold_sockets, as scripts/bench_dump.sh does): key press (j/k) to screen change, polling
# `capture-pane -e` (with colours: a moved selection changes only colours) every 5 ms, 20 presses;
# then the CPU (utime+stime from /proc/PID/stat) over 10 s at the default refresh.
# Usage: [ARGS="--no-owners"] scripts/watch_measure.sh   (after cargo build --release)
# Key-press-to-screen latency and CPU of `sockscope watch` in tmux.
set -u
BIN=$(cd "$(dirname "$0")/.." && pwd)/target/release/sockscope
S=wm-measure-$$
tmux -L $S -f /dev/null new-session -d -s t -x 200 -y 60 "LANG=C.UTF-8 $BIN watch --lang en ${ARGS:-}; sleep 5"
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
for n in $(seq 1 20); do
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
  sleep 0.3
done
printf '%s\n' "${lat[@]}" | sort -n | awk '{a[NR]=$1} END {printf "latency us: min %d median %d max %d (n=%d)\n", a[1], (a[10]+a[11])/2, a[NR], NR}'
hz=$(getconf CLK_TCK)
c0=$(ticks); sleep 10; c1=$(ticks)
echo "cpu over 10 s: $(( (c1 - c0) * 1000 / hz )) ms (ticks $c0 -> $c1, CLK_TCK $hz)"
tmux -L $S capture-pane -p -t t | sed -n 2,2p
tmux -L $S send-keys -t t q
sleep 0.5
tmux -L $S kill-server
