#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# What a DPI classifier sees on the wire (issue 14), measured with nDPI (ndpiReader, Debian's
# libndpi-bin) over a tcpdump capture at the router's server side (tests/system/
# flow_fingerprint.py reads it):
#   1) native WireGuard through the relay (plain UDP 443): nDPI must call the flow WireGuard.
#      This is the control: it shows the capture point, the tool and nDPI's dissector work, so
#      an "Unknown" verdict elsewhere means something.
#   2) the same tunnel through the agent (hop link v2), over several UDP flows (the agent is
#      restarted between flows: each start opens new flows, from a new source port): no flow
#      may be classified WireGuard or OpenVPN, and no byte offset among the first 16 may hold
#      the same value in every flow's first datagram (hop link v1 failed that: 0, 1 and
#      10-15 were constant, its attach starting 01 01).
# About 30 s.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
ph_init dpi_visibility
# The plain-TCP records (tls = false) are what this test measures; the TLS rung has tls_censor.sh.
export PH_AGENT_TLS=false
command -v ndpiReader >/dev/null || ph_die "ndpiReader is missing (Debian package libndpi-bin; scripts/install-deps.sh --test)"
command -v tcpdump >/dev/null || ph_die "tcpdump is missing (scripts/install-deps.sh --test)"

WG_PORT=51820
SRV_IF=wgs$PH_ID
CLI_TUN=10.78.0.2
SRV_TUN=10.78.0.1
UDP_PORTS="40000-40099"
TCP_PORT=443
FINGERPRINT=$(cd "$(dirname "$0")/../system" && pwd)/flow_fingerprint.py

ph_topology
ph_wg_keys server
ph_wg_keys client
ph_wg_up "$PH_NS_SRV" "$SRV_IF" "$SRV_TUN/24" private-key "$PH_TMP/server.key" \
    listen-port "$WG_PORT" peer "$(<"$PH_TMP/client.pub")" allowed-ips "$CLI_TUN/32"
KEY=$(ph_hop_key)
ph_porthop_start "127.0.0.1:$WG_PORT" "443 $UDP_PORTS" "$TCP_PORT" "$(ph_hop_server_toml "$KEY" 5m)"

# capture_start NAME / capture_stop: tcpdump on the router's server-side interface, both
# directions (nDPI's dissectors match requests to answers, as a censor's can).
capture_start() { ph_capture_start "$1" to-srv; }
capture_stop() { ph_capture_stop; }

# The censor's signature rules (lib.sh), counting only here: native WireGuard must hit them
# (so they can match at all), the agent's traffic must not.
ph_censor_signatures count

# --- 1) the control: native WireGuard through the relay -------------------------------------
capture_start native
ph_wg_up "$PH_NS_CLI" wgn$PH_ID "$CLI_TUN/24" private-key "$PH_TMP/client.key" listen-port 51821 \
    peer "$(<"$PH_TMP/server.pub")" allowed-ips "$SRV_TUN/32" endpoint "$PH_SRV_ADDR:443"
NATIVE_WG=$PH_PID
ph_ping "$PH_NS_CLI" "$SRV_TUN" 5 20
capture_stop
_ph_stop_pids "$NATIVE_WG"
native=$(python3 "$FINGERPRINT" "$PCAP" "$PH_SRV_ADDR")
ph_result "native WireGuard through the relay: nDPI $(jq -c .ndpi <<<"$native"); first bytes $(jq -r '.flows[0].first' <<<"$native")"
jq -e '.ndpi.WireGuard >= 1' <<<"$native" >/dev/null ||
    ph_die "nDPI did not classify native WireGuard as WireGuard ($native): the capture or the tool is broken"
for sig in sig_wg_initiation sig_wg_response sig_wg_transport; do
    hits=$(ph_censor_signature_packets "$sig")
    ((hits > 0)) || ph_die "the censor's rule $sig matched no native WireGuard packet: the rules are broken"
done
ph_result "native WireGuard through the relay: the censor's WireGuard rules matched it"
ph_ns "$PH_NS_RTR" nft reset counters table inet phsig >/dev/null

# --- 2) the same tunnel through the agent, one UDP flow per agent start ---------------------
capture_start agent
FLOWS=4
for ((i = 1; i <= FLOWS; i++)); do
    ph_agent_start "$PH_NS_CLI" "127.0.0.1:$WG_PORT" "$PH_SRV_ADDR" "$UDP_PORTS" "$TCP_PORT" "$KEY" 5m
    if ((i == 1)); then
        ph_wg_up "$PH_NS_CLI" wga$PH_ID "$CLI_TUN/24" private-key "$PH_TMP/client.key" listen-port 51822 \
            peer "$(<"$PH_TMP/server.pub")" allowed-ips "$SRV_TUN/32" endpoint "127.0.0.1:$WG_PORT"
    fi
    ph_ping "$PH_NS_CLI" "$SRV_TUN" 3 20
    ph_agent_stop
done
capture_stop
agent=$(python3 "$FINGERPRINT" "$PCAP" "$PH_SRV_ADDR")
nflows=$(jq '.flows | length' <<<"$agent")
ph_result "through the agent (hop link v2): $nflows flows; nDPI $(jq -c .ndpi <<<"$agent");" \
    "offsets among the first 16 bytes constant in every flow's first datagram: $(jq -c .constant_offsets <<<"$agent")"
jq -r '.flows[] | "  \(.proto) \(.client) -> \(.server): \(.first) (\(.ndpi))"' <<<"$agent"
((nflows >= FLOWS)) || ph_die "the agent's capture has $nflows flow(s), expected at least one per start ($FLOWS)"
jq -e '((.ndpi.WireGuard // 0) + (.ndpi.OpenVPN // 0)) == 0' <<<"$agent" >/dev/null ||
    ph_die "nDPI classified the agent's flows as $(jq -c .ndpi <<<"$agent")"
jq -e '.constant_offsets == []' <<<"$agent" >/dev/null ||
    ph_die "bytes at offsets $(jq -c .constant_offsets <<<"$agent") are the same in every flow's first datagram"
ph_censor_signature_check
ph_porthop_stop
