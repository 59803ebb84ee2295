#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Forged WireGuard transport messages (issue 12, item 2). porthop with protocol = "wireguard"
# and the backend's public key, in front of a real wireguard-go server (which answers nothing
# to a forged message), in the tests/e2e/lib.sh topology; the relay listens on the server's
# veth address (for the real client) and on the server namespace's loopback (for the forgers,
# whose 127.x.y.z source addresses need no setup). Otherwise the relay's defaults
# (max_sessions 16384, handshake_rate 20/s and burst 5 per source, idle_timeout 3 m).
#   1) One source address sends 50 forged transport messages (32 bytes, type 4, random
#      receiver index), each from a new source port, over 1 s: it may cost at most 8 sessions
#      (porthop_sessions_opened_total) and 8 open descriptors of the relay (each session has
#      its own backend socket), and gets nothing back.
#   2) 17,000 forged transport messages from 3,400 source addresses (5 each, each from a new
#      source port, 4,000 a second so that the relay's receive buffer is not what drops
#      them); then a legitimate wireguard-go client arrives (handshake, then 20 pings 0.25 s
#      apart, each answered within 2 s) and must get at least 19 of 20 replies. Forged
#      messages that each open a session fill max_sessions and lock the client out until
#      idle_timeout.
# About 30 s.
# shellcheck source=../e2e/lib.sh
source "$(dirname "$0")/../e2e/lib.sh"
ph_init forged_flood
ulimit -n 20000 2>/dev/null || true
echo "  ulimit -n: $(ulimit -n) (the flood needs about 16,500 descriptors in the relay)"

passed=0
failed=0
ok() { echo "PASS: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1"; failed=$((failed + 1)); }
ATTACK="python3 $(cd "$(dirname "$0")" && pwd)/attack_tools.py"

WG_PORT=51820
SRV_IF=wgs$PH_ID
CLI_IF=wgc$PH_ID
CLI_TUN=10.78.0.2
SRV_TUN=10.78.0.1

ph_topology
ph_wg_keys server
ph_wg_keys client
SERVER_PUB=$(<"$PH_TMP/server.pub")
ph_wg_up "$PH_NS_SRV" "$SRV_IF" "$SRV_TUN/24" private-key "$PH_TMP/server.key" \
    listen-port "$WG_PORT" peer "$(<"$PH_TMP/client.pub")" allowed-ips "$CLI_TUN/32"

cat >"$PH_TMP/porthop.toml" <<EOT
[server]
listen = ["$PH_SRV_ADDR", "127.0.0.1"]
udp = ["443"]
tcp = []
backend = "127.0.0.1:$WG_PORT"
protocol = "wireguard"
wireguard_public_key = "$SERVER_PUB"
EOT
"$PORTHOP_BIN" check-config "$PH_TMP/porthop.toml" >"$PH_TMP/check.out" 2>&1 ||
    { cat "$PH_TMP/check.out"; ph_die "check-config rejected the relay's configuration"; }
PH_PORTHOP_LOG=$PH_TMP/porthop.log
ph_spawn "$PH_NS_SRV" "$PH_PORTHOP_LOG" "$PORTHOP_BIN" server --config "$PH_TMP/porthop.toml"
PH_PORTHOP_PID=$PH_PID
ph_wait_ready "$PH_PORTHOP_PID" 10 "porthop on udp/443" _ph_listening "$PH_NS_SRV" u "$PH_SRV_ADDR:443"
ph_wait_ready "$PH_PORTHOP_PID" 10 "porthop metrics" _ph_http_get "$PH_NS_SRV" "http://$PH_RELAY_METRICS/metrics"
fds() { ls "/proc/$PH_PORTHOP_PID/fd" | wc -l; }

# 1) one source, 50 forged messages
opened0=$(ph_relay_metric porthop_sessions_opened_total)
fds0=$(fds)
one=$(ph_ns "$PH_NS_SRV" timeout 20 $ATTACK forge 127.0.0.1 443 127.0.99.1 1 50 50 1)
opened1=$(($(ph_relay_metric porthop_sessions_opened_total) - opened0))
fds1=$(($(fds) - fds0))
echo "  one source, 50 forged messages: $one; sessions opened $opened1, relay descriptors +$fds1"
((opened1 <= 8)) && ok "one source's 50 forged messages opened $opened1 sessions (<= 8)" ||
    bad "one source's 50 forged messages opened $opened1 sessions (<= 8 required)"
((fds1 <= 8)) && ok "they cost $fds1 more descriptors (backend sockets) (<= 8)" ||
    bad "they cost $fds1 more descriptors (backend sockets) (<= 8 required)"
jq -e '.back_bytes == 0' <<<"$one" >/dev/null && ok "nothing came back to the forger" ||
    bad "something came back to the forger"

# 2) the flood, then the legitimate client
opened0=$(ph_relay_metric porthop_sessions_opened_total)
flood=$(ph_ns "$PH_NS_SRV" timeout 40 $ATTACK forge 127.0.0.1 443 127.1.0.1 3400 5 4000 0)
echo "  flood: $flood; sessions opened $(($(ph_relay_metric porthop_sessions_opened_total) - opened0))," \
    "open now $(ph_relay_metric porthop_sessions) of $(ph_relay_metric porthop_sessions_limit)," \
    "relay descriptors $(fds)"
jq -e '.sent == 17000' <<<"$flood" >/dev/null && ok "17000 forged messages sent" ||
    bad "17000 forged messages sent ($flood)"

ph_wg_up "$PH_NS_CLI" "$CLI_IF" "$CLI_TUN/24" private-key "$PH_TMP/client.key" \
    peer "$SERVER_PUB" allowed-ips "$SRV_TUN/32" endpoint "$PH_SRV_ADDR:443"
# (Exactly 20 pings: no -w, which would keep ping sending until 20 replies.)
ph_spawn "$PH_NS_CLI" "$PH_TMP/ping.log" ping -n -q -c 20 -i 0.25 -W 2 "$SRV_TUN"
ph_wait_exit "$PH_PID" 20 ping || true
replies=$(sed -nE 's/.* ([0-9]+) received.*/\1/p' "$PH_TMP/ping.log")
replies=${replies:-0}
echo "  legitimate client: $(grep -E 'transmitted' "$PH_TMP/ping.log");" \
    "drops: $(_ph_http_get "$PH_NS_SRV" "http://$PH_RELAY_METRICS/metrics" | grep '^porthop_drops_total' | awk '$NF != 0' | paste -sd' ')"
((replies >= 19)) && ok "the legitimate client got $replies of 20 replies (>= 19)" ||
    bad "the legitimate client got $replies of 20 replies (>= 19 required)"
ph_expect_running "$PH_PORTHOP_PID" porthop && ok "the relay is still running"
echo "$passed passed, $failed failed"
((failed == 0))
