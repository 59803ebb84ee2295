#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Recovery after a relay restart (issue 12, item 1), with real WireGuard: wireguard-go on both
# ends (tests/e2e/lib.sh topology: client, router and server namespaces), porthop in the server
# namespace in front of the server's wireguard-go. For protocol = "wireguard" (with the
# backend's public key) and for the default protocol = "any":
#   1) the client downloads through the tunnel (iperf3 -R, 0.5 s intervals); after 5 s the
#      relay gets SIGTERM and is started again with the same configuration (with a state_file,
#      so the sessions come back on their backend-side ports). The rate before
#      is the mean of the intervals from 1 s to the kill; the download must be back to at least
#      half of it in an interval that ends within 5 s of the relay listening again. (A restarted
#      relay sees the client's transport data first and no handshake; capping the replies of
#      such a session at what the client sent stalls the download until WireGuard's next
#      handshake, about two minutes.) The run ends after 14 s, or after 8 s without data
#      (--rcv-timeout), so a relay that never recovers costs seconds; the times are taken from
#      the iperf3 client's start, which is a few milliseconds before its first interval, so
#      the 5 s allowance is at most that much longer. A 0.1 s ping stream through the tunnel
#      beside the download must be answered again within 2 s of the relay listening again
#      (the relay's own recovery, apart from TCP's retransmission backoff).
#   2) a spoofed source still never gets more bytes back than it sent, after the restart and
#      during another download: an off-path attacker who sees the client's traffic (the router
#      copies 20 of the client's transport messages off the wire as they pass) replays them
#      from another address in the client namespace, with 50 forged transport messages (type 4,
#      random receiver index); that address must receive at most the bytes it sent. The
#      backend has accepted the originals already, so it drops the replays and answers none of
#      the forgeries: the sessions they open stay unanswered, unvalidated and provisional.
#      (An attacker who can also hold the client's packets back and deliver them first can
#      move WireGuard itself to his address, relay or not: README, "Security notes".)
# A failed recovery prints the restarted relay's counters, both WireGuard ends' view and the
# server namespace's UDP sockets, and the first process's log is kept beside the second's:
# CI saw one such failure (in ~30 runs) that no local run has reproduced yet. About 50 s.
# shellcheck source=../e2e/lib.sh
source "$(dirname "$0")/../e2e/lib.sh"
ph_init restart

passed=0
failed=0
ok() { echo "PASS: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1"; failed=$((failed + 1)); }

WG_PORT=51820
CLI_WG_PORT=51821
SRV_IF=wgs$PH_ID
CLI_TUN=10.78.0.2
SRV_TUN=10.78.0.1
SPOOF_ADDR=10.77.1.2
KILL_AFTER=5   # seconds into the download
IPERF_SECONDS=14
# A download stalled this long ends the run (with the intervals so far in its report), so that a
# relay that never recovers costs seconds, not iperf3's default two minutes.
RCV_TIMEOUT_MS=8000
iperf_runs=0

ph_topology
ip -n "$PH_NS_CLI" addr add "$SPOOF_ADDR/24" dev to-rtr
ph_wg_keys server
ph_wg_keys client
SERVER_PUB=$(<"$PH_TMP/server.pub")
ph_wg_up "$PH_NS_SRV" "$SRV_IF" "$SRV_TUN/24" private-key "$PH_TMP/server.key" \
    listen-port "$WG_PORT" peer "$(<"$PH_TMP/client.pub")" allowed-ips "$CLI_TUN/32"

# The spoofer, in two parts. capture.py runs in the router namespace and copies 20 of the
# client's transport messages off the wire (AF_PACKET) while the router forwards them as usual.
# send.py, in the client namespace, replays them from SPOOF_ADDR, adds 50 forged transport
# messages (random receiver index) and counts what comes back to that address in 2 s.
cat >"$PH_TMP/capture.py" <<'EOT'
import select, socket, struct, sys, time
ifname, cli, cli_port, want = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
cap.bind((ifname, 0))
got, deadline = [], time.monotonic() + 5
while len(got) < want and (left := deadline - time.monotonic()) > 0:
    if not select.select([cap], [], [], left)[0]:
        continue
    frame = cap.recv(65536)
    ip = frame[14:]
    if frame[12:14] != b"\x08\x00" or ip[9] != 17 or socket.inet_ntoa(ip[12:16]) != cli:
        continue
    udp = ip[(ip[0] & 15) * 4:]
    sport, dport, length = struct.unpack("!HHH", udp[:6])
    payload = udp[8:length]
    if sport == cli_port and len(payload) > 32 and payload[:4] == b"\x04\0\0\0":
        got.append(payload)
for d in got:
    print(d.hex())
EOT
cat >"$PH_TMP/send.py" <<'EOT'
import json, os, random, select, socket, struct, sys, time
spoof, relay, port, captured = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
got = [bytes.fromhex(l) for l in open(captured).read().split()]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((spoof, 0))
sent = 0
for d in got:
    s.sendto(d, (relay, port))
    sent += len(d)
for _ in range(50):
    m = struct.pack("<IIQ", 4, random.getrandbits(32), random.getrandbits(40)) + os.urandom(16 + 16 * random.randrange(4))
    s.sendto(m, (relay, port))
    sent += len(m)
    time.sleep(0.005)
back, n = 0, 0
end = time.monotonic() + 2
while (left := end - time.monotonic()) > 0:
    if select.select([s], [], [], left)[0]:
        try:
            back += len(s.recv(65536))
            n += 1
        except ConnectionRefusedError:
            pass
print(json.dumps({"captured": len(got), "forged": 50, "sent_bytes": sent, "back_datagrams": n, "back_bytes": back}))
EOT

# spoof_check NAME: the spoofed source, while the client downloads (as far as the relay lets it)
# and pings. Sets SPOOF to send.py's JSON. (Not run in a $(...) subshell: the processes it
# starts must stay registered with lib.sh's cleanup, and the iperf3 port count must advance.)
spoof_check() {
    local port=$((5201 + ++iperf_runs))
    ph_spawn "$PH_NS_SRV" "$PH_TMP/iperf3-server-spoof-$1.log" iperf3 -s -1 -B "$SRV_TUN" -p "$port"
    ph_wait_ready "$PH_PID" 5 "iperf3 server on $SRV_TUN:$port" _ph_listening "$PH_NS_SRV" t "$SRV_TUN:$port"
    ph_spawn "$PH_NS_CLI" "$PH_TMP/iperf-spoof-$1.json" iperf3 -c "$SRV_TUN" -p "$port" -R -t 6 -J \
        --connect-timeout 3000 --rcv-timeout 4000
    local iperf=$PH_PID
    ph_spawn "$PH_NS_CLI" "$PH_TMP/ping-spoof-$1.log" ping -n -q -i 0.05 -c 100 -w 8 "$SRV_TUN"
    local ping=$PH_PID
    sleep 1.5
    ph_ns "$PH_NS_RTR" timeout 10 python3 "$PH_TMP/capture.py" to-cli "$PH_CLI_ADDR" "$CLI_WG_PORT" 20 \
        >"$PH_TMP/captured-$1" || true
    SPOOF=$(ph_ns "$PH_NS_CLI" timeout 10 python3 "$PH_TMP/send.py" "$SPOOF_ADDR" "$PH_SRV_ADDR" 443 \
        "$PH_TMP/captured-$1") || SPOOF='{"captured": 0, "sent_bytes": 0, "back_bytes": -1}'
    ph_wait_exit "$iperf" 20 "iperf3 client (spoof phase)" || true
    ph_wait_exit "$ping" 15 "ping (spoof phase)" || true
}

# diagnose NAME CLIENT_IF: what a failed recovery leaves to look at (a rare failure in CI must
# say where the datagrams stopped): the restarted relay's counters (drops and sessions) and
# both WireGuard ends' view (endpoint, last handshake, bytes).
diagnose() {
    local body
    body=$(_ph_http_get "$PH_NS_SRV" "http://$PH_RELAY_METRICS/metrics" 2>&1) || true
    echo "  $1: the restarted relay's counters (non-zero):"
    awk '/^porthop_/ && $NF != 0 && /drop|session|native|move|datagrams_total|bytes_total/ { print "    " $0 }' <<<"$body" | head -n 60
    echo "  $1: wireguard on the client, then on the server:"
    ph_ns "$PH_NS_CLI" wg show "$2" 2>&1 | sed 's/^/    /'
    ph_ns "$PH_NS_SRV" wg show "$SRV_IF" 2>&1 | sed 's/^/    /'
    echo "  $1: UDP sockets in the server namespace:"
    ph_ns "$PH_NS_SRV" ss -uanp 2>&1 | sed 's/^/    /'
}

# run_case NAME EXTRA_TOML: one restart under traffic and the spoof check, with a fresh client.
run_case() {
    local name=$1 extra=$2 cli_if=wgc$PH_ID${1:0:1} json=$PH_TMP/iperf-$1.json t_spawn t_kill t_up
    local kill_off up_off result spoof
    ph_porthop_start "127.0.0.1:$WG_PORT" "443" "" "$extra"
    ph_wg_up "$PH_NS_CLI" "$cli_if" "$CLI_TUN/24" private-key "$PH_TMP/client.key" \
        listen-port "$CLI_WG_PORT" peer "$SERVER_PUB" allowed-ips "$SRV_TUN/32" \
        endpoint "$PH_SRV_ADDR:443"
    local cli_pid=$PH_PID
    # A server of its own per case: one left waiting on a stalled test would refuse the next.
    local iperf_port=$((5201 + ++iperf_runs))
    ph_spawn "$PH_NS_SRV" "$PH_TMP/iperf3-server-$name.log" iperf3 -s -1 -B "$SRV_TUN" -p "$iperf_port"
    ph_wait_ready "$PH_PID" 5 "iperf3 server on $SRV_TUN:$iperf_port" _ph_listening "$PH_NS_SRV" t "$SRV_TUN:$iperf_port"
    ph_ping "$PH_NS_CLI" "$SRV_TUN" 5 20 # the handshake, through the relay

    # A ping stream through the tunnel beside the download: the relay's own recovery, apart
    # from TCP's (a TCP sender that lost everything for a second retransmits with exponential
    # backoff, so the download may resume a little after the path does).
    ph_tping_start "$PH_NS_CLI" "$SRV_TUN" $((IPERF_SECONDS + 4)) "$PH_TMP/ping-$name.log"
    local tping=$PH_TPING_PID
    t_spawn=$EPOCHREALTIME
    ph_spawn "$PH_NS_CLI" "$json.stderr" iperf3 -c "$SRV_TUN" -p "$iperf_port" -R -t "$IPERF_SECONDS" -i 0.5 -J \
        --logfile "$json" --connect-timeout 5000 --rcv-timeout "$RCV_TIMEOUT_MS"
    local iperf=$PH_PID
    sleep "$KILL_AFTER"
    t_kill=$EPOCHREALTIME
    ph_porthop_stop
    # The first process's log: ph_porthop_start writes the new one to the same file.
    mv "$PH_PORTHOP_LOG" "$PH_TMP/porthop-before-restart-$name.log"
    _PH_LOGS+=("$PH_TMP/porthop-before-restart-$name.log")
    ph_porthop_start "127.0.0.1:$WG_PORT" "443" "" "$extra"
    t_up=$EPOCHREALTIME
    ph_wait_exit "$iperf" $((IPERF_SECONDS + 15)) "iperf3 client" || true
    kill_off=$(awk -v a="$t_spawn" -v b="$t_kill" 'BEGIN { printf "%.2f", b - a }')
    up_off=$(awk -v a="$t_spawn" -v b="$t_up" 'BEGIN { printf "%.2f", b - a }')
    # before: mean Mbit/s of [1 s, kill]; best: the best interval ending within 5 s of t_up;
    # recovered: seconds from t_up to the end of the first interval at >= half of before.
    result=$(jq -r --argjson k "$kill_off" --argjson u "$up_off" '
        [.intervals[].sum | select(.start >= 1 and .end <= $k) | .bits_per_second] as $b
        | (if ($b | length) > 0 then ($b | add / length / 1e6) else 0 end) as $before
        | [.intervals[].sum | select(.start >= $k and .end <= $u + 5) | .bits_per_second / 1e6] as $w
        | ([.intervals[].sum | select(.start >= $k and .bits_per_second / 1e6 >= $before / 2) | .end - $u][0] // -1) as $rec
        | "\($before * 10 | floor / 10) \(($w | max // 0) * 10 | floor / 10) \($rec * 100 | floor / 100) \([.intervals[].sum.bits_per_second / 1e6 | floor] | join(","))"' \
        "$json" 2>/dev/null) || result="0 0 -1 (no iperf3 report: $(head -c 200 "$json"))"
    read -r before best rec series <<<"$result"
    echo "  $name: before the restart $before Mbit/s; relay killed at ${kill_off}s, listening again at" \
        "${up_off}s; best 0.5 s interval within 5 s after: $best Mbit/s; back to half after ${rec}s" \
        "(-1: never in the run); Mbit/s per 0.5 s: $series"
    # The first ping sent after the kill that was answered: when its reply came, from the kill,
    # and from the moment the test saw the relay listening again (it may be a little earlier:
    # the relay is up before `ss` shows it).
    local ping_back ping_up
    ping_back=$(_ph_tping_replies | awk -v k="$t_kill" '$1 > k && !done { printf "%.2f", $3 - k; done = 1 }')
    _ph_stop_pids "$tping"
    echo "  $name: ping through the tunnel answered again ${ping_back:-never}s after the kill" \
        "(the relay was down for $(awk -v a="$t_kill" -v b="$t_up" 'BEGIN { printf "%.2f", b - a }')s)"
    ping_up=$(awk -v p="${ping_back:-999}" -v a="$t_kill" -v b="$t_up" 'BEGIN { printf "%.2f", p - (b - a) }')
    if awk -v p="$ping_up" 'BEGIN { exit !(p <= 2) }'; then
        ok "$name: ping through the tunnel answered within 2 s of the restart"
    else
        bad "$name: ping through the tunnel answered within 2 s of the restart (after ${ping_up}s)"
    fi
    if awk -v b="$before" 'BEGIN { exit !(b > 1) }'; then
        ok "$name: the download ran before the restart ($before Mbit/s)"
    else
        bad "$name: the download ran before the restart ($before Mbit/s)"
    fi
    if awk -v b="$before" -v w="$best" 'BEGIN { exit !(b > 1 && w >= b / 2) }'; then
        ok "$name: back to >= half the rate within 5 s of the restart ($best of $before Mbit/s)"
    else
        bad "$name: back to >= half the rate within 5 s of the restart ($best of $before Mbit/s)"
        diagnose "$name" "$cli_if"
    fi

    spoof_check "$name"
    spoof=$SPOOF
    echo "  $name: spoofed source $SPOOF_ADDR: $spoof"
    if jq -e '.captured == 20 and .back_bytes >= 0 and .back_bytes <= .sent_bytes' <<<"$spoof" >/dev/null; then
        ok "$name: the spoofed source got no more bytes back than it sent"
    else
        bad "$name: the spoofed source got no more bytes back than it sent (or too little was captured)"
    fi
    ph_porthop_stop
    _ph_stop_pids "$cli_pid"
}

# The relay keeps its sessions in a state file (README, "Restarts"), one per case.
run_case wireguard "$(printf 'protocol = "wireguard"\nwireguard_public_key = "%s"\nstate_file = "%s"\n' \
    "$SERVER_PUB" "$PH_TMP/sessions-wireguard")"
run_case any "$(printf 'state_file = "%s"\n' "$PH_TMP/sessions-any")"
echo "$passed passed, $failed failed"
((failed == 0))
