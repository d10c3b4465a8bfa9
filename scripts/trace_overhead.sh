#!/usr/bin/env bash
# The overhead of tracing (issue 12): 10,000 connect/accept/write/read/close cycles of a small C
# echo server and its client (one program, two processes), untraced, under `sockscope snapshot
# --trace`, and under `strace -f` (with and without --seccomp-bpf). The program times its own
# cycles (clock_gettime around the loop), so start-up and the snapshot are not counted.
# Runs are interleaved (one of each kind per round) so a noisy machine hurts each kind alike;
# medians and ratios to untraced are printed.
#
#   scripts/trace_overhead.sh                 # 5 rounds, 10,000 cycles
#   ROUNDS=9 CYCLES=10000 scripts/trace_overhead.sh
#   BEFORE=/path/to/older/sockscope scripts/trace_overhead.sh   # also time another build
set -euo pipefail

cd "$(dirname "$0")/.."
CYCLES=${CYCLES:-10000}
ROUNDS=${ROUNDS:-5}
SOCKSCOPE=${SOCKSCOPE:-target/release/sockscope}
BEFORE=${BEFORE:-}
# An older build does not stop waiting when the program ends: give it room to finish.
BEFORE_WAIT=${BEFORE_WAIT:-30s}

[ -x "$SOCKSCOPE" ] || { echo "build first: cargo build --release --locked" >&2; exit 2; }
command -v cc >/dev/null || { echo "needs a C compiler (cc)" >&2; exit 2; }
have_strace=1
command -v strace >/dev/null || { have_strace=0; echo "strace not installed: its rows are skipped" >&2; }

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

cat >"$dir/bench.c" <<'C'
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int cycles = argc > 1 ? atoi(argv[1]) : 10000;
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {0};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&address, sizeof address) || listen(listener, 128)) {
        perror("listen");
        return 1;
    }
    socklen_t length = sizeof address;
    getsockname(listener, (struct sockaddr *)&address, &length);
    pid_t server = fork();
    if (server == 0) {
        for (;;) {
            int connection = accept(listener, NULL, NULL);
            if (connection < 0) continue;
            char byte;
            if (read(connection, &byte, 1) == 1) write(connection, &byte, 1);
            close(connection);
        }
    }
    close(listener);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int i = 0; i < cycles; i++) {
        int client = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(client, (struct sockaddr *)&address, sizeof address)) {
            perror("connect");
            return 1;
        }
        char byte = 'x';
        write(client, &byte, 1);
        read(client, &byte, 1);
        close(client);
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    kill(server, SIGTERM);
    waitpid(server, NULL, 0);
    printf("seconds %.3f\n", (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9);
    return 0;
}
C
cc -O2 -o "$dir/bench" "$dir/bench.c"

seconds_of() { sed -n 's/.*seconds \([0-9.]*\).*/\1/p' | head -1; }
# The program's own timing, from the snapshot's captured standard output.
traced_seconds() {
    python3 -c 'import json,sys; print(json.load(sys.stdin)["program"]["stdout"])' | seconds_of
}

kinds=(untraced sockscope)
[ -n "$BEFORE" ] && kinds+=(before)
[ "$have_strace" = 1 ] && kinds+=(strace strace_seccomp)
declare -A times
for round in $(seq "$ROUNDS"); do
    for kind in "${kinds[@]}"; do
        case $kind in
            untraced) t=$("$dir/bench" "$CYCLES" | seconds_of) ;;
            sockscope) t=$("$SOCKSCOPE" snapshot --trace "$dir/bench $CYCLES" --wait 600s --format json 2>/dev/null | traced_seconds) ;;
            before) t=$("$BEFORE" snapshot --trace "$dir/bench $CYCLES" --wait "$BEFORE_WAIT" --format json 2>/dev/null | traced_seconds) ;;
            strace) t=$(strace -f -e trace=network,close,read,write -o /dev/null "$dir/bench" "$CYCLES" | seconds_of) ;;
            strace_seccomp) t=$(strace -f --seccomp-bpf -e trace=network,close,read,write -o /dev/null "$dir/bench" "$CYCLES" | seconds_of) ;;
        esac
        times[$kind]="${times[$kind]:-} $t"
        echo "round $round $kind ${t}s" >&2
    done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
base=$(echo "${times[untraced]}" | median)
echo "cycles $CYCLES, rounds $ROUNDS (interleaved); median seconds, ratio to untraced, overhead ratio to strace -f:"
strace_extra=""
if [ "$have_strace" = 1 ]; then
    strace_median=$(echo "${times[strace]}" | median)
    strace_extra=$(awk -v s="$strace_median" -v b="$base" 'BEGIN {print s - b}')
fi
for kind in "${kinds[@]}"; do
    m=$(echo "${times[$kind]}" | median)
    line=$(awk -v m="$m" -v b="$base" 'BEGIN {printf "%-15s %7.3f s  x%.2f", "", m, m / b}')
    if [ -n "$strace_extra" ] && [ "$kind" != untraced ]; then
        line="$line$(awk -v m="$m" -v b="$base" -v e="$strace_extra" 'BEGIN {printf "  overhead %.2f of strace -f", (m - b) / e}')"
    fi
    printf '%-15s%s\n' "$kind" "${line:15}"
done
