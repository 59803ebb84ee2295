#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Unmodified WireGuard (wireguard-go on both ends) through porthop over UDP: ping and iperf3
# through the tunnel, then the client switches its endpoint to other relay ports while traffic
# flows, as a user does when the censor starts blocking the port in use. The tunnel must carry
# on through the relay without a new handshake, and the backend must never see the client
# directly. With PH_FAMILY=6 (ctest e2e.wireguard_udp.ipv6) the client reaches the relay over
# IPv6 throughout (the relay forwards to the backend over IPv4 loopback as always).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
ph_init wireguard_udp

WG_PORT=51820
CLI_IF=wgc$PH_ID
SRV_IF=wgs$PH_ID
CLI_TUN=10.78.0.2
SRV_TUN=10.78.0.1

ph_topology
ph_censor_count_udp 443 40003 40007 "$WG_PORT"
ph_wg_keys server
ph_wg_keys client
# wireguard-go cannot bind one address; it listens on all of the server namespace's addresses.
ph_wg_up "$PH_NS_SRV" "$SRV_IF" "$SRV_TUN/24" private-key "$PH_TMP/server.key" \
    listen-port "$WG_PORT" peer "$(<"$PH_TMP/client.pub")" allowed-ips "$CLI_TUN/32"
# Two workers: every port is a reuseport group; the client's one address keeps it on one worker
# whichever port it uses (the endpoint switch below must not open a second session).
ph_porthop_start "127.0.0.1:$WG_PORT" "443 40000-40009" "" "workers = 2"
ph_wg_up "$PH_NS_CLI" "$CLI_IF" "$CLI_TUN/24" private-key "$PH_TMP/client.key" \
    peer "$(<"$PH_TMP/server.pub")" allowed-ips "$SRV_TUN/32" endpoint "$(ph_relay_endpoint 443)"
SERVER_PUB=$(<"$PH_TMP/server.pub")

# The first ping triggers the handshake; wireguard-go queues it, so no loss is expected.
ph_ping "$PH_NS_CLI" "$SRV_TUN" 20 5

# The backend must see the relay's upstream socket (loopback), never the client's address.
server_endpoint() { ph_ns "$PH_NS_SRV" wg show "$SRV_IF" endpoints | awk '{print $2}'; }
ep_443=$(server_endpoint)
[[ $ep_443 == 127.0.0.1:* ]] || ph_die "backend sees peer endpoint '$ep_443', expected 127.0.0.1:* (the relay)"
ph_result "backend sees the client at $ep_443"

ph_iperf_server "$PH_NS_SRV" "$SRV_TUN"
ph_iperf "$PH_NS_CLI" "$SRV_TUN" 3 "$PH_TMP/iperf-443.json"

# block_and_switch OLD NEW: the censor starts dropping the port in use and the user re-points
# the client. Blocking the old port is not only realistic: without it, replies still in flight
# from the old port make wireguard-go roam straight back to it (it adopts the source of any
# authenticated packet as the endpoint), so the switch would not stick under load.
block_and_switch() {
    ph_censor_block_udp "$1"
    ph_ns "$PH_NS_CLI" wg set "$CLI_IF" peer "$SERVER_PUB" endpoint "$(ph_relay_endpoint "$2")"
    ph_log "client endpoint -> $(ph_relay_endpoint "$2")"
}
hs_before=$(ph_wg_handshakes "$CLI_IF")

# 1) 443 -> 40003 in the middle of a 5 s ping stream (20 pings/s): at most the one ping in
# flight at the switch may be lost.
ph_ping_start "$PH_NS_CLI" "$SRV_TUN" 100 0.05 "$PH_TMP/ping-switch.log"
ping_pid=$PH_PID
sleep 2
block_and_switch 443 40003
ph_wait_exit "$ping_pid" 15 "ping stream" || true
ph_ping_check "$PH_TMP/ping-switch.log" 3
ep_40003=$(server_endpoint)

# 2) 40003 -> 40007 two seconds into a 6 s iperf3 run; the seconds after the switch must all
# carry data and the run must complete.
ph_iperf_start "$PH_NS_CLI" "$SRV_TUN" 6 "$PH_TMP/iperf-switch.json"
iperf_pid=$PH_PID
sleep 2
block_and_switch 40003 40007
ph_wait_exit "$iperf_pid" 25 "iperf3 client" || true
ph_iperf_check "$PH_TMP/iperf-switch.json"
jq -e '[.intervals[3:][].sum.bytes] | length >= 2 and all(. > 0)' "$PH_TMP/iperf-switch.json" \
    >/dev/null || ph_die "iperf3 stalled after the endpoint switch (seconds 3-6 carried no data)"

# The client really uses the new port, and the censor saw traffic on each port in turn.
cli_ep=$(ph_ns "$PH_NS_CLI" wg show "$CLI_IF" endpoints | awk '{print $2}')
[[ $cli_ep == "$(ph_relay_endpoint 40007)" ]] || ph_die "client endpoint is '$cli_ep', expected $(ph_relay_endpoint 40007)"
for port in 443 40003 40007; do
    n=$(ph_censor_udp_packets "$port")
    ph_result "router saw $n client packets to udp/$port"
    ((n > 0)) || ph_die "no client traffic reached udp/$port"
done
direct=$(ph_censor_udp_packets "$WG_PORT")
((direct == 0)) || ph_die "$direct packets went to the backend port $WG_PORT directly, bypassing the relay"
ep_40007=$(server_endpoint)
[[ $ep_40007 == 127.0.0.1:* ]] ||
    ph_die "backend sees peer endpoint '$ep_40007' after the switches, expected the relay"
# The relay re-finds a native session by the WireGuard receiver index it learned from the
# backend's handshake response (native roaming), so the backend keeps seeing one upstream
# address across the switches, and no second session is opened (wireguard_guard.sh tests this
# at length).
sessions=$(grep -c 'session [0-9]* opened' "$PH_PORTHOP_LOG" || true)
# The outer transport was the family asked for: the relay saw the client at its address of it.
opened_from=$(grep -m1 -o 'session [0-9]* opened: udp [^ ]*' "$PH_PORTHOP_LOG" || true)
ph_result "relay: ${opened_from:-(no session opened)}"
[[ $opened_from == *" udp $(ph_client_host):"* ]] ||
    ph_die "the relay's session was opened from '${opened_from##* }', expected the client's IPv$PH_FAMILY address $(ph_client_host)"
ph_result "backend endpoint via 443 / 40003 / 40007: $ep_443 / $ep_40003 / $ep_40007;" \
    "porthop opened $sessions session(s)"
[[ $ep_443 == "$ep_40003" && $ep_40003 == "$ep_40007" ]] ||
    ph_die "the backend's endpoint changed across the switches ($ep_443 / $ep_40003 / $ep_40007): the relay did not roam the session"
((sessions == 1)) || ph_die "porthop opened $sessions sessions for one client, expected 1"
# A native client switching ports needs no new handshake (WireGuard roams on any authenticated
# packet); a new one would mean the relay lost packets for seconds (REKEY_TIMEOUT is 5 s).
hs_after=$(ph_wg_handshakes "$CLI_IF")
hs_last=$(ph_ns "$PH_NS_CLI" wg show "$CLI_IF" latest-handshakes | awk '{print $2}')
ph_result "client handshakes: $hs_before before the switches, $hs_after after;" \
    "latest $(($(date +%s) - hs_last)) s ago"
((hs_after == hs_before)) || ph_die "the endpoint switches forced a new WireGuard handshake"

ph_expect_running "$PH_PORTHOP_PID" porthop
ph_porthop_stop
