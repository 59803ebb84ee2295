#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The agent behind a censor that allows only TLS on TCP 443 (issue 15): the censor router drops
# all UDP and every TCP connection to 443 whose first payload is not a TLS handshake record,
# from before the agent starts. Unmodified WireGuard (wireguard-go both ends) through the agent:
#   1) the tunnel comes up through TLS on tcp/443 within 10 s of the agent's start (measured
#      from just before `porthop client` is started to the first ping reply through the
#      tunnel) and carries ping (before and after iperf3) and iperf3;
#   2) every TCP connection the agent opened has a first client payload that the GFW's published
#      fully-encrypted-traffic rules exempt (tests/system/fet_check.py over a capture at the
#      router, from before the agent's start), and none of them hit the censor's non-TLS rule;
#   3) controls: (a) a plain TCP client sending non-TLS bytes to server:443 is dropped by the
#      censor (its counter moves), so the rule in 2) can see what it is meant to; (b) a browser-
#      like TLS client (curl, checking the test CA, SNI vector.test) gets the relay's built-in
#      site: HTTP 200 and the "Coming soon" page.
# About 25 s.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
ph_init tls_censor

WG_PORT=51820
CLI_IF=wgc$PH_ID
SRV_IF=wgs$PH_ID
CLI_TUN=10.78.0.2
SRV_TUN=10.78.0.1
UDP_PORTS="443 1194 40000-40099"
TCP_PORT=443
INTERVAL=10
UP_LIMIT=10 # seconds from the agent's start to the first ping reply through the tunnel
FET_CHECK=$(cd "$(dirname "$0")/../system" && pwd)/fet_check.py

ph_topology
ph_censor_block_all_udp
ph_censor_tls_only "$TCP_PORT"
KEY=$(ph_hop_key)
ph_wg_keys server
ph_wg_keys client
ph_wg_up "$PH_NS_SRV" "$SRV_IF" "$SRV_TUN/24" private-key "$PH_TMP/server.key" \
    listen-port "$WG_PORT" peer "$(<"$PH_TMP/client.pub")" allowed-ips "$CLI_TUN/32"
ph_porthop_start "127.0.0.1:$WG_PORT" "$UDP_PORTS" "$TCP_PORT" "$(ph_hop_server_toml "$KEY" "${INTERVAL}s")"
ph_iperf_server "$PH_NS_SRV" "$SRV_TUN"
# Everything between the client and the server, from before the agent's first packet.
ph_capture_start agent to-cli

# --- 1) up through TLS within 10 s -------------------------------------------------------------
T_AGENT=$EPOCHREALTIME
ph_agent_start "$PH_NS_CLI" "127.0.0.1:$WG_PORT" "$PH_SRV_ADDR" "$UDP_PORTS" "$TCP_PORT" "$KEY" "${INTERVAL}s"
T_ATTACHED=$EPOCHREALTIME
# The client's own port must not be the agent's 51820 (both are in the client namespace).
ph_wg_up "$PH_NS_CLI" "$CLI_IF" "$CLI_TUN/24" private-key "$PH_TMP/client.key" listen-port 51821 \
    peer "$(<"$PH_TMP/server.pub")" allowed-ips "$SRV_TUN/32" endpoint "127.0.0.1:$WG_PORT"
SRV_WG_LOG=$PH_TMP/wireguard-go-$SRV_IF.log
# 10 pings a second (-D: each reply with its arrival time); the first triggers the handshake.
ph_tping_start "$PH_NS_CLI" "$SRV_TUN" 30 "$PH_TMP/ping.log"
first_reply() { [[ -n $(_ph_tping_replies) ]]; }
ph_wait_ready "$PH_TPING_PID" $((UP_LIMIT + 5)) "first ping reply through the tunnel" first_reply
t_reply=$(_ph_tping_replies | awk 'NR == 1 { print $3 }')
UP_S=$(awk -v a="$T_AGENT" -v b="$t_reply" 'BEGIN { printf "%.2f", b - a }')
ATTACH_S=$(awk -v a="$T_AGENT" -v b="$T_ATTACHED" 'BEGIN { printf "%.2f", b - a }')
path=$(ph_agent_path)
ph_result "agent start -> attached (seen in /status) ${ATTACH_S}s, -> first ping reply through the tunnel" \
    "${UP_S}s (limit ${UP_LIMIT}s); agent path $path"
ph_agent_path_lines | sed 's/^/    /' >&2
[[ $path == "tcp/$TCP_PORT" ]] || ph_die "agent path is '$path', expected tcp/$TCP_PORT (all UDP is dropped)"
awk -v t="$UP_S" -v l="$UP_LIMIT" 'BEGIN { exit !(t <= l) }' ||
    ph_die "the tunnel came up ${UP_S}s after the agent's start (limit ${UP_LIMIT}s)"

kill -INT "$PH_TPING_PID" 2>/dev/null || true
ph_wait_exit "$PH_TPING_PID" 5 "ping stream" || true
# Ping and iperf3 through the tunnel, over TLS (apart: a saturating iperf3 fills the agent's
# queue to the TCP connection, and datagrams beyond it are dropped, pings among them), then ping
# again: the tunnel is still healthy after the bulk transfer.
ph_ping "$PH_NS_CLI" "$SRV_TUN" 20 5
ping_before=$(_ph_ping_loss "$(<"$PH_TMP/ping-$_PH_NPING.log")")
ph_iperf "$PH_NS_CLI" "$SRV_TUN" 4 "$PH_TMP/iperf.json"
IPERF_MBPS=$(_ph_mbps "$(jq '.end.sum_received.bits_per_second' "$PH_TMP/iperf.json")")
ph_ping "$PH_NS_CLI" "$SRV_TUN" 10 10
ping_after=$(_ph_ping_loss "$(<"$PH_TMP/ping-$_PH_NPING.log")")
path=$(ph_agent_path)
[[ $path == "tcp/$TCP_PORT" ]] || ph_die "agent path is '$path' after iperf3, expected tcp/$TCP_PORT"
ph_capture_stop

# --- 2) the agent's connections: TLS first, FET-exempt -----------------------------------------
not_tls=$(ph_censor_not_tls)
ph_result "TLS-only censor on tcp/$TCP_PORT: $not_tls packet(s) of the agent's connections dropped as not TLS"
((not_tls == 0)) || ph_die "the agent opened a TCP connection whose first payload was not a TLS handshake record"
syns=$(ph_ns "$PH_NS_RTR" tcpdump -r "$PCAP" -n \
    "tcp dst port $TCP_PORT and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn" 2>/dev/null | wc -l)
tls_ok=$(ph_relay_metric porthop_tls_handshakes_total 'result="ok"')
ph_result "the agent opened $syns TCP connection(s) to $TCP_PORT (SYNs captured);" \
    "relay: $tls_ok TLS handshake(s) ok"
((tls_ok >= 1)) || ph_die "the relay counted no TLS handshake, yet the agent is on tcp/$TCP_PORT"
fet_rc=0
python3 "$FET_CHECK" "$PCAP" --server "$PH_SRV_ADDR" --port "$TCP_PORT" --min-connections 1 \
    >"$PH_TMP/fet.txt" 2>&1 || fet_rc=$?
sed 's/^/    /' "$PH_TMP/fet.txt" >&2
ph_result "fet_check.py: $(grep -m1 '^summary:' "$PH_TMP/fet.txt" || echo 'no summary') (exit $fet_rc)"
((fet_rc == 0)) || ph_die "fet_check.py failed (exit $fet_rc): a first payload of the agent is not exempt"

# WireGuard never noticed: one handshake initiation at the backend.
inits=$(grep -c 'Received handshake initiation' "$SRV_WG_LOG" || true)
ph_result "server wireguard-go: $inits handshake initiation(s) received"
((inits == 1)) || ph_die "WireGuard handshook $inits times (expected exactly 1)"

# --- 3a) control: a non-TLS first payload to 443 is dropped -------------------------------------
before=$(ph_censor_not_tls)
# Connects, sends 32 bytes that are not TLS, waits up to 3 s for an answer; 8 s in all at most.
ctl_out=$(ph_ns "$PH_NS_CLI" timeout 8 python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
s.sendall(b"\x00\x20not a TLS record, just bytes..")
s.settimeout(3)
try:
    data = s.recv(4096)
    print("answered %d bytes" % len(data) if data else "closed by the server")
except socket.timeout:
    print("no answer in 3 s")
except OSError as e:
    print("error: %s" % e)
' "$PH_SRV_ADDR" "$TCP_PORT" 2>&1) || ctl_out+=" (exit $?)"
after=$(ph_censor_not_tls)
ph_result "control (a): a plain TCP client sending non-TLS bytes to $TCP_PORT: '$ctl_out';" \
    "censor's non-TLS drops $before -> $after"
((after > before)) || ph_die "the censor did not drop a non-TLS first payload to $TCP_PORT: its rule proves nothing"

# --- 3b) control: a TLS client that is not an agent gets the built-in site -----------------------
body=$PH_TMP/site.html
code=$(ph_ns "$PH_NS_CLI" curl -sS --max-time 10 --cacert "$PH_TLS_DIR/ca.pem" \
    --resolve "$PH_TLS_NAME:$TCP_PORT:$PH_SRV_ADDR" -o "$body" -w '%{http_code}' \
    "https://$PH_TLS_NAME/" 2>"$PH_TMP/curl.err") || code="${code:-000} (curl exit $?: $(head -c 200 "$PH_TMP/curl.err"))"
title=$(grep -o '<title>[^<]*</title>' "$body" 2>/dev/null | head -n1 || true)
ph_result "control (b): curl https://$PH_TLS_NAME/ (test CA, through the censor): HTTP $code," \
    "$(stat -c %s "$body" 2>/dev/null || echo 0) bytes ${title:-(no title)}"
[[ $code == 200 ]] || ph_die "the relay's built-in site answered curl with '$code', expected HTTP 200"
grep -q 'Coming soon' "$body" || ph_die "the built-in site's page has no 'Coming soon'"

ph_result "RESULT attach=${ATTACH_S}s first_ping_reply=${UP_S}s path=$path iperf=${IPERF_MBPS}Mbit/s" \
    "ping_loss=${ping_before}%/${ping_after}% agent_tcp_connections=$syns tls_handshakes_ok=$tls_ok fet=pass" \
    "agent_not_tls_drops=$not_tls control_not_tls_drops=$((after - before)) site=HTTP_$code"

ph_agent_stop
ph_porthop_stop
