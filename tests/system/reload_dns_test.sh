#!/bin/bash
# SIGHUP with a backend host name whose DNS server is slow (3 s): the name is resolved off the
# event loop, so the stream on an existing session keeps its echoes quick while the reload
# waits, and the new backend applies once the answer comes. A SIGHUP during the lookup is
# queued, not run in parallel; a name that does not resolve is rejected with the old
# configuration kept; a stop while a lookup hangs is not held up by it.
#
# porthop runs in a mount namespace of its own whose /etc/resolv.conf names a DNS server of
# this test on 127.0.77.53 (tools.py slow-dns): that needs root, so without it the test skips.
source "$(dirname "$0")/lib.sh"

if ((EUID != 0)) || ! command -v unshare >/dev/null; then
    echo "SKIP: needs root and unshare (a private /etc/resolv.conf in a mount namespace)"
    exit 77
fi
if ! unshare -m true 2>/dev/null; then
    echo "SKIP: cannot make a mount namespace here"
    exit 77
fi
DNS=127.0.77.53
DELAY=3

read -r A M BE1 BE2 < <($TOOLS free-ports 4)
$TOOLS slow-dns "$DNS" "$DELAY" & PIDS+=($!)
for _ in $(seq 50); do ss -lun | grep -q "$DNS:53 " && break; sleep 0.1; done
ss -lun | grep -q "$DNS:53 " || { echo "the test's DNS server did not start"; exit 1; }
printf 'nameserver %s\noptions timeout:30 attempts:1\n' "$DNS" >"$WORK/resolv.conf"
start_echo "$BE1"
ECHO1=${PIDS[-1]}
start_echo "$BE2"

write_config() {  # write_config BACKEND
    cat >"$WORK/server.toml.new" <<CONF
[server]
listen = ["127.0.0.1"]
udp = ["$A"]
tcp = []
backend = "$1"
workers = 1
[metrics]
listen = "127.0.0.1:$M"
CONF
    mv "$WORK/server.toml.new" "$WORK/server.toml"
}

# As lib.sh's start_porthop, inside the mount namespace with the test's resolv.conf.
write_config "127.0.0.1:$BE1"
unshare -m bash -c 'mount --bind "$1" /etc/resolv.conf && exec "$2" server --config "$3"' _ \
    "$WORK/resolv.conf" "$BIN" "$WORK/server.toml" 2>"$WORK/porthop.log" & PORTHOP=$!
PIDS+=("$PORTHOP")
wait_for_log " server (" 1 || { cat "$WORK/porthop.log"; echo "porthop did not start"; exit 1; }

# 12 s of 50 datagrams/s on one session, across two slow lookups (3 s each).
$TOOLS stream "$A" 12 50 >"$WORK/stream" & STREAM=$!
PIDS+=("$STREAM")
wait_for_log "session 1 opened" 1 || bad "the stream's session opened"
sleep 0.5

write_config "slow.porthop.test:$BE2"
start=$(date +%s%N)
kill -HUP "$PORTHOP"
wait_for_log "reload: resolving backend 'slow.porthop.test' off the event loop" 1 &&
    ok "the lookup runs off the loop (logged)" || bad "the lookup runs off the loop (logged)"
sleep 0.5
kill -HUP "$PORTHOP"  # during the lookup: queued
wait_for_log "SIGHUP: the previous reload is still resolving the backend's address" 1 &&
    ok "a SIGHUP during the lookup is queued, not run in parallel" ||
    bad "a SIGHUP during the lookup is queued, not run in parallel"
expect "one lookup at a time" "$(grep -c "reload: resolving backend" "$WORK/porthop.log")" 1
for _ in $(seq 100); do grep -q "^.*reloaded " "$WORK/porthop.log" && break; sleep 0.1; done
took=$((($(date +%s%N) - start) / 1000000))
grep -q "reloaded $WORK/server.toml:.*backend 127.0.0.1:$BE2 for new sessions" "$WORK/porthop.log" &&
    ok "the new backend applies once the answer comes (after $took ms)" ||
    bad "the new backend applies once the answer comes"
((took >= DELAY * 1000 - 200)) && ok "it waited for the slow DNS server ($took ms)" ||
    bad "it waited for the slow DNS server ($took ms)"
# The queued SIGHUP reads the file again: a second lookup, a second "reloaded" (nothing changed).
wait_for_log "reload: resolving backend" 2 && ok "the queued reload runs after the first" ||
    bad "the queued reload runs after the first"
for _ in $(seq 100); do (($(grep -c "reloaded " "$WORK/porthop.log") >= 2)) && break; sleep 0.1; done
expect "the queued reload applied" "$(grep -c "reloaded " "$WORK/porthop.log")" 2

wait "$STREAM"
read -r port sent received max_rtt < <(tr '=' ' ' <"$WORK/stream" | awk '{print $2, $4, $6, $8}')
((sent > 400)) && ok "the stream ran ($sent datagrams)" || bad "the stream ran ($sent datagrams)"
expect "no datagram of the stream was lost during the lookups" "$received" "$sent"
# Blocked on the loop, the echoes would wait for the DNS server: about 3000 ms.
((max_rtt < 1000)) && ok "echoes stayed quick during the lookups (slowest $max_rtt ms)" ||
    bad "echoes stayed quick during the lookups (slowest $max_rtt ms, the DNS server took ${DELAY}000)"

# New sessions go to the new backend: the old one is gone and a new client still gets echoes.
kill "$ECHO1"
expect "a new session reaches the new backend" "$($TOOLS udp 2 "$A")" 2

# A name the DNS server does not know: rejected, the previous configuration stays.
write_config "nx.porthop.test:$BE1"
kill -HUP "$PORTHOP"
wait_for_log "reload of .* rejected, the previous configuration stays: cannot resolve backend 'nx.porthop.test'" 1 &&
    ok "an unknown name is rejected" || bad "an unknown name is rejected"
expect "the relay still serves after the rejected reload" "$($TOOLS udp 2 "$A")" 2

# A DNS server that never answers: the stop does not wait for it.
write_config "hang.porthop.test:$BE1"
kill -HUP "$PORTHOP"
wait_for_log "reload: resolving backend 'hang.porthop.test'" 1 || bad "the hanging lookup started"
sleep 0.5
start=$(date +%s%N)
kill -TERM "$PORTHOP"
status=0
for _ in $(seq 100); do kill -0 "$PORTHOP" 2>/dev/null || break; sleep 0.05; done
took=$((($(date +%s%N) - start) / 1000000))
if kill -0 "$PORTHOP" 2>/dev/null; then
    bad "SIGTERM during a hanging lookup: still running after $took ms"
else
    wait "$PORTHOP" || status=$?
    expect "SIGTERM during a hanging lookup: exit 0" "$status" 0
    ((took < 3000)) && ok "the stop did not wait for the DNS server ($took ms)" ||
        bad "the stop did not wait for the DNS server ($took ms)"
fi
grep -q "the reload waiting for the backend's address is abandoned" "$WORK/porthop.log" &&
    ok "the abandoned lookup is logged" || bad "the abandoned lookup is logged"
finish
