#!/usr/bin/env bash
# Regenerates screenshots/*.svg with sockscope itself (real sockets on loopback, rendered headless).
# Usage: scripts/screenshots.sh [path/to/sockscope]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/sockscope}
[ -x "$bin" ] || cargo build --release --quiet

# Descriptors this shell inherited would show up in the pictures' descriptor tables: close them.
for fd in /proc/$$/fd/*; do
  n=${fd##*/}
  if [ "$n" -gt 2 ] 2>/dev/null; then eval "exec $n>&-" 2>/dev/null || true; fi
done

shot() { # name, then sockscope snapshot arguments
  local name=$1; shift
  # Standard streams on /dev/null, so the pictures do not show this shell's files; an empty
  # config (/dev/null), so they do not show the user's colours either.
  "$bin" snapshot --config /dev/null --format svg -o "screenshots/$name.svg" "$@" </dev/null >/dev/null 2>&1
  echo "screenshots/$name.svg"
}

shot lab --size 120x40 --lang en \
  --run 'server srv 127.0.0.1:0 4; clients c 2 srv; accept srv as a1; send c1 "hello\n"; open f /etc/hostname; socket u udp; bind u 127.0.0.1:0; sendto c2 u hi' \
  --wait 200ms || true
shot backlog-full --size 120x40 --lang en \
  --run 'server srv 127.0.0.1:0 2; clients c 6 srv' --wait 300ms
shot time-wait-ko --size 120x40 --lang ko \
  --run 'server srv 127.0.0.1:0 4; client c1 srv; accept srv as a1; send c1 bye; close c1; wait 50ms; recv a1; close a1' \
  --wait 100ms
shot lecture --size 100x30 --lang en --demo four-way-close --step 3
shot lecture-animated --size 100x30 --lang en --demo backlog --animate
shot lecture-presenter-ko --size 100x30 --lang ko --presenter --demo backlog --step 3
shot high-contrast --size 100x30 --lang en --theme high-contrast \
  --run 'server srv 127.0.0.1:0 2; clients c 4 srv; accept srv as a1' --wait 200ms
# The ladder (issue 10): every segment of c1's life, captured in a private network of sockscope's
# own (no root needed); wide enough for the ladder's own column.
shot ladder --size 200x50 --lang en --net private \
  --run 'server srv 127.0.0.1:0 2; client c1 srv; wait 50ms; accept srv as a1; send c1 "hello\n"; wait 50ms; recv a1; send a1 "HTTP/1.0 200 OK\r\n"; wait 50ms; recv c1; close c1; wait 50ms; close a1' \
  --wait 100ms
shot ladder-ko --size 160x45 --lang ko --net private \
  --run 'server srv 127.0.0.1:0 1; clients c 3 srv' --wait 1200ms
# The trace walkthrough (issue 12, docs/trace-walkthrough.md): a learner's echo server from socket()
# to accept(), one build per step, traced; the last one with six lab clients knocking. Each build is
# ./echo in a directory of its own, so the pictures show the command a learner would type.
walk=$(mktemp -d)
trap 'rm -rf "$walk"' EXIT
root=$PWD
bin_abs=$(realpath "$bin")
for step in 1 2 3 4; do
  mkdir -p "$walk/$step"
  cc -O1 -DSTEP=$step -o "$walk/$step/echo" docs/walkthrough/echo.c
done
walkshot() { # name, step, then sockscope snapshot arguments
  local name=$1 step=$2; shift 2
  (cd "$walk/$step" && "$bin_abs" snapshot --config /dev/null --format svg \
    -o "$root/screenshots/$name.svg" "$@" </dev/null >/dev/null 2>&1)
  echo "screenshots/$name.svg"
}
# A port nobody uses right now (the lab's clients need to know it before the program runs).
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
for lang in en ko; do
  suffix=$([ "$lang" = en ] && echo "" || echo "-ko")
  walkshot "walkthrough-1-socket$suffix" 1 --size 150x36 --lang "$lang" --trace "./echo $port"
  walkshot "walkthrough-2-bind$suffix" 2 --size 150x36 --lang "$lang" --trace "./echo $port"
  walkshot "walkthrough-3-listen$suffix" 3 --size 150x36 --lang "$lang" --trace "./echo $port"
  walkshot "walkthrough-4-accept$suffix" 4 --size 150x36 --lang "$lang" --trace "./echo $port" \
    --run "clients c 6 127.0.0.1:$port; send c1 \"hello\\n\"" --wait 300ms
done
# The wire (issue 11): the handshake stepped one segment at a time between hosts a and b (needs
# root here: /dev/net/tun is root-only). The lecture selects --net wire itself.
if [ "$(id -u)" = 0 ]; then
  for step in 1 2 3 4; do
    shot "handshake-step-$step" --size 170x45 --lang en --demo handshake-step --step "$step"
  done
  shot handshake-step-animated --size 170x45 --lang en --demo handshake-step --animate
  shot syn-retransmit-ko --size 170x45 --lang ko --demo syn-retransmit --step 3
  # The router's rewrite: the NAT table in the port map's place, b's side of the connection.
  shot nat-port-forward --size 170x45 --lang en --demo nat-port-forward --step 5
else
  echo "skipped screenshots/handshake-step*.svg, nat-port-forward.svg: the wire's TUN devices need root here" >&2
fi
