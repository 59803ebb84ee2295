#!/bin/bash
# Memory on small devices: `porthop server` with one worker and as many listeners as the
# default port set (udp 443, 1194, 40000-40099 and tcp 443 on two addresses: 204 UDP and 2 TCP
# sockets), on free high ports so no root is needed, must stay within LIMIT_KIB of resident
# memory (VmRSS) while idle. Then 1000 sessions are opened (one datagram from each of 1000
# loopback addresses) and the resident memory they add is reported per session (README,
# "Memory on small devices"; docs/BENCHMARKS.md).
#
# The default configuration has TLS on the TCP port: OpenSSL's code pages and the certificate
# add about 3.3 MB of VmRSS, 2.8 MB of it clean file-backed pages (libcrypto's code, shared and
# reclaimable) and about 0.4 MB anonymous; the anonymous memory is printed too.
#
# Usage: memory_test.sh PORTHOP [LIMIT_KIB]   (default 20480 = 20 MiB; it was 16 MiB before TLS)
source "$(dirname "$0")/lib.sh"

LIMIT=${2:-20480}
SESSIONS=1000

read -r -a P < <($TOOLS free-ports 105)
udp=""
for i in $(seq 0 101); do udp+="\"${P[$i]}\", "; done
TCP=${P[102]} METRICS=${P[103]} BACKEND=${P[104]}
# Two addresses like the default ("0.0.0.0" and "::"), on loopback; ::1 only where it exists.
listen='"127.0.0.1", "::1"'
python3 -c 'import socket; socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).bind(("::1", 0))' 2>/dev/null ||
    listen='"127.0.0.1"'
cat >"$WORK/server.toml" <<CONF
[server]
listen = [$listen]
udp = [${udp%, }]
tcp = ["$TCP"]
backend = "127.0.0.1:$BACKEND"
workers = 1
[metrics]
listen = "127.0.0.1:$METRICS"
CONF

# The backend: a bound socket that never reads (the sessions' datagrams just land there).
$TOOLS hold-udp "$BACKEND" 60 & PIDS+=($!)
start_porthop "$WORK/server.toml"
sleep 1  # let start-up allocations settle

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$PORTHOP/status"; }
idle=$(rss)
echo "idle VmRSS: $idle kB ($listen, 102 udp + 1 tcp ports, 1 worker, TLS on); of it anonymous:" \
    "$(awk '/^Anonymous:/ { print $2 }' "/proc/$PORTHOP/smaps_rollup" 2>/dev/null || echo '?') kB"
if ((idle <= LIMIT)); then ok "idle VmRSS $idle kB <= $LIMIT kB"; else bad "idle VmRSS $idle kB above $LIMIT kB"; fi

$TOOLS sessions "$SESSIONS" "${P[0]}" >/dev/null
open=0
deadline=$((SECONDS + 15))  # by time, not by tries: a scrape is slow on a busy machine
while ((SECONDS < deadline)); do
    scrape "$METRICS"
    open=$(metric porthop_sessions)
    ((open >= SESSIONS)) && break
    sleep 0.1
done
expect "$SESSIONS sessions open" "$open" "$SESSIONS"
loaded=$(rss)
per=$(((loaded - idle) * 1024 / SESSIONS))
echo "VmRSS with $SESSIONS sessions: $loaded kB: about $per bytes per session"
# A session is a socket, a table entry and its counters: a few KiB at most in user space.
if ((per <= 8192)); then ok "per-session cost $per bytes <= 8 KiB"; else bad "per-session cost $per bytes above 8 KiB"; fi
finish
