#!/bin/bash
# The relay's CPU per million datagrams at one fixed rate, on loopback: the comparison of two
# builds that bench/throughput.sh cannot make (its CPU column of a saturated run also counts
# work on datagrams the sink then drops, and its rate depends on the machine's state).
#
#   bench/fixed_rate.sh [--tcp] [--rate PPS] [--size N] [--seconds S] PORTHOP...
#
#   --tcp        the generator connects to porthop's TCP port and writes the 16-bit length
#                framing, 64 frames per write (as throughput.sh's porthop-tcp path); default UDP
#   --rate PPS   datagrams per second, paced (default 200000)
#   --size N     UDP payload bytes (default 64)
#   --seconds S  generator run time (default 12); the relay is measured for S - 2 seconds from
#                1 s after the start, so start-up and drain are not counted
#   PORTHOP...   one or more porthop binaries, measured in the order given
#
# Per binary it prints one line: the relay's task-clock (all its threads, perf stat) over the
# window, that per million datagrams, and what the generator sent and the sink received (a run
# in which they differ measured a relay that did not keep up). The relay runs with one worker
# on CPU 1, generator and sink on CPU 0. Environment: UDPLOAD_BIN (default build/bench/udpload).
# Needs perf (linux-perf). Exit status: 0, or 1 if a run failed.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
UDPLOAD=${UDPLOAD_BIN:-$REPO/build/bench/udpload}
mode=send rate=200000 size=64 seconds=12
usage() { echo "usage: $0 [--tcp] [--rate PPS] [--size N] [--seconds S] PORTHOP..." >&2; exit 2; }
while (($#)); do
    case $1 in
        --tcp) mode=tcp-send ;;
        --rate) rate=${2:-}; shift ;;
        --size) size=${2:-}; shift ;;
        --seconds) seconds=${2:-}; shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) usage ;;
        *) break ;;
    esac
    shift
done
(($#)) || usage
[[ $rate =~ ^[1-9][0-9]*$ && $size =~ ^[1-9][0-9]*$ && $seconds =~ ^[0-9]+$ ]] || usage
((seconds >= 4)) || { echo "fixed_rate: --seconds must be at least 4" >&2; exit 2; }
command -v perf >/dev/null || { echo "fixed_rate: perf not found (apt-get install linux-perf)" >&2; exit 1; }
[[ -x $UDPLOAD ]] || { echo "fixed_rate: $UDPLOAD not built (cmake --build build --target udpload)" >&2; exit 1; }
((($(nproc) >= 2))) || { echo "fixed_rate: needs 2 CPUs" >&2; exit 1; }

TMP=$(mktemp -d /tmp/porthop-fixed-rate.XXXXXX)
PIDS=()
cleanup() {
    ((${#PIDS[@]})) && kill "${PIDS[@]}" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

# Three free loopback ports: the sink, the relay's UDP and TCP listeners.
read -r SINK UDP TCP < <(python3 -c '
import socket
s = [socket.socket() for _ in range(3)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')

measure() { # PORTHOP: one run; prints its line
    local bin=$1 relay sink gen window=$((seconds - 2))
    cat >"$TMP/porthop.toml" <<EOF
[server]
listen = ["127.0.0.1"]
udp = ["$UDP"]
tcp = ["$TCP"]
backend = "127.0.0.1:$SINK"
idle_timeout = "2m"
# One generator address stands for every client here: no per-source limits.
handshake_rate = 0
sessions_per_source = 0
workers = 1
[log]
level = "warn"
EOF
    taskset -c 0 "$UDPLOAD" sink --bind "127.0.0.1:$SINK" --timeout $((seconds + 6)) >"$TMP/sink.json" &
    sink=$!
    taskset -c 1 "$bin" server --config "$TMP/porthop.toml" >"$TMP/relay.log" 2>&1 &
    relay=$!
    PIDS=("$sink" "$relay")
    local i
    for ((i = 0; i < 50; i++)); do
        ss -Hltn "sport = :$TCP" | grep -q . && break
        sleep 0.1
    done
    ((i < 50)) || { cat "$TMP/relay.log" >&2; echo "fixed_rate: $bin did not listen" >&2; return 1; }
    local target=127.0.0.1:$UDP
    [[ $mode == tcp-send ]] && target=127.0.0.1:$TCP
    taskset -c 0 "$UDPLOAD" "$mode" --target "$target" --size "$size" --rate "$rate" --duration "$seconds" \
        >"$TMP/gen.json" &
    gen=$!
    PIDS+=("$gen")
    sleep 1
    perf stat -x, -e task-clock -p "$relay" -- sleep "$window" 2>"$TMP/perf.csv"
    wait "$gen" || { echo "fixed_rate: the generator failed: $(cat "$TMP/gen.json")" >&2; return 1; }
    wait "$sink" || true
    kill "$relay" 2>/dev/null
    wait "$relay" 2>/dev/null || true
    PIDS=()
    local ms sent received
    ms=$(awk -F, '/task-clock/ {print $1}' "$TMP/perf.csv")
    sent=$(grep -o '"sent":[0-9]*' "$TMP/gen.json" | cut -d: -f2)
    received=$(grep -o '"received":[0-9]*' "$TMP/sink.json" | cut -d: -f2)
    [[ -n $ms && -n $sent && -n $received ]] || { echo "fixed_rate: no figures for $bin" >&2; return 1; }
    awk -v b="$bin" -v m="$ms" -v r="$rate" -v w="$window" -v s="$sent" -v d="$received" -v z="$size" -v k="$mode" \
        'BEGIN { printf "%s: %s %d B at %d/s: relay %.0f ms CPU in %d s, %.3f s per million; sent %d, received %d\n",
                 b, (k == "tcp-send" ? "tcp" : "udp"), z, r, m, w, m / 1000 / (r * w / 1e6), s, d }'
}

for bin in "$@"; do measure "$bin"; done
