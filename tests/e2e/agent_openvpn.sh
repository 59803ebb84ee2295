#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Unmodified OpenVPN 2.6 over UDP through the agent: the client's remote is `porthop client` on
# 127.0.0.1:51820 in the client namespace; the agent carries the tunnel over the hop link,
# through the censor router, to `porthop server`, which hands it to an OpenVPN server on UDP
# 127.0.0.1:1194 in the server namespace (unreachable from outside). A 0.1 s ping stream runs
# through the tunnel while the censor drops the UDP port in use (ping back within 5 s), then
# all UDP (ping back within 10 s, over tcp/443), then lifts everything (back on UDP within
# 60 s). OpenVPN must not notice: one "Initialization Sequence Completed", no restart, and the
# server sees one peer (the relay's upstream socket) for the whole test.
#
# hop_interval is 20 s, so scheduled hops also happen under OpenVPN; the port block starts with
# at least 7 s left in its epoch (ph_agent_epoch_room), so a scheduled hop cannot be what moves
# the agent off the blocked port (see agent_wireguard.sh).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
ph_init agent_openvpn

AGENT_PORT=51820
UDP_PORTS="443 1194 40000-40099"
TCP_PORT=443
INTERVAL=20
SRV_TUN=10.79.0.1

ph_topology
ph_censor_signatures
ph_ovpn_pki
ph_ovpn_server "$PH_NS_SRV" "tuns$PH_ID" 127.0.0.1 1194
KEY=$(ph_hop_key)
ph_porthop_start 127.0.0.1:1194 "$UDP_PORTS" "$TCP_PORT" "$(ph_hop_server_toml "$KEY" "${INTERVAL}s")"
ph_agent_start "$PH_NS_CLI" "127.0.0.1:$AGENT_PORT" "$PH_SRV_ADDR" "$UDP_PORTS" "$TCP_PORT" "$KEY" "${INTERVAL}s"
ph_ovpn_client "$PH_NS_CLI" "tunc$PH_ID" udp4 127.0.0.1 "$AGENT_PORT"
ph_log "tunnel up: $(grep -m1 -oE 'net_addr_v4_add: [0-9./]+' "$PH_TMP/openvpn-client.log" || true);" \
    "agent on $(ph_agent_path)"
T_UP=$SECONDS

ph_iperf_server "$PH_NS_SRV" "$SRV_TUN"
ph_tping_start "$PH_NS_CLI" "$SRV_TUN" 150 "$PH_TMP/ping.log"
ph_wait_ready "$PH_TPING_PID" 10 "first ping reply through the tunnel" grep -q ' icmp_seq=' "$PH_TPING_LOG"
sleep 2

ph_agent_block_current_port "$INTERVAL" 5
sleep 1
ph_agent_block_all_udp "$TCP_PORT" 10
ph_iperf "$PH_NS_CLI" "$SRV_TUN" 3 "$PH_TMP/iperf-tcp.json"
tcp_mbps=$(_ph_mbps "$(jq '.end.sum_received.bits_per_second' "$PH_TMP/iperf-tcp.json")")
# Past the agent's first UDP retry (5 s after the fallback), which must fail without hurting
# the TCP path; the climb then comes with the second retry, about 15 s after the fallback.
ph_agent_hold_tcp 7
ph_agent_unblock 60

kill -INT "$PH_TPING_PID" 2>/dev/null || true
ph_wait_exit "$PH_TPING_PID" 5 "ping stream" || true
ph_result "ping: $(grep -E 'packets transmitted' "$PH_TPING_LOG" || echo 'no summary')"
scheduled=$(ph_agent_path_lines | grep -c 'scheduled hop' || true)
ph_result "scheduled hops during the test: $scheduled"

# What OpenVPN saw: a restart (SIGUSR1) or a second initialization would mean the tunnel broke.
restarts=$(grep -ciE 'SIGUSR1|Restart pause|Connection reset|Inactivity timeout' "$PH_TMP/openvpn-client.log" || true)
inits=$(grep -c 'Initialization Sequence Completed' "$PH_TMP/openvpn-client.log" || true)
peers=$(grep -c 'Peer Connection Initiated' "$PH_TMP/openvpn-server.log" || true)
peer=$(sed -nE 's/.*Peer Connection Initiated with \[AF_INET\]([0-9.:]+).*/\1/p' "$PH_TMP/openvpn-server.log" | head -n1)
ph_result "openvpn client: $inits initialization(s), $restarts restart line(s); server: $peers peer" \
    "connection(s), from $peer; test ran $((SECONDS - T_UP)) s after the tunnel came up"
((inits == 1 && restarts == 0)) ||
    ph_die "openvpn client restarted: $restarts restart line(s), $inits initialization(s)"
((peers == 1)) || ph_die "openvpn server saw $peers peer connections, expected 1"
[[ $peer == 127.0.0.1:* ]] || ph_die "openvpn server saw the client at '$peer', expected the relay (127.0.0.1:*)"
grep -qiE 'float|peer address changed' "$PH_TMP/openvpn-server.log" &&
    ph_die "openvpn server saw the client's address change: $(grep -iE -m1 'float|peer address changed' "$PH_TMP/openvpn-server.log")"
ph_expect_running "$PH_OVPN_SERVER_PID" "openvpn server"
ph_expect_running "$PH_OVPN_CLIENT_PID" "openvpn client"

status=$(ph_agent_status)
ph_result "agent /status: $status"
jq -e '.hops >= 1 and .fallbacks >= 1 and .climbs >= 1' <<<"$status" >/dev/null ||
    ph_die "agent /status counters: want hops >= 1, fallbacks >= 1, climbs >= 1"
ph_agent_path_lines | sed 's/^/    /' >&2

ph_result "RESULT port_block_recovery=${PH_PORT_BLOCK_RECOVERY}s all_udp_block_recovery=${PH_ALL_UDP_RECOVERY}s" \
    "tcp_iperf=${tcp_mbps}Mbit/s unblock_back_to_udp=${PH_BACK_TO_UDP}s climb_loss=$PH_CLIMB_LOST" \
    "scheduled_hops=$scheduled openvpn_inits=$inits openvpn_restarts=$restarts"

ph_censor_signature_check
ph_agent_stop
ph_porthop_stop
