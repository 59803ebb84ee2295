#!/bin/bash
# The metrics endpoint as a scraper sees it: valid for promtool, and the numbers match the
# traffic this test sent.
source "$(dirname "$0")/lib.sh"

command -v promtool >/dev/null || { echo "FAIL: promtool missing (Debian package prometheus)"; exit 1; }
read -r P1 P2 T1 M B < <($TOOLS free-ports 5)
cat >"$WORK/server.toml" <<CONF
[server]
listen = ["127.0.0.1"]
udp = ["$P1", "$P2"]
tcp = ["$T1"]
backend = "127.0.0.1:$B"
[metrics]
listen = "127.0.0.1:$M"
CONF
start_echo "$B"
start_porthop "$WORK/server.toml"

expect "7 datagrams via udp/$P1 come back" "$($TOOLS udp 7 "$P1" 100)" 7
expect "3 datagrams via udp/$P2 come back" "$($TOOLS udp 3 "$P2" 50)" 3
expect "2 frames via tcp/$T1 come back" "$($TOOLS tcp 2 "$T1" 10)" 2

scrape "$M"
expect "GET /metrics is 200" "$(cat "$WORK/status")" 200
if promtool check metrics <"$WORK/metrics" >"$WORK/promtool" 2>&1; then ok "promtool check metrics"
else bad "promtool check metrics: $(cat "$WORK/promtool")"; fi

u1="proto=\"udp\",address=\"127.0.0.1\",port=\"$P1\""
u2="proto=\"udp\",address=\"127.0.0.1\",port=\"$P2\""
t1="proto=\"tcp\",address=\"127.0.0.1\",port=\"$T1\""
expect "udp/$P1 datagrams from clients" "$(metric "porthop_listener_datagrams_total{$u1,direction=\"from_client\"}")" 7
expect "udp/$P1 datagrams to clients" "$(metric "porthop_listener_datagrams_total{$u1,direction=\"to_client\"}")" 7
expect "udp/$P1 bytes from clients" "$(metric "porthop_listener_payload_bytes_total{$u1,direction=\"from_client\"}")" 700
expect "udp/$P2 bytes to clients" "$(metric "porthop_listener_payload_bytes_total{$u2,direction=\"to_client\"}")" 150
expect "tcp/$T1 datagrams from clients" "$(metric "porthop_listener_datagrams_total{$t1,direction=\"from_client\"}")" 2
expect "udp/$P1 sessions" "$(metric "porthop_listener_sessions{$u1}")" 1
expect "sessions opened" "$(metric porthop_sessions_opened_total)" 3
expect "TCP connections accepted" "$(metric porthop_tcp_connections_accepted_total)" 1
expect "datagrams to the backend" "$(metric 'porthop_datagrams_total{direction="to_backend"}')" 12
expect "no drops yet" "$(metric 'porthop_drops_total{reason="empty"}')" 0

# A drop shows up under its reason.
python3 -c "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'', ('127.0.0.1', $P1))"
sleep 0.2
scrape "$M"
expect "an empty datagram is counted as a drop" "$(metric 'porthop_drops_total{reason="empty"}')" 1

expect "GET / is 404" "$($TOOLS http GET "http://127.0.0.1:$M/" | sed -n 1p)" 404
expect "POST /metrics is 405" "$($TOOLS http POST "http://127.0.0.1:$M/metrics" | sed -n 1p)" 405

kill -TERM "$PORTHOP"
wait "$PORTHOP" && ok "SIGTERM: exit 0" || bad "SIGTERM: exit $?"
finish
