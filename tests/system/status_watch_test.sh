#!/bin/bash
# `porthop status` as a user reads it, on loopback: a server, a UDP echo backend and a client
# carrying datagrams.
# - once, to a file: the client and server views, "no blocking seen", no ANSI escapes at all;
#   --client and --server alone; exit 1 with a message when nothing answers;
# - --watch in a tmux pane (120x50): the view refreshes every --interval (the "to server"
#   datagrams grow, a rate .../s appears), in colour, and without colour under NO_COLOR=1;
# - UDP to the server's ports blocked for this machine (an nftables table of its own, root
#   only): the view says "UDP blocked on this network since", the path becomes tcp/PORT, and the
#   client's /metrics count one udp_silent blocking event on rung 3 (TLS).
# Without root (or nftables) that last part is skipped and, the rest passed, the test exits 77.
source "$(dirname "$0")/lib.sh"

command -v tmux >/dev/null || { echo "FAIL: tmux missing (Debian package tmux)"; exit 1; }
KEY=$("$BIN" genkey)
read -r U1 U2 T M BE CL CM N1 N2 < <($TOOLS free-ports 9)
TMUX_SOCKETS=()  # one tmux server per view, each on its socket in $WORK
NFT_TABLE=porthop_status_$$
nft_added=0
stop_all() {
    local socket
    for socket in "${TMUX_SOCKETS[@]}"; do tmux -S "$socket" kill-server 2>/dev/null || true; done
    ((nft_added)) && { nft delete table inet "$NFT_TABLE" 2>/dev/null || true; }
    cleanup
}
trap stop_all EXIT

mkdir -p "$WORK/state"
cat >"$WORK/both.toml" <<CONF
[server]
listen = ["127.0.0.1"]
udp = ["$U1", "$U2"]
tcp = ["$T"]
backend = "127.0.0.1:$BE"
key = "$KEY"
state_file = "$WORK/state/sessions"
[metrics]
listen = "127.0.0.1:$M"
[client_metrics]
listen = "127.0.0.1:$CM"
[client]
listen = "127.0.0.1:$CL"
server = "127.0.0.1"
udp = ["$U1", "$U2"]
tcp = ["$T"]
key = "$KEY"
CONF
# Ports nothing listens on.
printf '[metrics]\nlisten = "127.0.0.1:%s"\n[client_metrics]\nlisten = "127.0.0.1:%s"\n' "$N1" "$N2" >"$WORK/nothing.toml"

start_echo "$BE"
start_porthop "$WORK/both.toml"
pin=$(sed -n 's/.*tls_pin = "\(sha256\/[^"]*\)".*/\1/p' "$WORK/porthop.log" | head -1)
[[ -n $pin ]] || { bad "no pin in the server's log"; finish || exit 1; }
# The client reads the same file plus the pin ([client] is its last section).
{ cat "$WORK/both.toml"; printf 'tls_pin = "%s"\n' "$pin"; } >"$WORK/client.toml"
start_client client --config "$WORK/client.toml" || { finish || exit 1; }
grep -q "path: start -> udp/" "$WORK/client.log" || { bad "the client found no UDP path: $(cat "$WORK/client.log")"; finish || exit 1; }
expect "20 datagrams through the client come back" "$($TOOLS udp 20 "$CL")" 20

# --- once, to a file -------------------------------------------------------------------------------
# status NAME EXPECTED_EXIT ARGS...: `porthop status ARGS` into $WORK/NAME.out and .err
status() {
    local code=0
    timeout 10 "$BIN" status "${@:3}" >"$WORK/$1.out" 2>"$WORK/$1.err" || code=$?
    expect "status $1: exit $2" "$code" "$2"
}
has() {  # has NAME REGEX: $WORK/NAME.out matches the extended REGEX
    if grep -qE -- "$2" "$WORK/$1.out"; then ok "status $1: shows '$2'"
    else bad "status $1: no '$2' in: $(cat "$WORK/$1.out")"; fi
}
lacks() {  # lacks NAME REGEX WHAT
    if grep -qE -- "$2" "$WORK/$1.out"; then bad "status $1: shows $3"; else ok "status $1: no $3"; fi
}
status both 0 --config "$WORK/both.toml"
has both "^porthop client"
has both "^porthop server"
has both "no blocking seen"
has both "^ +path +udp/($U1|$U2) since"
has both "to server"
has both "from server"
has both "to backend"
has both "sessions"
lacks both $'\e' "ANSI escapes"
status client 0 --config "$WORK/both.toml" --client
has client "^porthop client"
lacks client "^porthop server" "the server's view"
status server 0 --config "$WORK/both.toml" --server
has server "^porthop server"
lacks server "^porthop client" "the client's view"
lacks server $'\e' "ANSI escapes"
status nothing 1 --config "$WORK/nothing.toml"
[[ -s $WORK/nothing.err ]] && ok "status with nothing running: a message ($(head -1 "$WORK/nothing.err"))" ||
    bad "status with nothing running: no message"
expect "status with nothing running: nothing on stdout" "$(wc -c <"$WORK/nothing.out")" 0
status nothing-client 1 --config "$WORK/nothing.toml" --client
grep -qF "127.0.0.1:$N2" "$WORK/nothing-client.err" && ok "status --client with no client: the message names its address" ||
    bad "status --client with no client: $(cat "$WORK/nothing-client.err")"
# --watch to a file: views one after another, no screen clearing (no tty).
timeout 2.5 "$BIN" status --watch --interval 1 --config "$WORK/both.toml" >"$WORK/watch-file.out" 2>&1 || true
views=$(grep -c '^porthop client' "$WORK/watch-file.out" || true)
((views >= 2)) && ok "status --watch to a file: $views views in 2.5 s" || bad "status --watch to a file: $views views"
lacks watch-file $'\e' "ANSI escapes (no screen clearing)"

# --- --watch in tmux ---------------------------------------------------------------------------------
pane() { tmux -S "${TMUX_SOCKETS[-1]}" capture-pane -p "$@" -t watch; }
# wait_pane PATTERN [SECONDS]: until the pane matches the extended regex PATTERN; the pane in $WORK/pane
wait_pane() {
    local _
    for _ in $(seq $((${2:-5} * 5))); do
        pane >"$WORK/pane" 2>/dev/null && grep -qE -- "$1" "$WORK/pane" && return 0
        sleep 0.2
    done
    return 1
}
to_server() {  # the datagram count on the pane's "to server" line
    sed -n 's/^ *to server .* in \([0-9,]*\) datagrams.*/\1/p' "$WORK/pane" | tr -d , | head -1
}
watch_in_tmux() {  # watch_in_tmux ENV...: a new tmux server running status --watch in the env given
    ((${#TMUX_SOCKETS[@]} == 0)) || tmux -S "${TMUX_SOCKETS[-1]}" kill-server 2>/dev/null || true
    TMUX_SOCKETS+=("$WORK/tmux-${#TMUX_SOCKETS[@]}")
    # After porthop ends, the pane stays with its exit code, for capture-pane to show.
    tmux -f /dev/null -S "${TMUX_SOCKETS[-1]}" new-session -d -s watch -x 120 -y 50 \
        "env $* '$BIN' status --watch --interval 1 --config '$WORK/both.toml'; echo \"status exited \$?\"; sleep 60"
}
watch_in_tmux -u NO_COLOR
if wait_pane "to server .* in 20 datagrams"; then ok "tmux: the watch view shows 20 datagrams to the server"
else bad "tmux: no view with 20 datagrams: $(cat "$WORK/pane")"; fi
grep -qE '^porthop server' "$WORK/pane" && ok "tmux: the server's view too" || bad "tmux: no server view"
before=$(to_server)
# 3 s of a paced stream (50 datagrams/s): the refreshes see a rate.
$TOOLS stream "$CL" 3 50 >"$WORK/stream" &
stream=$!
PIDS+=("$stream")
if wait_pane "to server .*, [1-9][0-9.,]* [kMG]?B/s"; then ok "tmux: a rate appears while traffic flows ($(grep -oE 'to server .*' "$WORK/pane"))"
else bad "tmux: no rate above 0 B/s: $(grep 'to server' "$WORK/pane")"; fi
wait "$stream" || true
sleep 1.2  # past the next refresh
pane >"$WORK/pane"
after=$(to_server)
((after > before)) && ok "tmux: the view refreshed: to server $before -> $after datagrams" ||
    bad "tmux: to server did not grow ($before -> $after)"
expect "tmux: the stream's datagrams all came back" "$(grep -o 'received=[0-9]*' "$WORK/stream")" "received=150"
pane -e >"$WORK/pane-colour"
grep -qE $'\e\\[[0-9;]*3[0-7]m' "$WORK/pane-colour" && ok "tmux: colours on a tty (ESC[3Xm)" ||
    bad "tmux: no colour escapes: $(head -3 "$WORK/pane-colour" | cat -v)"
grep -qE $'\e\\[([0-9;]*;)?32m' "$WORK/pane-colour" && ok "tmux: the healthy UDP path in green (ESC[32m)" ||
    bad "tmux: no green: $(head -3 "$WORK/pane-colour" | cat -v)"
watch_in_tmux NO_COLOR=1
if wait_pane "^porthop client"; then
    sleep 1.2  # a refresh too
    pane -e >"$WORK/pane-plain"
    grep -q $'\e' "$WORK/pane-plain" && bad "NO_COLOR=1: escapes in the pane: $(grep $'\e' "$WORK/pane-plain" | head -2 | cat -v)" ||
        ok "NO_COLOR=1: no escapes in the pane"
else
    bad "NO_COLOR=1: no view: $(cat "$WORK/pane")"
fi

# --- UDP blocked for the client ------------------------------------------------------------------------
skipped=0
if [[ $(id -u) != 0 ]] || ! command -v nft >/dev/null; then
    echo "SKIP: UDP blocking: needs root and nft"
    skipped=1
elif ! nft -f - <<NFT 2>"$WORK/nft.err"; then
table inet $NFT_TABLE {
    chain output {
        type filter hook output priority 0; policy accept;
        ip daddr 127.0.0.1 udp dport { $U1, $U2 } drop
    }
}
NFT
    echo "SKIP: UDP blocking: nft cannot add a table: $(cat "$WORK/nft.err")"
    skipped=1
else
    nft_added=1
    watch_in_tmux -u NO_COLOR
    # Traffic for the client to notice the silence: 20 datagrams/s for up to 12 s.
    $TOOLS stream "$CL" 12 20 >"$WORK/stream2" &
    stream=$!
    PIDS+=("$stream")
    if wait_pane "UDP blocked on this network since" 15; then
        ok "tmux: $(grep -oE 'UDP blocked on this network since.*' "$WORK/pane")"
    else
        bad "tmux: no 'UDP blocked on this network since': $(cat "$WORK/pane")"
    fi
    if wait_pane "^ *path +tcp/$T" 5; then ok "tmux: $(grep -oE "path +tcp/$T.*" "$WORK/pane" | tr -s ' ')"
    else bad "tmux: the path is not tcp/$T: $(grep -E '^ *path' "$WORK/pane")"; fi
    scrape "$CM"
    expect "client /metrics: one udp_silent blocking event" \
        "$(metric 'porthop_client_blocking_events_total{kind="udp_silent"}')" 1
    expect "client /metrics: rung 3 (TLS)" "$(metric porthop_client_rung)" 3
    kill "$stream" 2>/dev/null || true
    wait "$stream" 2>/dev/null || true
    expect "over TLS, 10 datagrams through the client come back" "$($TOOLS udp 10 "$CL")" 10
    status blocked 0 --config "$WORK/both.toml" --client
    has blocked "UDP blocked on this network since"
    nft delete table inet "$NFT_TABLE" && nft_added=0
fi

kill -TERM "$CLIENT"
wait "$CLIENT" && ok "client: SIGTERM: exit 0" || bad "client: SIGTERM: exit $?"
kill -TERM "$PORTHOP"
wait "$PORTHOP" && ok "server: SIGTERM: exit 0" || bad "server: SIGTERM: exit $?"
finish
((skipped == 0)) || exit 77
