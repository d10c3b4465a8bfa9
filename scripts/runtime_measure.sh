#!/usr/bin/env bash
# Measures the one runtime in tmux (after cargo build --release):
#  1. CPU of an idle lab (10 sockets) and of a lecture left on a step, over 10 s each
#     (utime+stime from /proc/PID/stat);
#  2. how long `q` takes to end sockscope while a lecture step waits 30 s (key to exit status
#     printed by the pane's shell), 5 runs.
# Usage: scripts/runtime_measure.sh
set -u
BIN=$(cd "$(dirname "$0")/.." && pwd)/target/release/sockscope
HZ=$(getconf CLK_TCK)
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }

# Starts `sockscope ARGS` in a pane; prints "SOCKET PID".
start() {
  local socket=rm-measure-$$-$RANDOM
  tmux -L "$socket" -f /dev/null new-session -d -s t -x 120 -y 40 \
    "LANG=C.UTF-8 $BIN $1; echo EXIT=\$?; sleep 30"
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

idle() {
  read -r socket pid < <(start "$1")
  sleep "$3"
  local c0 c1
  c0=$(ticks "$pid"); sleep 10; c1=$(ticks "$pid")
  echo "$2: $(( c1 - c0 )) ticks in 10 s = $(awk -v t=$(( c1 - c0 )) -v hz="$HZ" 'BEGIN {printf "%.2f%% of a core", t / hz / 10 * 100}')"
  stop "$socket"
}

idle "--run 'server s 127.0.0.1:0 8; clients c 4 s; auto-accept s on; socket u udp; bind u 127.0.0.1:0'" "idle lab, 10 sockets" 5
idle "demo backlog --autoplay 1" "lecture (backlog) left on its last step" 10

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
times=()
for _ in 1 2 3 4 5; do
  read -r socket pid < <(start "demo $dir/wait.toml")
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
printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "q during a 30 s step wait: exit after min %d ms, median %d ms, max %d ms (n=%d)\n", a[1], a[3], a[NR], NR}'
rm -rf "$dir"
