#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The protocol-aware relay in front of native WireGuard (issue "Protocol-aware relay"): porthop
# with protocol = "wireguard" and the backend's public key, between wireguard-go on both ends.
#   1) Roaming. A native client hops to the next relay port every 3 s during a 21 s iperf3
#      run (as a user does when the censor blocks the port in use; the censor here drops only
#      the old port's replies, so the client's stragglers to it still arrive: see below). The
#      relay re-finds the session by the WireGuard receiver index it learned from the backend's
#      handshake response and keeps the session's upstream socket, so the server-side WireGuard
#      sees one endpoint all along (sampled twice a second) and nobody handshakes again; every
#      iperf3 second carries data.
#   1b) Replays. 50 of the client's own transport datagrams, captured as they leave and re-sent
#      verbatim from another source port to another relay port: the relay must refuse every one
#      as a move ("replayed": its counter is not above the highest seen), send nothing back,
#      and keep the client's reply path (ping still works).
#   2) Forged handshakes. 20000 handshake messages with random mac1 (90% initiations, 10%
#      responses), as fast as python sends them (5 s at most), from 8 source ports: none may
#      reach the backend (nftables counts what arrives at its port) and the relay must count
#      every one that reached its socket as bad_mac1.
#   3) Junk. 20000 datagrams of random sizes (1-1400) and contents, a quarter of them near
#      misses (a WireGuard type byte with the wrong length, or non-zero reserved bytes): not a
#      byte may come back (the senders listen 2 s, and nftables in the client namespace counts
#      everything from the server that is not for the WireGuard client), none may reach the
#      backend, and the relay must count every one as not_wireguard.
# Then the tunnel must still work, with the one session and the one handshake it started with.
#
# Exact accounting: "reached the relay" is an nftables counter on the server namespace's input
# hook, and kernel drops between it and the relay's socket (receive buffer full under the flood)
# are the namespace's UDP InErrors; so the relay's drop counter must equal arrived - InErrors.
# Packets lost before the server namespace (veth backlog) are reported, not required to be 0.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
ph_init wireguard_guard

WG_PORT=51820     # the backend (wireguard-go), behind the relay on the server's loopback
CLI_WG_PORT=51821 # the client's wireguard-go, fixed so that nftables can tell its traffic apart
CLI_IF=wgc$PH_ID
SRV_IF=wgs$PH_ID
CLI_TUN=10.78.0.2
SRV_TUN=10.78.0.1
HOP_PORTS=(443 40000 40001 40002 40003 40004 40005) # phase 1: the client starts on the first
FORGE_PORT=40009                                    # phase 2: forged handshakes go here
JUNK_PORT=40008                                     # phase 3: junk goes here
HOP_EVERY=3
IPERF_SECONDS=21
FLOOD_COUNT=20000
FLOOD_SECONDS=5
METRICS_URL=http://127.0.0.1:9816/metrics

ph_topology
ph_censor_count_udp "${HOP_PORTS[@]}" "$WG_PORT"

# Server namespace: what reaches the relay from the flood senders (any client source port but
# the WireGuard client's), and what reaches the backend over loopback, by size. A WireGuard
# message's size gives its type: initiation 148 bytes (UDP length 156), response 92 (100),
# keepalive 32 (40); transport messages are 32 + 16k bytes, so never 148 or 92.
ph_ns "$PH_NS_SRV" nft -f - <<EOF
table inet phguard {
    counter forged_in {}
    counter junk_in {}
    counter be_init {}
    counter be_resp {}
    counter be_not_keepalive {}
    counter be_all {}
    counter be_other_socket {}
    chain in {
        type filter hook input priority -100; policy accept;
        ip saddr $PH_CLI_ADDR ip daddr $PH_SRV_ADDR udp sport != $CLI_WG_PORT udp dport $FORGE_PORT counter name forged_in
        ip saddr $PH_CLI_ADDR ip daddr $PH_SRV_ADDR udp sport != $CLI_WG_PORT udp dport $JUNK_PORT counter name junk_in
        iif lo udp dport $WG_PORT udp length 156 counter name be_init
        iif lo udp dport $WG_PORT udp length 100 counter name be_resp
        iif lo udp dport $WG_PORT udp length != 40 counter name be_not_keepalive
        iif lo udp dport $WG_PORT counter name be_all
    }
}
EOF
# Client namespace: anything the server address sends that is not for the WireGuard client.
ph_ns "$PH_NS_CLI" nft -f - <<EOF
table inet phguard {
    counter back_udp {}
    counter back_icmp {}
    chain in {
        type filter hook input priority -100; policy accept;
        ip saddr $PH_SRV_ADDR udp dport != $CLI_WG_PORT counter name back_udp
        ip saddr $PH_SRV_ADDR meta l4proto icmp counter name back_icmp
    }
}
EOF
nft_packets() { # NS COUNTER: packets counted so far by a named counter of table inet phguard
    ph_ns "$1" nft -j list counter inet phguard "$2" | jq '[.nftables[] | select(.counter) | .counter.packets] | add'
}
udp_in_errors() { # NS: UDP datagrams the kernel dropped before a socket read them (rcvbuf full, ...)
    # shellcheck disable=SC2016 # awk code
    ph_ns "$1" awk '$1 == "Udp:" { if (!n++) split($0, k); else for (i = 2; i <= NF; i++) if (k[i] == "InErrors") print $i }' /proc/net/snmp
}
# metric FAMILY [LABEL]: the sum of the relay's samples of FAMILY whose labels contain LABEL
# (e.g. reason="bad_mac1"); fails if there is none, so that a renamed metric cannot pass as 0.
metric() {
    local body
    body=$(_ph_http_get "$PH_NS_SRV" "$METRICS_URL") || ph_die "the relay's metrics endpoint does not answer"
    awk -v f="$1" -v l="${2:-}" '
        index($0, f) == 1 && substr($0, length(f) + 1) ~ /^[{ ]/ && (l == "" || index($0, "{") && index($0, l)) {
            s += $NF; n++
        }
        END { if (!n) exit 1; printf "%d\n", s }' <<<"$body" || ph_die "the relay's metrics have no sample $1{${2:-}}"
}

ph_wg_keys server
ph_wg_keys client
SERVER_PUB=$(<"$PH_TMP/server.pub")
ph_wg_up "$PH_NS_SRV" "$SRV_IF" "$SRV_TUN/24" private-key "$PH_TMP/server.key" \
    listen-port "$WG_PORT" peer "$(<"$PH_TMP/client.pub")" allowed-ips "$CLI_TUN/32"
ph_porthop_start "127.0.0.1:$WG_PORT" "443 40000-40009" "" \
    "$(printf 'protocol = "wireguard"\nwireguard_public_key = "%s"\nhandshake_rate = 20\nhandshake_burst = 5\nsessions_per_source = 64\n' "$SERVER_PUB")"
ph_wg_up "$PH_NS_CLI" "$CLI_IF" "$CLI_TUN/24" private-key "$PH_TMP/client.key" listen-port "$CLI_WG_PORT" \
    peer "$SERVER_PUB" allowed-ips "$SRV_TUN/32" endpoint "$PH_SRV_ADDR:${HOP_PORTS[0]}"

# The first ping triggers the handshake (a real initiation, valid mac1: it must pass).
ph_ping "$PH_NS_CLI" "$SRV_TUN" 20 5
server_endpoint() { ph_ns "$PH_NS_SRV" wg show "$SRV_IF" endpoints | awk '{print $2}'; }
EP0=$(server_endpoint)
[[ $EP0 == 127.0.0.1:* ]] || ph_die "backend sees peer endpoint '$EP0', expected 127.0.0.1:* (the relay)"
# From now on nothing may reach the backend except through this one upstream socket.
ph_ns "$PH_NS_SRV" nft add rule inet phguard in iif lo udp dport "$WG_PORT" udp sport != "${EP0##*:}" \
    counter name be_other_socket
ph_result "backend sees the client at $EP0 (the relay's upstream socket)"

CLI_WG_LOG=$PH_TMP/wireguard-go-$CLI_IF.log
client_initiations() { grep -c 'Sending handshake initiation' "$CLI_WG_LOG" || true; }
server_latest_handshake() { ph_ns "$PH_NS_SRV" wg show "$SRV_IF" latest-handshakes | awk '{print $2}'; }
HS_CLI0=$(ph_wg_handshakes "$CLI_IF")
HS_SRV0=$(ph_wg_handshakes "$SRV_IF")
HS_SRV_LATEST0=$(server_latest_handshake)
((HS_SRV0 >= 1)) || ph_die "the backend logged no handshake although ping went through"

# --- 1) the client hops between relay ports during iperf3 ------------------------------------
# Endpoints as each side sees them, sampled in the background (bounded in count and time): the
# backend's twice a second (this is what must never change), the client's ten times a second
# (it must follow the hops and nothing else: wireguard-go roaming back is explained below).
sampler() { # NS IF INTERVAL COUNT FILE
    local i
    for ((i = 0; i < $4; i++)); do
        ip netns exec "$1" wg show "$2" endpoints 2>/dev/null | awk -v t="$EPOCHREALTIME" '{print t, $2}' >>"$5" || true
        sleep "$3"
    done
}
SRV_EPS=$PH_TMP/server-endpoints
CLI_EPS=$PH_TMP/client-endpoints
sampler "$PH_NS_SRV" "$SRV_IF" 0.5 $(((IPERF_SECONDS + 6) * 2)) "$SRV_EPS" &
_PH_PIDS+=($!)
srv_sampler=$!
sampler "$PH_NS_CLI" "$CLI_IF" 0.1 $(((IPERF_SECONDS + 6) * 10)) "$CLI_EPS" &
_PH_PIDS+=($!)
cli_sampler=$!

moves0=$(metric porthop_native_moves_total 'verdict="accepted"')
ph_iperf_server "$PH_NS_SRV" "$SRV_TUN"
ph_iperf_start "$PH_NS_CLI" "$SRV_TUN" "$IPERF_SECONDS" "$PH_TMP/iperf-hops.json"
iperf_pid=$PH_PID
# Why the censor drops the old port's replies (and only those) at each hop. The first version of
# this test left the old port fully open, and hops did not stick: under iperf3 the relay sends
# the client ~25000 ACK-carrying datagrams a second, and wireguard-go adopts the source of every
# authenticated packet it receives as the peer's endpoint (device/receive.go,
# SetEndpointFromPacket). So right after `wg set ... endpoint NEW`, the replies the relay sent
# from the old port before it saw the client on the new one -- and keeps sending from there
# until then -- pull the client straight back, often before a single datagram has left for the
# new port (a run saw no client packet at all on 3 of 6 hop ports, and the client's endpoint on
# the old port after each of those hops). That is the client's roaming racing the user, not the
# relay's, and a relay cannot stop it (it must answer on the path the client last used). A
# native client hops because the censor blocks the port in use, so here the censor drops what
# the old port sends to the client. It does not drop what the client sends to the old port: the
# client's datagrams still in flight there when the first one reaches the new port are the
# stragglers the relay must handle. Their counters are lower, so the relay must refuse them as a
# move ("replayed") and still forward them through the session's one upstream socket -- a second
# session there would make the backend see a second endpoint, and a move back would strand the
# client's replies at the censor. (On this path they seldom overtake: runs here counted none,
# which is why phase 1b makes such datagrams on purpose.)
censor_block_replies() { # PORT: the censor drops the server's UDP from PORT (to the client)
    ph_ns "$PH_NS_RTR" nft -f - <<EOT
table inet phcensor {
    chain filter {
        type filter hook forward priority 0; policy accept;
    }
}
add rule inet phcensor filter ip saddr $PH_SRV_ADDR udp sport $1 drop
EOT
}
hops=0
hop_counts=""
prev=${HOP_PORTS[0]}
for port in "${HOP_PORTS[@]:1}"; do
    sleep "$HOP_EVERY"
    ph_expect_running "$iperf_pid" "iperf3 client"
    censor_block_replies "$prev"
    # Replies already past the censor when its rule lands are still on their way to the client;
    # arriving after `wg set`, one would pull wireguard-go straight back to the old port, whose
    # later replies the censor drops: the tunnel would stall until the next hop (a CI run saw
    # exactly that: no move to the new port for 3.7 s). A moment lets them land first -- but
    # well under TCP's 200 ms minimum retransmission timeout: the iperf3 ACKs dropped meanwhile
    # leave the sender with a full window, so it sends nothing, nothing reaches the new port and
    # the relay has nothing to move on until the timeout (with 0.2 s a CI run's first datagram
    # on a new port came 0.43 s after `wg set`, and an iperf3 second was empty). The ping after
    # `wg set` is traffic that no window holds back, as a real client's keepalives or DNS
    # queries are: its datagram reaches the new port at once and the relay moves the session.
    sleep 0.1
    ph_ns "$PH_NS_CLI" wg set "$CLI_IF" peer "$SERVER_PUB" endpoint "$PH_SRV_ADDR:$port"
    ph_ns "$PH_NS_CLI" ping -c 1 -W 1 -q "$SRV_TUN" >/dev/null 2>&1 || true
    hops=$((hops + 1))
    ph_log "hop $hops: censor drops replies from udp/$prev; client endpoint -> $PH_SRV_ADDR:$port"
    prev=$port
done
ph_wait_exit "$iperf_pid" $((IPERF_SECONDS + 15)) "iperf3 client" || true
ph_iperf_check "$PH_TMP/iperf-hops.json"
_ph_stop_pids "$cli_sampler" "$srv_sampler" || true # (wait reports their SIGTERM)

mapfile -t srv_eps < <(awk '$2 != "" && $2 != "(none)" {print $2}' "$SRV_EPS" | sort -u)
n_srv_samples=$(wc -l <"$SRV_EPS")
ph_result "backend endpoint over $n_srv_samples samples (every 0.5 s, $hops hops): ${srv_eps[*]:-none}"
((n_srv_samples >= IPERF_SECONDS)) || ph_die "only $n_srv_samples samples of the backend's endpoint"
((${#srv_eps[@]} == 1)) || ph_die "the backend saw ${#srv_eps[@]} endpoints across the hops, expected exactly one"
[[ ${srv_eps[0]} == "$EP0" ]] || ph_die "the backend's endpoint moved from $EP0 to ${srv_eps[0]}"
cli_changes=$(awk '$2 != prev { if (NR > 1) n++; prev = $2 } END { print n + 0 }' "$CLI_EPS")
cli_ports=$(awk '{ sub(/.*:/, "", $2); if (!($2 in s)) { s[$2]; o = o (o ? " " : "") $2 } } END { print o }' "$CLI_EPS")
ph_result "client endpoint changed $cli_changes times in $(wc -l <"$CLI_EPS") samples (every 0.1 s)" \
    "for $hops hops; relay ports in order of first use: $cli_ports"
[[ $cli_ports == "${HOP_PORTS[*]}" ]] || ph_die "the client used relay ports '$cli_ports', expected '${HOP_PORTS[*]}'"
((cli_changes == hops)) || ph_die "the client's endpoint changed $cli_changes times for $hops hops (it roamed back)"
# After the endpoint checks, so that a stall caused by the client roaming back says so.
jq -e --argjson n "$IPERF_SECONDS" '[.intervals[].sum.bytes] | length >= $n and all(. > 0)' \
    "$PH_TMP/iperf-hops.json" >/dev/null ||
    ph_die "an iperf3 second carried no data across the hops: $(jq -c '[.intervals[].sum.bytes]' "$PH_TMP/iperf-hops.json")"
for port in "${HOP_PORTS[@]}"; do
    n=$(ph_censor_udp_packets "$port")
    ((n > 0)) || ph_die "the router saw no client packets to udp/$port: the hop to it never happened"
    hop_counts+="$port:$n "
done
ph_result "router saw client packets per relay port: $hop_counts"
moves=$(($(metric porthop_native_moves_total 'verdict="accepted"') - moves0))
ph_result "relay native moves during the hops: accepted $moves," \
    "replayed $(metric porthop_native_moves_total 'verdict="replayed"')," \
    "unknown $(metric porthop_native_moves_total 'verdict="unknown"')," \
    "expired $(metric porthop_native_moves_total 'verdict="expired"')," \
    "too_far $(metric porthop_native_moves_total 'verdict="too_far"')"
((moves >= hops)) || ph_die "the relay accepted $moves native moves for $hops hops"
opened=$(metric porthop_sessions_opened_total)
((opened == 1)) || ph_die "the relay opened $opened sessions, expected 1 (a hop opened a new one)"
hs_cli=$(ph_wg_handshakes "$CLI_IF")
hs_srv=$(ph_wg_handshakes "$SRV_IF")
ph_result "handshakes (client / backend wireguard-go): $HS_CLI0 / $HS_SRV0 before the hops, $hs_cli / $hs_srv after"
((hs_cli == HS_CLI0 && hs_srv == HS_SRV0)) || ph_die "the hops caused a new WireGuard handshake"
[[ $(server_latest_handshake) == "$HS_SRV_LATEST0" ]] || ph_die "the backend's latest handshake changed across the hops"

# --- 1b) the client's own datagrams, replayed from another address ----------------------------
# What a move needs is a live index AND a counter above the highest seen, so a verbatim replay
# (someone who captured the client's datagrams re-sends them from elsewhere) must not take the
# session's reply path: the relay forwards it through the session's socket (the backend drops it
# as a replay) and counts it as "replayed", or, past the source's handshake burst (a datagram
# from a new address spends a token before any index lookup), drops it as "handshake_rate";
# the replayer gets nothing, and the client, whose
# replies would otherwise go to the replayer, keeps working. A python3 script in the client
# namespace captures REPLAY_COUNT of the client's transport datagrams as they leave (AF_PACKET),
# while it makes them by sending UDP through the tunnel, then sends them verbatim from another
# source port to another relay port and listens 2 s.
REPLAY_PORT=40007
REPLAY_COUNT=50
cat >"$PH_TMP/replay.py" <<'EOT'
import json, select, socket, struct, sys, time

ifname, cli, cli_port, tun_dst, relay, relay_port, want = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    sys.argv[4], sys.argv[5], int(sys.argv[6]), int(sys.argv[7])
# ETH_P_ALL: only such taps see outgoing frames.
cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
cap.bind((ifname, 0))
cap.setblocking(False)
tun = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
got, deadline = [], time.monotonic() + 5
while len(got) < want and time.monotonic() < deadline:
    tun.sendto(b"x" * 64, (tun_dst, 9))  # through the tunnel: one transport datagram each
    select.select([cap], [], [], 0.01)
    while True:
        try:
            frame = cap.recv(65536)
        except BlockingIOError:
            break
        ip = frame[14:]
        if frame[12:14] != b"\x08\x00" or ip[9] != 17 or socket.inet_ntoa(ip[12:16]) != cli:
            continue
        udp = ip[(ip[0] & 15) * 4:]
        sport, dport, length = struct.unpack("!HHH", udp[:6])
        payload = udp[8:length]
        # A transport message with data (not a 32-byte keepalive) from the WireGuard client.
        if sport == cli_port and len(payload) > 32 and payload[:4] == b"\x04\0\0\0" and len(got) < want:
            got.append(payload)
for _ in range(5):  # later datagrams: the relay's highest counter goes past every captured one
    tun.sendto(b"y" * 64, (tun_dst, 9))
time.sleep(0.2)
rep = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rep.bind(("0.0.0.0", 0))
for d in got:
    rep.sendto(d, (relay, relay_port))
back = back_bytes = 0
end = time.monotonic() + 2
while (left := end - time.monotonic()) > 0:
    if select.select([rep], [], [], left)[0]:
        back += 1
        back_bytes += len(rep.recv(65536))
print(json.dumps({"captured": len(got), "replayed": len(got), "port": rep.getsockname()[1],
                  "counters": sorted(struct.unpack("<Q", d[8:16])[0] for d in got)[::max(1, len(got) - 1)],
                  "back_packets": back, "back_bytes": back_bytes}))
EOT
replayed0=$(metric porthop_native_moves_total 'verdict="replayed"')
accepted0=$(metric porthop_native_moves_total 'verdict="accepted"')
rated0=$(metric porthop_drops_total 'reason="handshake_rate"')
ph_spawn "$PH_NS_CLI" "$PH_TMP/replay.json" timeout 20 python3 "$PH_TMP/replay.py" to-rtr "$PH_CLI_ADDR" \
    "$CLI_WG_PORT" "$SRV_TUN" "$PH_SRV_ADDR" "$REPLAY_PORT" "$REPLAY_COUNT"
ph_wait_exit "$PH_PID" 25 "python3 replayer" || ph_die "the replayer failed: $(tail -n 5 "$PH_TMP/replay.json")"
REPLAY=$(tail -n 1 "$PH_TMP/replay.json")
jq -e --argjson n "$REPLAY_COUNT" '.captured == $n' <<<"$REPLAY" >/dev/null ||
    ph_die "the replayer captured too few of the client's datagrams: $REPLAY"
replayed=$(($(metric porthop_native_moves_total 'verdict="replayed"') - replayed0))
accepted=$(($(metric porthop_native_moves_total 'verdict="accepted"') - accepted0))
rated=$(($(metric porthop_drops_total 'reason="handshake_rate"') - rated0))
ph_result "replay: $(jq .replayed <<<"$REPLAY") captured client datagrams (counters $(jq -c .counters <<<"$REPLAY"))" \
    "re-sent from port $(jq .port <<<"$REPLAY") to udp/$REPLAY_PORT: relay moves replayed $replayed," \
    "accepted $accepted, dropped over the source's rate $rated; came back" \
    "$(jq .back_packets <<<"$REPLAY") datagrams, $(jq .back_bytes <<<"$REPLAY") bytes"
((replayed >= 1 && replayed + rated == REPLAY_COUNT && accepted == 0)) ||
    ph_die "of $REPLAY_COUNT replays the relay judged $replayed replayed, dropped $rated over the rate" \
        "and accepted $accepted moves"
jq -e '.back_packets == 0' <<<"$REPLAY" >/dev/null || ph_die "the replayer got datagrams back"
ph_ping "$PH_NS_CLI" "$SRV_TUN" 10 0 # the reply path still leads to the client
[[ $(server_endpoint) == "$EP0" ]] || ph_die "the backend's endpoint moved to $(server_endpoint) after the replay"
opened=$(metric porthop_sessions_opened_total)
((opened == 1)) || ph_die "the replay opened a session ($opened in all)"

# --- flood senders -----------------------------------------------------------------------
# One bounded python3 sender for phases 2 and 3: COUNT datagrams (all generated first, then
# sent as fast as the sockets take them, round-robin over NSOCK sockets, for SECONDS at most),
# then it listens LISTEN seconds on every socket for anything coming back. Prints a JSON line.
cat >"$PH_TMP/flood.py" <<'EOF'
import json, os, random, select, socket, sys, time

mode, host, port, count, nsock, seconds, listen = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7])
SIZES = {1: 148, 2: 92, 3: 64}

def wireguard_shaped(d):
    # What porthop's classifier (src/wire/wireguard.cpp) would take as a WireGuard message; a
    # transport message needs only the header and 32 bytes (its counter check is ignored here).
    if len(d) < 32 or d[1:4] != b"\0\0\0":
        return False
    return SIZES.get(d[0]) == len(d) or d[0] == 4

def junk():
    r = random.random()
    if r < 0.25:  # near miss: a WireGuard type byte, reserved bytes zero, the wrong length
        t = random.randint(1, 4)
        while True:
            n = random.randint(4, 31) if t == 4 else random.randint(4, 1400)
            if n != SIZES.get(t):
                return bytes([t, 0, 0, 0]) + os.urandom(n - 4), "near_miss_length"
    if r < 0.35:  # near miss: a WireGuard type with non-zero reserved bytes
        n = random.randint(4, 1400)
        while True:
            rsv = os.urandom(3)
            if rsv != b"\0\0\0":
                return bytes([random.randint(1, 4)]) + rsv + os.urandom(n - 4), "near_miss_reserved"
    while True:  # random bytes (redrawn in the ~2^-30 case that they look like WireGuard)
        d = os.urandom(random.randint(1, 1400))
        if not wireguard_shaped(d):
            return d, "random"

def forged():
    if random.random() < 0.9:  # an initiation: type 1, random sender/ephemeral/static/mac1
        return b"\x01\0\0\0" + os.urandom(144), "initiation"
    return b"\x02\0\0\0" + os.urandom(88), "response"

make = junk if mode == "junk" else forged
packets, kinds = [], {}
for _ in range(count):
    d, k = make()
    assert (mode == "junk") != wireguard_shaped(d), (mode, d[:4], len(d))
    packets.append(d)
    kinds[k] = kinds.get(k, 0) + 1
socks = []
for _ in range(nsock):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", 0))
    s.setblocking(True)
    socks.append(s)
dst = (host, port)
sent = sent_bytes = errors = 0
t0 = time.monotonic()
deadline = t0 + seconds
for i, d in enumerate(packets):
    if (i & 255) == 0 and time.monotonic() > deadline:
        break
    try:
        socks[i % nsock].sendto(d, dst)
        sent += 1
        sent_bytes += len(d)
    except OSError:
        errors += 1
elapsed = time.monotonic() - t0
back_packets = back_bytes = 0
for s in socks:
    s.setblocking(False)
end = time.monotonic() + listen
while (left := end - time.monotonic()) > 0:
    ready, _, _ = select.select(socks, [], [], left)
    for s in ready:
        try:
            d = s.recv(65536)
            back_packets += 1
            back_bytes += len(d)
        except OSError:
            pass
print(json.dumps({"sent": sent, "sent_bytes": sent_bytes, "send_errors": errors,
                  "seconds": round(elapsed, 3), "pps": round(sent / max(elapsed, 1e-6)),
                  "kinds": kinds, "ports": [s.getsockname()[1] for s in socks],
                  "back_packets": back_packets, "back_bytes": back_bytes}))
EOF
# flood MODE PORT: runs the sender in the client namespace, sets FLOOD (its JSON line).
flood() {
    local out=$PH_TMP/flood-$1.json
    ph_spawn "$PH_NS_CLI" "$out" timeout 30 python3 "$PH_TMP/flood.py" "$1" "$PH_SRV_ADDR" "$2" \
        "$FLOOD_COUNT" 8 "$FLOOD_SECONDS" 2
    ph_wait_exit "$PH_PID" 40 "python3 $1 sender" || ph_die "the $1 sender failed: $(tail -n 5 "$out")"
    FLOOD=$(tail -n 1 "$out")
    jq -e '.sent > 0' <<<"$FLOOD" >/dev/null || ph_die "the $1 sender printed '$FLOOD'"
}
# flood_phase MODE PORT IN_COUNTER DROP_REASON: a flood and its exact accounting. Sets SENT,
# ARRIVED, KDROPS, DROPPED and the backend counters' deltas BE_INIT, BE_RESP, BE_NK.
flood_phase() {
    local mode=$1 port=$2 in_counter=$3 reason=$4 in0 err0 drop0 init0 resp0 nk0 legit0 legit
    in0=$(nft_packets "$PH_NS_SRV" "$in_counter")
    err0=$(udp_in_errors "$PH_NS_SRV")
    drop0=$(metric porthop_drops_total "reason=\"$reason\"")
    init0=$(nft_packets "$PH_NS_SRV" be_init)
    resp0=$(nft_packets "$PH_NS_SRV" be_resp)
    nk0=$(nft_packets "$PH_NS_SRV" be_not_keepalive)
    legit0=$(client_initiations)
    flood "$mode" "$port"
    SENT=$(jq .sent <<<"$FLOOD")
    ARRIVED=$(($(nft_packets "$PH_NS_SRV" "$in_counter") - in0))
    # The sender listened 2 s after its last datagram, so the relay has long drained its socket.
    KDROPS=$(($(udp_in_errors "$PH_NS_SRV") - err0))
    DROPPED=$(($(metric porthop_drops_total "reason=\"$reason\"") - drop0))
    # A legitimate initiation in between (none is expected: no rekey is due for 120 s) would
    # be counted at the backend too; it is subtracted, so only forged ones count.
    legit=$(($(client_initiations) - legit0))
    BE_INIT=$(($(nft_packets "$PH_NS_SRV" be_init) - init0 - legit))
    BE_RESP=$(($(nft_packets "$PH_NS_SRV" be_resp) - resp0))
    BE_NK=$(($(nft_packets "$PH_NS_SRV" be_not_keepalive) - nk0 - legit))
    ph_result "$mode: sent $SENT datagrams in $(jq .seconds <<<"$FLOOD") s ($(jq .pps <<<"$FLOOD")/s," \
        "from ports $(jq -c .ports <<<"$FLOOD"), kinds $(jq -c .kinds <<<"$FLOOD"));" \
        "$ARRIVED arrived in the server namespace, $KDROPS dropped by its kernel (UDP InErrors)," \
        "$DROPPED counted by the relay as $reason; reached the backend: $BE_INIT initiations," \
        "$BE_RESP responses, $BE_NK non-keepalive datagrams in all; came back: $(jq .back_packets <<<"$FLOOD")" \
        "datagrams, $(jq .back_bytes <<<"$FLOOD") bytes"
    ((legit == 0)) || ph_log "note: the client sent $legit legitimate initiation(s) during the $mode flood"
    ((DROPPED == ARRIVED - KDROPS)) || {
        _ph_http_get "$PH_NS_SRV" "$METRICS_URL" | grep -E '^porthop_(drops|native)' >&2 || true
        ph_die "$mode: the relay counted $DROPPED $reason drops, expected $ARRIVED arrived - $KDROPS kernel drops = $((ARRIVED - KDROPS))"
    }
    ((ARRIVED <= SENT)) || ph_die "$mode: $ARRIVED arrived but only $SENT were sent (someone else is sending?)"
    ((BE_INIT == 0 && BE_RESP == 0 && BE_NK == 0)) ||
        ph_die "$mode: the backend received $BE_INIT initiations, $BE_RESP responses, $BE_NK non-keepalives"
    jq -e '.back_packets == 0 and .back_bytes == 0' <<<"$FLOOD" >/dev/null ||
        ph_die "$mode: the senders got $(jq .back_packets <<<"$FLOOD") datagrams back"
}

# --- 2) forged handshake messages (random mac1) ----------------------------------------------
flood_phase forged "$FORGE_PORT" forged_in bad_mac1
FORGED_SENT=$SENT FORGED_ARRIVED=$ARRIVED FORGED_DROPPED=$DROPPED FORGED_AT_BACKEND=$((BE_INIT + BE_RESP))

# --- 3) junk ---------------------------------------------------------------------------------
flood_phase junk "$JUNK_PORT" junk_in not_wireguard
JUNK_SENT=$SENT JUNK_ARRIVED=$ARRIVED JUNK_DROPPED=$DROPPED JUNK_AT_BACKEND=$BE_NK

back_udp=$(nft_packets "$PH_NS_CLI" back_udp)
back_icmp=$(nft_packets "$PH_NS_CLI" back_icmp)
other=$(nft_packets "$PH_NS_SRV" be_other_socket)
ph_result "whole run: from the server to anything but the WireGuard client: $back_udp UDP, $back_icmp ICMP;" \
    "to the backend from any socket but the session's: $other"
((back_udp == 0 && back_icmp == 0)) || ph_die "the server sent $back_udp UDP and $back_icmp ICMP packets to the flood senders"
((other == 0)) || ph_die "$other datagrams reached the backend from a socket other than the session's"
direct=$(ph_censor_udp_packets "$WG_PORT")
((direct == 0)) || ph_die "$direct packets went to the backend port $WG_PORT directly, bypassing the relay"

# --- the tunnel after all this -----------------------------------------------------------------
ph_ping "$PH_NS_CLI" "$SRV_TUN" 10 0
opened=$(metric porthop_sessions_opened_total)
hs_cli=$(ph_wg_handshakes "$CLI_IF")
hs_srv=$(ph_wg_handshakes "$SRV_IF")
ph_result "after the floods: $opened session(s) opened in all; handshakes $hs_cli (client) / $hs_srv (backend);" \
    "handshake_rate drops $(metric porthop_drops_total 'reason="handshake_rate"')," \
    "sessions_per_source drops $(metric porthop_drops_total 'reason="sessions_per_source"')," \
    "amplification drops $(metric porthop_drops_total 'reason="amplification"')"
((opened == 1)) || ph_die "the relay opened $opened sessions in all, expected 1"
((hs_cli == HS_CLI0 && hs_srv == HS_SRV0)) || ph_die "the floods caused a new WireGuard handshake"
[[ $(server_endpoint) == "$EP0" ]] || ph_die "the backend's endpoint moved to $(server_endpoint) during the floods"

ph_result "RESULT hops=$hops backend_endpoints=${#srv_eps[@]} moves_accepted=$moves client_endpoint_changes=$cli_changes" \
    "replays_refused=$((replayed + rated))/$REPLAY_COUNT" \
    "iperf=$(_ph_mbps "$(jq '.end.sum_received.bits_per_second' "$PH_TMP/iperf-hops.json")")Mbit/s" \
    "forged_sent=$FORGED_SENT forged_arrived=$FORGED_ARRIVED bad_mac1=$FORGED_DROPPED forged_at_backend=$FORGED_AT_BACKEND" \
    "junk_sent=$JUNK_SENT junk_arrived=$JUNK_ARRIVED not_wireguard=$JUNK_DROPPED junk_at_backend=$JUNK_AT_BACKEND" \
    "bytes_back=0"
ph_expect_running "$PH_PORTHOP_PID" porthop
ph_porthop_stop
