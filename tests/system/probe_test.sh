#!/bin/bash
# The hop link as an active prober sees it (DESIGN.md, "Hop link"): an attach built from the
# spec by hop_probe.py (hashlib only, no porthop code) gets an ack on UDP and on TCP, and
# nothing else gets a byte back: replays, a wrong key, stale epochs, forged frames, random
# datagrams. A TCP connection whose first frame fails authentication is closed silently.
# The backend is a silent sink, so whatever the relay hands it as a native client cannot
# come back and be mistaken for (or hide) an answer of the hop link.
source "$(dirname "$0")/lib.sh"

PROBE="python3 $HERE/hop_probe.py"
INTERVAL=10
read -r U1 U2 U3 T M BE < <($TOOLS free-ports 6)
KEY=$("$BIN" genkey 2>"$WORK/genkey.err") || true
if [[ ${#KEY} -eq 44 ]]; then ok "porthop genkey prints a 44-character key"
else bad "porthop genkey printed '$KEY' $(head -c 200 "$WORK/genkey.err")"; finish || exit 1; fi

$PROBE sink "$BE" "$WORK/sink.count" & PIDS+=($!)
cat >"$WORK/server.toml" <<CONF
[server]
listen = ["127.0.0.1"]
udp = ["$U1", "$U2", "$U3"]
tcp = ["$T"]
backend = "127.0.0.1:$BE"
key = "$KEY"
hop_interval = "${INTERVAL}s"
[metrics]
listen = "127.0.0.1:$M"
CONF
start_porthop "$WORK/server.toml"

if $PROBE probe --key "$KEY" --interval "$INTERVAL" --udp "$U1,$U2,$U3" --tcp "$T" >"$WORK/probe.out" 2>&1; then
    ok "hop_probe: $(tail -n 1 "$WORK/probe.out")"
else
    bad "hop_probe: $(tail -n 1 "$WORK/probe.out")"
fi
grep -E '^(PASS|FAIL):' "$WORK/probe.out" | sed 's/^/  /'
grep -qE '^(PASS|FAIL):' "$WORK/probe.out" || cat "$WORK/probe.out"

if ! kill -0 "$PORTHOP" 2>/dev/null; then
    wait "$PORTHOP" && rc=0 || rc=$?
    bad "porthop is no longer running after the probes (exit status $rc)"
    finish || exit 1
fi
# Informational: what reached the backend as native traffic, and the relay's hop-link counters.
echo "backend sink received $(cat "$WORK/sink.count" 2>/dev/null || echo 0) datagram(s) from the relay"
scrape "$M" || true
grep -iE '^porthop_[a-z_]*(hop|attach|auth|ack)[a-z_]*' "$WORK/metrics" 2>/dev/null | grep -v ' 0$' | sed 's/^/  /' || true

kill -TERM "$PORTHOP"
wait "$PORTHOP" && ok "SIGTERM: exit 0" || bad "SIGTERM: exit $?"
finish
