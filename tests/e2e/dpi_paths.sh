#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# What a DPI classifier sees of the agent's traffic across the paths it takes (issue 14, test
# 2), measured with nDPI (ndpiReader, Debian's libndpi-bin) over one tcpdump capture at the
# router's client side (it sees what the client sends, also what the censor then drops) and
# tests/system/flow_fingerprint.py. Real wireguard-go and real OpenVPN (tls-auth) run at the
# same time, each through its own agent and relay (one server address, disjoint ports), with
# hop_interval 10 s (the shortest allowed), and a 0.1 s ping stream through each tunnel:
#   1) scheduled hops: both agents make at least two, each a new UDP flow;
#   2) TCP fallback, twice: the censor drops all UDP until both agents are on TCP and pings
#      go through there, then lifts it until both are back on UDP (each cycle a new TCP
#      connection per agent, and new UDP flows: the candidates tried while UDP is dropped, the
#      retries from TCP, the climb back);
#   3) the control, in a capture of its own: a native OpenVPN client through the relay must be
#      classified OpenVPN by nDPI and hit the censor's OpenVPN rule (so "Unknown" and zero
#      hits above mean something; dpi_visibility.sh does the same for WireGuard).
# Asserted over the capture: the tunnel carried pings in every phase (on the hopped port, on
# TCP, after each climb); no nDPI verdict names WireGuard or OpenVPN; no byte offset among the
# first 16 of the first datagram of the UDP flows holds one value in all of them; on TCP (the
# first payload the client sends on each connection, at least 3 connections), the same for
# the 16 bytes after the 2-byte record length; and the censor's signature rules (counting
# only) match no packet of the agents.
#
# The TCP record length (u16 big-endian, then the frame) is in clear in hop link v2
# (docs/PROTOCOL.md, "What an observer still sees"): the test reports, and does not assert,
# the constancy of offsets 0-1 of TCP first payloads, and how many of them are exactly one
# record whose prefix equals its length (the pattern nDPI's OpenVPN-over-TCP check starts
# with). Any other constant offset fails the test. About 60 s.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
PORTHOP_BIN=${PORTHOP_BIN:-${1:-}} # ctest sets PORTHOP_BIN; by hand the binary may be the argument
ph_init dpi_paths
# The plain-TCP records (tls = false) are what this test measures; the TLS rung has tls_censor.sh.
export PH_AGENT_TLS=false
command -v ndpiReader >/dev/null || ph_die "ndpiReader is missing (Debian package libndpi-bin; scripts/install-deps.sh --test)"
command -v tcpdump >/dev/null || ph_die "tcpdump is missing (scripts/install-deps.sh --test)"

INTERVAL=10
CYCLES=${DPI_PATHS_CYCLES:-2} # UDP blocked -> TCP -> UDP again, per run
WRAP=tls-auth
FINGERPRINT=$(cd "$(dirname "$0")/../system" && pwd)/flow_fingerprint.py
# WireGuard: backend 127.0.0.1:51820 in the server namespace, agent on 127.0.0.1:51820 in the
# client namespace. OpenVPN: backend 127.0.0.1:1194, agent on 127.0.0.1:51830. No relay port
# is one nDPI guesses a VPN from (1194, 51820).
WG_UDP="40000-40049"
WG_TCP=443
OVPN_UDP="40050-40099"
OVPN_TCP=8443
WG_TUN_CLI=10.78.0.2
WG_TUN_SRV=10.78.0.1
OVPN_TUN_SRV=10.79.0.1

ph_topology
# Counting only: the agents must hit none, native OpenVPN (the control, last) the OpenVPN rule.
ph_censor_signatures count

ph_wg_keys server
ph_wg_keys client
ph_wg_up "$PH_NS_SRV" "wgs$PH_ID" "$WG_TUN_SRV/24" private-key "$PH_TMP/server.key" \
    listen-port 51820 peer "$(<"$PH_TMP/client.pub")" allowed-ips "$WG_TUN_CLI/32"
ph_ovpn_pki
ph_ovpn_wrap_key "$WRAP"
ph_ovpn_server "$PH_NS_SRV" "tuns$PH_ID" 127.0.0.1 1194 "$WRAP"

# Two relays, each with its own key (as two servers would have).
declare -A RELAY_PID RELAY_LOG
WG_KEY=$(ph_hop_key)
OVPN_KEY=$(ph_hop_key)
PH_PORTHOP_NAME=relay-wg ph_porthop_start 127.0.0.1:51820 "$WG_UDP" "$WG_TCP" "$(ph_hop_server_toml "$WG_KEY" "${INTERVAL}s")"
RELAY_PID[wg]=$PH_PORTHOP_PID RELAY_LOG[wg]=$PH_PORTHOP_LOG
# (Its metrics next to the first relay's default 127.0.0.1:9816.)
PH_PORTHOP_NAME=relay-ovpn ph_porthop_start 127.0.0.1:1194 "$OVPN_UDP" "$OVPN_TCP" "$(ph_hop_server_toml "$OVPN_KEY" "${INTERVAL}s")
[metrics]
listen = \"127.0.0.1:9815\""
RELAY_PID[ovpn]=$PH_PORTHOP_PID RELAY_LOG[ovpn]=$PH_PORTHOP_LOG

# capture_start NAME / capture_stop: tcpdump on the router's client-side interface, both
# directions, only traffic to and from the server's address.
capture_start() { ph_capture_start "$1" to-cli; }
capture_stop() { ph_capture_stop; }
vpn_verdicts() { jq -c '[.flows[] | select(.ndpi | test("wireguard|openvpn"; "i"))]' <<<"$1"; }

# --- the two tunnels through their agents ---------------------------------------------------------
capture_start paths
declare -A AGENT_PID AGENT_LOG AGENT_METRICS TPING_PID TPING_LOG TUN_SRV
AGENT_METRICS[wg]=127.0.0.1:9817
AGENT_METRICS[ovpn]=127.0.0.1:9818
TUN_SRV[wg]=$WG_TUN_SRV
TUN_SRV[ovpn]=$OVPN_TUN_SRV
# use NAME: the lib's agent helpers (ph_agent_field, ph_agent_path_lines) then act on that agent.
use() {
    PH_AGENT_PID=${AGENT_PID[$1]} PH_AGENT_LOG=${AGENT_LOG[$1]} PH_AGENT_METRICS=${AGENT_METRICS[$1]}
    PH_PORTHOP_PID=${RELAY_PID[$1]} PH_PORTHOP_LOG=${RELAY_LOG[$1]}
}
start_agent() { # NAME LISTEN UDP TCP KEY
    PH_AGENT_NAME=agent-$1 PH_AGENT_METRICS=${AGENT_METRICS[$1]} \
        ph_agent_start "$PH_NS_CLI" "$2" "$PH_SRV_ADDR" "$3" "$4" "$5" "${INTERVAL}s"
    AGENT_PID[$1]=$PH_AGENT_PID AGENT_LOG[$1]=$PH_AGENT_LOG
}
start_agent wg 127.0.0.1:51820 "$WG_UDP" "$WG_TCP" "$WG_KEY"
start_agent ovpn 127.0.0.1:51830 "$OVPN_UDP" "$OVPN_TCP" "$OVPN_KEY"
ph_wg_up "$PH_NS_CLI" "wgc$PH_ID" "$WG_TUN_CLI/24" private-key "$PH_TMP/client.key" listen-port 51821 \
    peer "$(<"$PH_TMP/server.pub")" allowed-ips "$WG_TUN_SRV/32" endpoint 127.0.0.1:51820
ph_ovpn_client "$PH_NS_CLI" "tunc$PH_ID" udp4 127.0.0.1 51830 "$WRAP"
for v in wg ovpn; do
    ph_tping_start "$PH_NS_CLI" "${TUN_SRV[$v]}" 150 "$PH_TMP/ping-$v.log"
    TPING_PID[$v]=$PH_TPING_PID TPING_LOG[$v]=$PH_TPING_LOG
done
for v in wg ovpn; do
    ph_wait_ready "${TPING_PID[$v]}" 10 "first ping reply through the $v tunnel" grep -q ' icmp_seq=' "${TPING_LOG[$v]}"
done

now() { echo "$EPOCHREALTIME"; }
# replies NAME T0 T1: pings through that tunnel sent in [T0, T1] and answered.
replies() {
    PH_TPING_LOG=${TPING_LOG[$1]} _ph_tping_replies | awk -v a="$2" -v b="$3" '$1 >= a && $1 <= b { n++ } END { print n + 0 }'
}
# phase_traffic WHAT T0 T1: both tunnels carried pings in the window.
phase_traffic() {
    local v n line=""
    for v in wg ovpn; do
        n=$(replies "$v" "$2" "$3")
        line+=" $v=$n"
        ((n > 0)) || ph_die "$1: no ping through the $v tunnel was answered ($(use "$v"; ph_agent_path))"
    done
    ph_result "$1: pings answered in $(awk -v a="$2" -v b="$3" 'BEGIN { printf "%.1f", b - a }') s:$line"
}
paths() { local v out=""; for v in wg ovpn; do use "$v"; out+=" $v=$(ph_agent_path)"; done; echo "${out# }"; }
both_on() { # udp|tcp
    local v
    for v in wg ovpn; do use "$v"; [[ $(ph_agent_path) == "$1"/* ]] || return 1; done
}
scheduled() { use "$1"; ph_agent_path_lines | grep -c 'scheduled hop' || true; }
both_hopped() { (($(scheduled wg) >= $1 && $(scheduled ovpn) >= $1)); }
ph_log "tunnels up: $(paths)"

# --- 1) scheduled hops ------------------------------------------------------------------------------
t0=$(now)
ph_wait_until $((2 * INTERVAL + 12)) "two scheduled hops by each agent" both_hopped 2
t_hop=$(now)
sleep 1.5
phase_traffic "udp, across two scheduled hops" "$t0" "$(now)"
phase_traffic "udp, after the last scheduled hop" "$t_hop" "$(now)"
ph_result "scheduled hops: wg $(scheduled wg), ovpn $(scheduled ovpn); paths $(paths)"

# --- 2) TCP fallback and back, CYCLES times ---------------------------------------------------------
for ((c = 1; c <= CYCLES; c++)); do
    ph_censor_block_all_udp
    t=$(now)
    ph_wait_until 20 "both agents on TCP with all UDP dropped (cycle $c)" both_on tcp
    t_tcp=$(now)
    ph_log "cycle $c: both on TCP after $(awk -v a="$t" -v b="$t_tcp" 'BEGIN { printf "%.1f", b - a }') s: $(paths)"
    sleep 2
    both_on tcp || ph_die "cycle $c: an agent left TCP while UDP was still dropped: $(paths)"
    phase_traffic "cycle $c: tcp, all UDP dropped" "$t_tcp" "$(now)"
    ph_censor_clear
    t=$(now)
    ph_wait_until 40 "both agents back on UDP after the unblock (cycle $c)" both_on udp
    t_udp=$(now)
    ph_log "cycle $c: both back on UDP after $(awk -v a="$t" -v b="$t_udp" 'BEGIN { printf "%.1f", b - a }') s: $(paths)"
    sleep 1.5
    phase_traffic "cycle $c: udp, after the climb back" "$t_udp" "$(now)"
done

for v in wg ovpn; do
    kill -INT "${TPING_PID[$v]}" 2>/dev/null || true
    ph_wait_exit "${TPING_PID[$v]}" 5 "ping stream" || true
    ph_result "ping through $v: $(grep -E 'packets transmitted' "${TPING_LOG[$v]}" || echo 'no summary')"
done
capture_stop
for v in wg ovpn; do
    use "$v"
    status=$(ph_agent_status)
    ph_result "agent $v /status: $(jq -c '{path, hops, fallbacks, climbs}' <<<"$status")"
    ph_agent_path_lines | sed 's/^/    /' >&2
    jq -e --argjson c "$CYCLES" '.hops >= 2 and .fallbacks >= $c and .climbs >= $c' <<<"$status" >/dev/null ||
        ph_die "agent $v counted $(jq -c '{hops, fallbacks, climbs}' <<<"$status"), want hops >= 2, fallbacks and climbs >= $CYCLES"
done

# --- what nDPI and a byte-offset filter make of the capture -----------------------------------------
fp=$(python3 "$FINGERPRINT" "$PCAP" "$PH_SRV_ADDR")
jq -r '.flows[] | "  \(.proto) \(.client) -> \(.server): \(.first) len \(.len)\(if .prefix then " prefix \(.prefix)" else "" end) (\(.ndpi))"' <<<"$fp"
nudp=$(jq '.by_proto.udp.flows // 0' <<<"$fp")
ntcp=$(jq '.by_proto.tcp.flows // 0' <<<"$fp")
udp_const=$(jq -c '.by_proto.udp.constant_offsets // []' <<<"$fp")
tcp_const=$(jq -c '.by_proto.tcp.constant_offsets // []' <<<"$fp")
tcp_const_after=$(jq -c '.by_proto.tcp.constant_offsets_after_prefix // []' <<<"$fp")
tcp_prefix_len=$(jq '.by_proto.tcp.prefix_is_length // 0' <<<"$fp")
ph_result "capture: $nudp UDP and $ntcp TCP flows to the relays; nDPI $(jq -c .ndpi <<<"$fp")"
ph_result "UDP first datagrams: offsets among the first 16 constant in all $nudp: $udp_const"
ph_result "TCP first payloads: offsets among the first 16 constant in all $ntcp: $tcp_const;" \
    "after the 2-byte record length: $tcp_const_after"
ph_result "TCP first payloads: first two bytes read in clear $(jq -c '[.flows[] | select(.proto == "tcp") | .prefix]' <<<"$fp");" \
    "$tcp_prefix_len of $ntcp are one record whose clear u16 prefix is its length"
# Every verdict is worked out and printed before the test fails, so one run says all it found.
fails=()
((nudp >= 8)) || fails+=("the capture has $nudp UDP flows, expected at least 8 (2 agents: start, 2 hops, $CYCLES climbs)")
((ntcp >= 3)) || fails+=("the capture has $ntcp TCP flows, expected at least 3 (2 agents x $CYCLES fallbacks)")
[[ $(vpn_verdicts "$fp") == "[]" ]] || fails+=("nDPI classified flows as a VPN: $(vpn_verdicts "$fp")")
[[ $udp_const == "[]" ]] || fails+=("bytes at offsets $udp_const are the same in every UDP flow's first datagram")
[[ $tcp_const == "[]" ]] ||
    fails+=("bytes at offsets $tcp_const are the same in every TCP flow's first payload")
[[ $tcp_const_after == "[]" ]] ||
    fails+=("bytes at offsets $tcp_const_after after the record length are the same in every TCP flow's first payload")
((tcp_prefix_len == 0)) ||
    fails+=("$tcp_prefix_len TCP flows open with a record whose first two bytes give its length in clear")
sig_hits=""
for name in "${PH_SIGNATURES[@]}"; do
    packets=$(ph_censor_signature_packets "$name")
    ((packets == 0)) || sig_hits+=" $name=$packets"
done
ph_result "censor: signature rules matched by the agents:${sig_hits:- none of ${#PH_SIGNATURES[@]}}"
[[ -z $sig_hits ]] || fails+=("the censor's signature rules matched:$sig_hits")
# --- 3) the control, last: native OpenVPN through the relay ---------------------------------------
# Last, so that nothing of it is in the agents' capture or counters: the OpenVPN server keeps
# sending to a native client for a while after it is gone (keepalive pings, P_DATA_V2 with
# peer-id 0 in clear, which the relay forwards as they are), and those would be counted against
# the agents. The agents and their OpenVPN client stop first, and the OpenVPN server starts
# afresh, so that the native client gets peer-id 0 as the censor's rule expects.
for v in ovpn wg; do use "$v"; ph_agent_stop; done
_ph_stop_pids "$PH_OVPN_CLIENT_PID" "$PH_OVPN_SERVER_PID"
rm -f "$PH_TMP/openvpn-client.log" "$PH_TMP/openvpn-server.log" # the new ones log there too
ph_ovpn_server "$PH_NS_SRV" "tuns$PH_ID" 127.0.0.1 1194 "$WRAP"
ph_ns "$PH_NS_RTR" nft reset counters table inet phsig >/dev/null
capture_start native
ph_ovpn_client "$PH_NS_CLI" "tunn$PH_ID" udp4 "$PH_SRV_ADDR" "${OVPN_UDP%-*}" "$WRAP"
ph_ping "$PH_NS_CLI" "$OVPN_TUN_SRV" 5 20
capture_stop
native=$(python3 "$FINGERPRINT" "$PCAP" "$PH_SRV_ADDR")
ph_result "control: native OpenVPN ($WRAP) through the relay: nDPI $(jq -c .ndpi <<<"$native");" \
    "first bytes $(jq -r '.flows[0].first' <<<"$native")"
jq -e '[.flows[] | select(.ndpi | test("openvpn"; "i"))] | length >= 1' <<<"$native" >/dev/null ||
    fails+=("nDPI did not classify native OpenVPN as OpenVPN ($native): the capture or the tool is broken")
# (The hard-reset rule is written for OpenVPN without a wrap: tls-auth puts its HMAC after the
# session id. P_DATA_V2 with peer-id 0 is the same with or without.)
hits=$(ph_censor_signature_packets sig_ovpn_data_v2)
ph_result "control: the censor's rule sig_ovpn_data_v2 matched $hits native OpenVPN packet(s)"
((hits > 0)) || fails+=("the censor's rule sig_ovpn_data_v2 matched no native OpenVPN packet: the rules are broken")

ph_result "RESULT udp_flows=$nudp tcp_flows=$ntcp ndpi=$(jq -c .ndpi <<<"$fp") udp_constant=$udp_const" \
    "tcp_constant=$tcp_const tcp_constant_after_prefix=$tcp_const_after tcp_prefix_is_length=$tcp_prefix_len/$ntcp" \
    "scheduled_hops=wg:$(scheduled wg),ovpn:$(scheduled ovpn) cycles=$CYCLES native_ovpn_ndpi=$(jq -c .ndpi <<<"$native")"
if ((${#fails[@]} > 0)); then
    for f in "${fails[@]:1}"; do ph_log "FAIL: $f"; done
    ph_die "${fails[0]}"
fi
for v in ovpn wg; do use "$v"; ph_porthop_stop; done
