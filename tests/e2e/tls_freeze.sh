#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The agent behind a censor that silently freezes long TLS connections (issue 15): the censor
# router drops all UDP, drops every TCP connection to 443 whose first payload is not TLS, and
# freezes every TCP connection to 443 once it has carried 16 KiB from the server (from then on
# every packet of it, both ways, is dropped without a RST: ph_censor_freeze). The agent has
# tcp_rotate_bytes = 12000: after that many bytes on a connection it opens a fresh TLS
# connection, attaches and switches (make-before-break), and a connection that goes silent
# while sending rotates too. Unmodified WireGuard (wireguard-go both ends) through the agent:
#   - a 20 s download (iperf3 -R, 1 s intervals) through the tunnel has data in at least 15 of
#     its seconds;
#   - WireGuard does not re-handshake: the server's wireguard-go receives exactly one handshake
#     initiation (a rekey is only due 120 s after the first);
#   - the freeze rule dropped packets (otherwise the censor froze nothing and the test proves
#     nothing), none of the agent's connections hit the non-TLS rule, and every first client
#     payload is exempt from the GFW's fully-encrypted-traffic rules (fet_check.py).
# Reported: the TCP connections the agent opened (SYNs captured at the router, and the relay's
# successful TLS handshakes), the freeze rule's drops, the per-second download.
# PH_TLS_FREEZE_ROTATE (default 12000) sets tcp_rotate_bytes; "none" leaves the key out (a
# diagnostic run against a binary without it: the download then depends on stall detection).
# About 40 s.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
ph_init tls_freeze

WG_PORT=51820
CLI_IF=wgc$PH_ID
SRV_IF=wgs$PH_ID
CLI_TUN=10.78.0.2
SRV_TUN=10.78.0.1
UDP_PORTS="443 1194 40000-40099"
TCP_PORT=443
INTERVAL=10
FREEZE_BYTES=16384 # from the server, per connection (conntrack's reply direction)
ROTATE_BYTES=${PH_TLS_FREEZE_ROTATE:-12000}
DOWNLOAD_S=20
MIN_SECONDS=15 # seconds of the download with data
FET_CHECK=$(cd "$(dirname "$0")/../system" && pwd)/fet_check.py

ph_topology
ph_censor_block_all_udp
ph_censor_tls_only "$TCP_PORT"
ph_censor_freeze "$TCP_PORT" "$FREEZE_BYTES"
KEY=$(ph_hop_key)
ph_wg_keys server
ph_wg_keys client
ph_wg_up "$PH_NS_SRV" "$SRV_IF" "$SRV_TUN/24" private-key "$PH_TMP/server.key" \
    listen-port "$WG_PORT" peer "$(<"$PH_TMP/client.pub")" allowed-ips "$CLI_TUN/32"
ph_porthop_start "127.0.0.1:$WG_PORT" "$UDP_PORTS" "$TCP_PORT" "$(ph_hop_server_toml "$KEY" "${INTERVAL}s")"
ph_iperf_server "$PH_NS_SRV" "$SRV_TUN"
# Every connection the agent opens, from before its first: SYNs counted, first payloads judged.
# Only the client's side of them (the download's bulk is the server's; the client sends ACKs).
PCAP=$PH_TMP/agent.pcap
ph_spawn "$PH_NS_RTR" "$PH_TMP/tcpdump-agent.log" tcpdump -i to-cli -n -U -s 0 -w "$PCAP" \
    "tcp and src host $PH_CLI_ADDR and dst host $PH_SRV_ADDR and dst port $TCP_PORT"
CAPTURE_PID=$PH_PID
ph_wait_ready "$CAPTURE_PID" 5 "tcpdump on to-cli to start" grep -q "listening on" "$PH_TMP/tcpdump-agent.log"

if [[ $ROTATE_BYTES == none ]]; then
    ph_log "PH_TLS_FREEZE_ROTATE=none: the agent runs without tcp_rotate_bytes (diagnostic)"
    PH_AGENT_EXTRA=
else
    PH_AGENT_EXTRA="tcp_rotate_bytes = $ROTATE_BYTES"
fi
ph_agent_start "$PH_NS_CLI" "127.0.0.1:$WG_PORT" "$PH_SRV_ADDR" "$UDP_PORTS" "$TCP_PORT" "$KEY" "${INTERVAL}s"
path=$(ph_agent_path)
[[ $path == "tcp/$TCP_PORT" ]] || ph_die "agent path is '$path', expected tcp/$TCP_PORT (all UDP is dropped)"
# The client's own port must not be the agent's 51820 (both are in the client namespace).
ph_wg_up "$PH_NS_CLI" "$CLI_IF" "$CLI_TUN/24" private-key "$PH_TMP/client.key" listen-port 51821 \
    peer "$(<"$PH_TMP/server.pub")" allowed-ips "$SRV_TUN/32" endpoint "127.0.0.1:$WG_PORT"
SRV_WG_LOG=$PH_TMP/wireguard-go-$SRV_IF.log
# The first ping triggers the handshake; a few pings are far below the freeze's 16 KiB.
ph_wait_until 10 "a ping reply through the tunnel" ph_ns "$PH_NS_CLI" ping -c1 -W1 "$SRV_TUN"
ph_log "tunnel up; agent on $(ph_agent_path)"

# --- the download ------------------------------------------------------------------------------
# iperf3's own intervals are checked, and a timeline independent of them is measured: the
# segments from the iperf3 server that reach the client's WireGuard interface (headers only).
# (iperf3 3.12 as a receiver ends an interval only when data arrives, so across a stall one
# interval can stretch over several seconds and its count can only be lower than the timeline's.)
TUNNEL_PCAP=$PH_TMP/tunnel.pcap
ph_spawn "$PH_NS_CLI" "$PH_TMP/tcpdump-tunnel.log" tcpdump -i "$CLI_IF" -n -U -s 96 -w "$TUNNEL_PCAP" \
    "tcp src port 5201"
TUNNEL_CAPTURE_PID=$PH_PID
ph_wait_ready "$TUNNEL_CAPTURE_PID" 5 "tcpdump on $CLI_IF to start" grep -q "listening on" "$PH_TMP/tcpdump-tunnel.log"
JSON=$PH_TMP/iperf-download.json
# -R: the server sends. --rcv-timeout: a frozen tunnel ends the run within 10 s instead of 120.
ph_spawn "$PH_NS_CLI" "$JSON.stderr" iperf3 -c "$SRV_TUN" -R -t "$DOWNLOAD_S" -i 1 -J --logfile "$JSON" \
    --connect-timeout 5000 --rcv-timeout 10000
IPERF_PID=$PH_PID
iperf_rc=0
ph_wait_exit "$IPERF_PID" $((DOWNLOAD_S + 25)) "iperf3 download" || iperf_rc=$?
ph_capture_stop
_ph_stop_pids "$TUNNEL_CAPTURE_PID"
ph_agent_path_lines | sed 's/^/    /' >&2

err=$(jq -r '.error // empty' "$JSON" 2>/dev/null) || err="no JSON report: $(head -c 300 "$JSON")"
# Whole intervals only (iperf3 may end with a sliver of a second).
per_second=$(jq -r '[.intervals[]?.sum | select(.seconds >= 0.5) | .bytes / 1000 | floor] | join(" ")' "$JSON" 2>/dev/null || true)
seconds_with_data=$(jq '[.intervals[]?.sum | select(.seconds >= 0.5 and .bytes > 0)] | length' "$JSON" 2>/dev/null || echo 0)
seconds_total=$(jq '[.intervals[]?.sum | select(.seconds >= 0.5)] | length' "$JSON" 2>/dev/null || echo 0)
received=$(jq '.end.sum_received.bytes // 0' "$JSON" 2>/dev/null || echo 0)
# The timeline: 1 s buckets from the data connection's first packet (the server's SYN-ACK; the
# test's 20 s start a few milliseconds later), counting those in which payload arrived.
data_port=$(jq -r '.start.connected[0].local_port // empty' "$JSON" 2>/dev/null || true)
timeline_seconds=0
timeline=none
if [[ -n $data_port ]]; then
    read -r timeline_seconds timeline < <(tcpdump -r "$TUNNEL_PCAP" -tt -n "tcp src port 5201 and dst port $data_port" 2>/dev/null |
        awk -v n="$DOWNLOAD_S" '
            NR == 1 { t0 = $1 }
            match($0, / length [0-9]+/) && substr($0, RSTART + 8, RLENGTH - 8) + 0 > 0 {
                s = int($1 - t0); if (s < n) kb[s] += substr($0, RSTART + 8, RLENGTH - 8) / 1000
            }
            END { c = 0; line = ""; for (i = 0; i < n; i++) { if (kb[i] > 0) c++; line = line (i ? " " : "") int(kb[i]) }
                  print c, line }')
fi
ph_result "download (iperf3 -R, ${DOWNLOAD_S}s, exit $iperf_rc${err:+, error: $err}): data in $seconds_with_data of" \
    "$seconds_total whole intervals, $((received / 1000)) kB received; kB per interval: ${per_second:-none}"
ph_result "download timeline at the client's WireGuard interface: data in $timeline_seconds of $DOWNLOAD_S" \
    "seconds; kB per second: ${timeline:-none}"

# --- what the censor and the relay saw ---------------------------------------------------------
frozen=$(ph_censor_frozen)
not_tls=$(ph_censor_not_tls)
syns=$(tcpdump -r "$PCAP" -n "tcp dst port $TCP_PORT and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn" 2>/dev/null | wc -l)
tls_ok=$(ph_relay_metric porthop_tls_handshakes_total 'result="ok"')
ph_result "censor: freeze rule dropped $frozen packet(s), non-TLS rule $not_tls; the agent opened $syns TCP" \
    "connection(s) to $TCP_PORT (SYNs captured), the relay counted $tls_ok TLS handshake(s) ok"
fet_rc=0
python3 "$FET_CHECK" "$PCAP" --server "$PH_SRV_ADDR" --port "$TCP_PORT" --min-connections 1 \
    >"$PH_TMP/fet.txt" 2>&1 || fet_rc=$?
ph_result "fet_check.py: $(grep -m1 '^summary:' "$PH_TMP/fet.txt" || echo 'no summary') (exit $fet_rc)"
inits=$(grep -c 'Received handshake initiation' "$SRV_WG_LOG" || true)
ph_result "server wireguard-go: $inits handshake initiation(s) received"
# Rotated-away connections should be closed by the agent (FIN-WAIT-*: a FIN still queued behind
# unacknowledged data on a frozen connection), not left established.
sockets=$(ph_ns "$PH_NS_CLI" ss -Htn state all dst "$PH_SRV_ADDR" dport = ":$TCP_PORT" |
    awk '{ n[$1]++ } END { for (s in n) printf "%s%s=%d", (c++ ? " " : ""), s, n[s] }')
ph_result "the agent's TCP sockets to $TCP_PORT now: ${sockets:-none}"
ph_result "agent /status: $(ph_agent_status 2>/dev/null || echo '(no answer)')"
ph_result "RESULT seconds_with_data=$seconds_with_data/$seconds_total timeline_seconds=$timeline_seconds/$DOWNLOAD_S received_kB=$((received / 1000))" \
    "tcp_connections=$syns tls_handshakes_ok=$tls_ok freeze_drops=$frozen not_tls_drops=$not_tls" \
    "wg_handshake_initiations=$inits fet_exit=$fet_rc rotate_bytes=$ROTATE_BYTES"

((frozen > 0)) || ph_die "the freeze rule dropped nothing: the censor never froze a connection, so this proves nothing"
((not_tls == 0)) || ph_die "the agent opened a TCP connection whose first payload was not a TLS handshake record"
((fet_rc == 0)) || { sed 's/^/    /' "$PH_TMP/fet.txt" >&2; ph_die "fet_check.py failed (exit $fet_rc)"; }
((seconds_with_data >= MIN_SECONDS)) ||
    ph_die "the download had data in $seconds_with_data of iperf3's intervals (need $MIN_SECONDS of $DOWNLOAD_S;" \
        "the timeline at the WireGuard interface: $timeline_seconds)"
((inits == 1)) || ph_die "WireGuard handshook $inits times (expected exactly 1: no re-handshake)"
[[ -z $err ]] || ph_die "iperf3 failed: $err"

ph_agent_stop
ph_porthop_stop
