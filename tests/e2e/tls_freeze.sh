#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The agent behind a censor that silently freezes long TLS connections (issue 15): the censor
# router drops all UDP, drops every TCP connection to 443 whose first payload is not TLS, and
# freezes every TCP connection to 443 once it has carried 16 KiB from the server (from then on
# every packet of it, both ways, is dropped without a RST: ph_censor_freeze). Server and agent
# have tcp_rotate_bytes = 12000: the server sends at most that much on one connection, the
# agent opens a fresh TLS connection at half of it, attaches and switches (make-before-break);
# a connection that goes silent while the agent waits for an answer rotates too. Unmodified WireGuard (wireguard-go both ends) through the agent:
#   - a 20 s download (iperf3 -R) through the tunnel delivers data in at least 15 of its seconds
#     (seconds in which the client's TCP acknowledged new data; iperf3's intervals reported);
#   - WireGuard does not re-handshake: the server's wireguard-go receives exactly one handshake
#     initiation (a rekey is only due 120 s after the first);
#   - none of the agent's connections hit the non-TLS rule, and every first client payload is
#     exempt from the GFW's fully-encrypted-traffic rules (fet_check.py);
#   - control: afterwards, a TLS connection that carries 64 KiB from the same address and port
#     is frozen by the censor below 20 KB (its drops counted), so the censor works.
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
SERVER_EXTRA=""
[[ $ROTATE_BYTES == none ]] || SERVER_EXTRA="tcp_rotate_bytes = $ROTATE_BYTES"
ph_porthop_start "127.0.0.1:$WG_PORT" "$UDP_PORTS" "$TCP_PORT" "$(ph_hop_server_toml "$KEY" "${INTERVAL}s")
$SERVER_EXTRA"
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
# "Data in a second" is measured on the wall clock, from the client's own TCP: the seconds in
# which its cumulative ACK of the download advanced, i.e. in which in-order data reached
# iperf3's socket (segments that arrive after a hole do not count until it is filled). They
# come from a capture of the download's headers on the client's WireGuard interface, 1 s
# buckets from the data connection's SYN. iperf3's own 1 s intervals are reported beside it but
# do not decide: iperf3 3.12 as a receiver ends an interval only when data arrives, so across a
# stall an interval stretches over several seconds, and the burst that ends it is split between
# it and the sliver up to the next whole second (both then count as "with data").
TUNNEL_PCAP=$PH_TMP/tunnel.pcap
ph_spawn "$PH_NS_CLI" "$PH_TMP/tcpdump-tunnel.log" tcpdump -i "$CLI_IF" -n -U -s 96 -w "$TUNNEL_PCAP" \
    "tcp port 5201"
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
iperf_intervals=$(jq -r '[.intervals[]?.sum | "\(.start | floor)-\(.end * 10 | floor / 10):\(.bytes / 1000 | floor)"] | join(" ")' \
    "$JSON" 2>/dev/null || true)
iperf_with_data=$(jq '[.intervals[]?.sum | select(.seconds >= 0.5 and .bytes > 0)] | length' "$JSON" 2>/dev/null || echo 0)
received=$(jq '.end.sum_received.bytes // 0' "$JSON" 2>/dev/null || echo 0)
data_port=$(jq -r '.start.connected[0].local_port // empty' "$JSON" 2>/dev/null || true)
seconds_with_data=0
per_second=none
if [[ -n $data_port ]]; then
    # -S: absolute sequence numbers; the ACK's advance is taken modulo 2^32.
    read -r seconds_with_data per_second < <(tcpdump -r "$TUNNEL_PCAP" -tt -n -S \
        "tcp src port $data_port and dst port 5201" 2>/dev/null | awk -v n="$DOWNLOAD_S" '
            NR == 1 { t0 = $1 }
            match($0, / ack [0-9]+/) {
                a = substr($0, RSTART + 5, RLENGTH - 5) + 0
                if (have) { d = (a - last + 4294967296) % 4294967296
                            if (d > 0 && d < 2147483648) { s = int($1 - t0); if (s < n) kb[s] += d / 1000; last = a } }
                else { have = 1; last = a }
            }
            END { c = 0; line = ""; for (i = 0; i < n; i++) { if (kb[i] > 0) c++; line = line (i ? " " : "") int(kb[i]) }
                  print c, line }')
fi
ph_result "download (iperf3 -R, ${DOWNLOAD_S}s, exit $iperf_rc${err:+, error: $err}): $((received / 1000)) kB received;" \
    "in-order data in $seconds_with_data of $DOWNLOAD_S seconds, kB per second: ${per_second:-none}"
ph_result "iperf3's own intervals (start-end:kB): ${iperf_intervals:-none} ($iperf_with_data of >= 0.5 s with data)"

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
ph_result "RESULT seconds_with_data=$seconds_with_data/$DOWNLOAD_S iperf3_intervals_with_data=$iperf_with_data received_kB=$((received / 1000))" \
    "tcp_connections=$syns tls_handshakes_ok=$tls_ok freeze_drops=$frozen not_tls_drops=$not_tls" \
    "wg_handshake_initiations=$inits fet_exit=$fet_rc rotate_bytes=$ROTATE_BYTES"

((not_tls == 0)) || ph_die "the agent opened a TCP connection whose first payload was not a TLS handshake record"
((fet_rc == 0)) || { sed 's/^/    /' "$PH_TMP/fet.txt" >&2; ph_die "fet_check.py failed (exit $fet_rc)"; }
((seconds_with_data >= MIN_SECONDS)) ||
    ph_die "the download delivered data in $seconds_with_data of its $DOWNLOAD_S seconds (need $MIN_SECONDS)"
((inits == 1)) || ph_die "WireGuard handshook $inits times (expected exactly 1: no re-handshake)"
[[ -z $err ]] || ph_die "iperf3 failed: $err"

ph_agent_stop
ph_porthop_stop

# --- control: the censor does freeze a TLS connection that carries more ------------------------
# With the relay gone, a TLS server on the same address and port sends 64 KiB to a client that
# reads for 3 s: the censor must stop it below 20 KB (and count drops), or the download above
# proved nothing about freezing.
cat >"$PH_TMP/control-server.py" <<'PY'
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[3] + "/chain.pem", sys.argv[3] + "/leaf.key")
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
print("listening", flush=True)
s.settimeout(20)
c, _ = s.accept()
t = ctx.wrap_socket(c, server_side=True)
t.settimeout(10)
try:
    t.sendall(b"x" * 65536)
except Exception as e:
    print("send stopped:", e, flush=True)
PY
ph_spawn "$PH_NS_SRV" "$PH_TMP/control-server.log" python3 "$PH_TMP/control-server.py" "$PH_SRV_ADDR" "$TCP_PORT" "$PH_TLS_DIR"
CONTROL_PID=$PH_PID
ph_wait_ready "$CONTROL_PID" 5 "the control TLS server" grep -q listening "$PH_TMP/control-server.log"
control_kb=$(ph_ns "$PH_NS_CLI" python3 - "$PH_SRV_ADDR" "$TCP_PORT" <<'PY'
import socket, ssl, sys, time
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
t = ctx.wrap_socket(socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5))
t.settimeout(0.5)
got, end = 0, time.time() + 3
while time.time() < end and got < 65536:
    try:
        d = t.recv(65536)
    except (socket.timeout, ssl.SSLError):
        continue
    if not d:
        break
    got += len(d)
print(got // 1000)
PY
) || control_kb=error
frozen_after=$(ph_censor_frozen)
ph_result "control: a plain TLS download of 64 KiB through the censor got $control_kb kB in 3 s;" \
    "freeze drops $frozen -> $frozen_after"
[[ $control_kb =~ ^[0-9]+$ ]] && ((control_kb < 20 && frozen_after > frozen)) ||
    ph_die "the censor did not freeze the control connection ($control_kb kB, freeze drops $frozen -> $frozen_after): the download above proves nothing"
