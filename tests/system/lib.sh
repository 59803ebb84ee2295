# Shared by the system tests: the porthop binary run as a user runs it, on loopback, with a
# UDP echo backend. Every process started here is killed on exit (trap), also on failure.
set -euo pipefail

BIN=${1:?usage: $0 PATH_TO_PORTHOP}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOOLS="python3 $HERE/tools.py"
WORK=$(mktemp -d /tmp/porthop-system-XXXXXX)
PIDS=()
passed=0
failed=0

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if ((failed > 0)) && [[ -f $WORK/porthop.log ]]; then
        echo "--- porthop.log"; tail -40 "$WORK/porthop.log"
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { echo "PASS: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1"; failed=$((failed + 1)); }
# expect NAME ACTUAL EXPECTED
expect() { if [[ $2 == "$3" ]]; then ok "$1"; else bad "$1 (got '$2', expected '$3')"; fi; }
finish() {
    echo "$passed passed, $failed failed"
    ((failed == 0))
}

start_echo() {  # start_echo PORT: returns once it echoes (5 s at most)
    $TOOLS echo "$1" & PIDS+=($!)
    local i
    for i in $(seq 50); do
        [[ $($TOOLS udp 1 "$1" 2>/dev/null) == 1 ]] && return 0
        sleep 0.1
    done
    echo "echo backend on $1 did not start"
    exit 1
}

start_client() {  # start_client NAME ARGS...: `porthop client ARGS` (log $WORK/NAME.log), until it has a path (10 s)
    # Emptied here, not only by the job's redirection: that runs in the child, after the loop
    # below may already have read a previous run's log.
    : >"$WORK/$1.log"
    "$BIN" client "${@:2}" 2>>"$WORK/$1.log" & CLIENT=$!
    PIDS+=("$CLIENT")
    local _
    for _ in $(seq 100); do
        grep -q "path: start -> " "$WORK/$1.log" && return 0
        kill -0 "$CLIENT" 2>/dev/null || break
        sleep 0.1
    done
    bad "$1: the client found no path to the server in 10 s: $(cat "$WORK/$1.log")"
    return 1
}

start_porthop() {  # start_porthop CONFIG: waits for the start-up line (10 s at most)
    : >"$WORK/porthop.log"  # emptied before the job starts (see start_client)
    "$BIN" server --config "$1" 2>>"$WORK/porthop.log" & PORTHOP=$!
    PIDS+=("$PORTHOP")
    local i
    for i in $(seq 100); do
        grep -q " server (" "$WORK/porthop.log" && return 0
        kill -0 "$PORTHOP" 2>/dev/null || break
        sleep 0.1
    done
    cat "$WORK/porthop.log"
    echo "porthop did not start"
    exit 1
}

wait_for_log() {  # wait_for_log PATTERN COUNT: until PATTERN appears COUNT times (5 s at most)
    local i
    for i in $(seq 50); do
        (($(grep -c -- "$1" "$WORK/porthop.log" || true) >= $2)) && return 0
        sleep 0.1
    done
    return 1
}

metric() {  # metric 'NAME{LABELS}' from the last scrape in $WORK/metrics
    awk -v m="$1" 'index($0, m " ") == 1 { print $NF }' "$WORK/metrics"
}

scrape() {  # scrape PORT: GET /metrics into $WORK/metrics (status line removed)
    $TOOLS http GET "http://127.0.0.1:$1/metrics" >"$WORK/scrape"
    head -1 "$WORK/scrape" >"$WORK/status"
    tail -n +2 "$WORK/scrape" >"$WORK/metrics"
}

# loopback_relay_config: free ports U (udp), T (tcp), M (metrics), BE (backend) and a relay
# configuration on 127.0.0.1 using them in $WORK/server.toml.
loopback_relay_config() {
    read -r U T M BE < <($TOOLS free-ports 4)
    cat >"$WORK/server.toml" <<CONF
[server]
listen = ["127.0.0.1"]
udp = ["$U"]
tcp = ["$T"]
backend = "127.0.0.1:$BE"
[metrics]
listen = "127.0.0.1:$M"
CONF
}
