#!/usr/bin/env bash
# Measures the lab dashboard with the segment capture on, in tmux, as scripts/watch_measure.sh
# measures watch:
#   1. idle: `lab --net private` holding a listener and 4 connections (each captured); the CPU
#      (utime+stime from /proc/PID/stat) over 10 s; then the same lab in `--net host` as nobody,
#      where there is no capture, for comparison; and the private lab idle after 256 connections
#      of 600 segments each filled the capture (256 x 512 segments kept);
#   2. bulk: a `forward` relay of the lab's between two python3 ends (started with `sockscope exec`
#      in the private network): a sender connects to the forwarder, the forwarder to a sink; at
#      least 100 MiB at full speed, and on while 100 key presses (j/k in the connections panel) go
#      to the dashboard; key press to screen change by polling `capture-pane -e` (colours: a moved
#      selection changes only colours) every 2 ms; median and p99; the lab's VmHWM; the capture's
#      kernel drops (`d` in the packet socket's skmem, from `ss -0 -e -m` inside the lab's
#      network). Then the same on the host network as nobody (no capture), for comparison.
# Usage: scripts/ladder_measure.sh [idle|full|keys|bulk]   (as root, after cargo build --release)
set -u
BIN=$(cd "$(dirname "$0")/.." && pwd)/target/release/sockscope
S=ladder-measure-$$
RUNTIME=$(mktemp -d)
chmod 755 "$RUNTIME"
WORK=$(mktemp -d)
chmod 777 "$WORK"
trap 'tmux -L $S kill-server 2>/dev/null; rm -rf "$RUNTIME" "$WORK"' EXIT
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14+$15}' /proc/$1/stat; }

# Starts the dashboard in a fresh tmux server; prints the lab's pid.
start_lab() { # $1: command prefix (e.g. setpriv ...), $2: --net value
  tmux -L $S kill-server 2>/dev/null
  # A server just killed may still hold its socket: wait until a new one starts.
  for _ in $(seq 1 20); do
    sleep 0.3
    tmux -L $S -f /dev/null new-session -d -s t -x 200 -y 60 \
      "XDG_RUNTIME_DIR=$RUNTIME LANG=C.UTF-8 $1 $BIN lab --net $2 --lang en \
       --run 'server s 127.0.0.1:0 8; clients c 4 s'; sleep 5" 2>/dev/null && break
  done
  local shell pid=""
  shell=$(tmux -L $S display-message -p -t t '#{pane_pid}')
  for _ in $(seq 1 100); do
    pid=$(cat /proc/$shell/task/$shell/children 2>/dev/null | awk '{print $1}')
    [ -n "$pid" ] && break
    sleep 0.05
  done
  for _ in $(seq 1 200); do
    tmux -L $S capture-pane -p -t t | grep -q "connections (4)" && break
    sleep 0.05
  done
  echo "$pid"
}

idle_cpu() { # $1: pid
  sleep 2
  local c0 c1
  c0=$(ticks $1); sleep 10; c1=$(ticks $1)
  echo "$(( (c1 - c0) * 1000 / hz ))"
}

cat > "$WORK/sink.py" <<'PY'
import socket, sys
server = socket.socket()
server.bind(('127.0.0.1', 0))
server.listen(1)
open(sys.argv[1], 'w').write(str(server.getsockname()[1]))
conn, _ = server.accept()
got = 0
while True:
    data = conn.recv(1 << 20)
    if not data:
        break
    got += len(data)
print(got)
PY
cat > "$WORK/send.py" <<'PY'
import os, socket, sys, time
port, stop = int(sys.argv[1]), sys.argv[2]
client = socket.create_connection(('127.0.0.1', port))
block = b'x' * (1 << 20)
sent, started = 0, time.monotonic()
# At least 100 MiB, and on until the key presses are done.
while sent < 100 * (1 << 20) or not os.path.exists(stop):
    client.sendall(block)
    sent += len(block)
client.close()
print(sent, round(time.monotonic() - started, 2))
PY

cat > "$WORK/many.py" <<'PY'
# 256 connections of 600 small segments each: fills the capture (256 connections x 512 kept).
import socket
server = socket.socket()
server.bind(('127.0.0.1', 0))
server.listen(512)
pairs = []
for _ in range(256):
    client = socket.create_connection(server.getsockname())
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    peer, _ = server.accept()
    pairs.append((client, peer))
for client, peer in pairs:
    for _ in range(300):
        client.send(b'0123456789')
        peer.recv(64)
for client, peer in pairs:
    client.close()
    peer.close()
print(len(pairs))
PY

# Runs a command where the lab's sockets are: inside its private network, or on the host.
inside() {
  if [ "$NET" = private ]; then
    XDG_RUNTIME_DIR=$RUNTIME "$BIN" exec --lab "$pid" -- "$@"
  else
    "$@"
  fi
}
listening() { inside ss -Hltn | awk '{print $4}' | sed 's/.*://' | sort; }

bulk() { # $1: command prefix, $2: --net value, $3: "quiet" to press the keys with no transfer
  NET=$2
  rm -f "$WORK"/sink.port "$WORK"/stop "$WORK"/*.out
  pid=$(start_lab "$1" "$2")
  local before sink fport
  before=$(listening)
  inside python3 "$WORK/sink.py" "$WORK/sink.port" > "$WORK/sink.out" 2>&1 &
  for _ in $(seq 1 100); do [ -s "$WORK/sink.port" ] && break; sleep 0.05; done
  sink=$(cat "$WORK/sink.port")
  tmux -L $S send-keys -t t ":forward f 127.0.0.1:0 127.0.0.1:$sink" Enter
  for _ in $(seq 1 100); do
    fport=$(comm -13 <(echo "$before") <(listening) | grep -vx "$sink" | head -1)
    [ -n "$fport" ] && break
    sleep 0.05
  done
  echo "lab pid $pid; sink on $sink, forwarder f on $fport"
  # Focus the connections panel, so j/k move a selection.
  tmux -L $S send-keys -t t Tab
  sleep 0.5
  if [ "${3:-}" != quiet ]; then
    inside python3 "$WORK/send.py" "$fport" "$WORK/stop" > "$WORK/send.out" 2>&1 &
  else
    inside python3 -c "import socket; socket.create_connection(('127.0.0.1', $fport)).close()" &
    echo "(no transfer)" > "$WORK/send.out"
  fi
  sleep 0.5
  local lat=() n key t0 t1 screen now
  for n in $(seq 1 100); do
    screen=$(tmux -L $S capture-pane -e -p -t t)
    key=j; [ $((n % 2)) -eq 0 ] && key=k
    t0=$(date +%s%N)
    tmux -L $S send-keys -t t $key
    while :; do
      now=$(tmux -L $S capture-pane -e -p -t t)
      [ "$now" != "$screen" ] && break
      sleep 0.002
      [ $(( ($(date +%s%N) - t0) / 1000000 )) -gt 3000 ] && { echo timeout; break; }
    done
    t1=$(date +%s%N)
    lat+=( $(( (t1 - t0) / 1000 )) )
    sleep 0.05
  done
  touch "$WORK/stop"
  wait
  printf '%s\n' "${lat[@]}" | sort -n | awk '{a[NR]=$1} END {
    printf "key to screen us: min %d median %d p99 %d max %d (n=%d)\n",
      a[1], (a[int(NR/2)]+a[int(NR/2)+1])/2, a[int(NR*0.99)], a[NR], NR}'
  echo "sender: $(cat "$WORK/send.out") (bytes, seconds); sink got $(cat "$WORK/sink.out") bytes"
  grep -E "VmHWM|VmRSS" /proc/$pid/status | tr -s ' \t' ' ' | paste -sd ' '
  if [ "$NET" = private ]; then
    echo "capture kernel drops (skmem d): $(inside ss -0 -e -m -H | grep -o ',d[0-9]*)' | tr -d ',d)')"
  fi
  tmux -L $S send-keys -t t q
  sleep 0.5
}

case "${1:-all}" in
  all|idle)
    echo "== idle, 10 s, a listener and 4 connections"
    pid=$(start_lab "" private)
    echo "private network (capture on): lab pid $pid, cpu $(idle_cpu $pid) ms over 10 s"
    pid=$(start_lab "$NOBODY" host)
    echo "host network as nobody (no capture): lab pid $pid, cpu $(idle_cpu $pid) ms over 10 s"
    ;;&
  all|keys)
    echo "== keys with no transfer (the floor: tmux and the machine), private network"
    bulk "" private quiet
    ;;&
  all|full)
    echo "== idle, 10 s, after 256 connections of 600 segments each filled the capture"
    NET=private
    pid=$(start_lab "" private)
    inside python3 "$WORK/many.py" > /dev/null
    echo "lab pid $pid, cpu $(idle_cpu $pid) ms over 10 s;" \
      "$(grep VmHWM /proc/$pid/status | tr -s ' \t' ' ')"
    ;;&
  all|bulk)
    echo "== bulk through a forwarder in the private network (captured), keys pressed meanwhile"
    bulk "" private
    echo "== the same on the host network as nobody (no capture)"
    bulk "$NOBODY" host
    ;;
esac
