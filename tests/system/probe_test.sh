#!/bin/bash
# The hop link as an active prober sees it (DESIGN.md, "Hop link"): an attach built from the
# spec by hop_probe.py (hashlib only, no porthop code) gets an ack on UDP and on TCP, and
# nothing else gets a byte back: replays, a wrong key, stale epochs, forged frames, random
# datagrams. A TCP connection whose first frame fails authentication is closed silently.
# Then the replay rule across restarts (docs/PROTOCOL.md, "Replay after a restart"): an attach
# kept from before a stop, or before a crash (SIGKILL), gets nothing from the new process, while
# the session's next attach (its agent, still running) is answered.
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
state_file = "$WORK/state"
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

# --- replay after a restart ------------------------------------------------------------------
SESSION=$(od -An -N8 -tx8 /dev/urandom | tr -d ' \n')
attach() {  # attach COUNTER [--issued-offset MS] [--expect silence] [--out FILE]
    local counter=$1
    shift
    $PROBE attach --key "$KEY" --interval "$INTERVAL" --udp "$U1" --session "$SESSION" --counter "$counter" "$@" \
        >"$WORK/attach.out" 2>&1
}
replay() {  # replay FILE
    $PROBE replay --udp "$U1" --in "$1" >"$WORK/attach.out" 2>&1
}
restart() {  # restart SIGNAL
    kill "-$1" "$PORTHOP"
    wait "$PORTHOP" 2>/dev/null || true
    start_porthop "$WORK/server.toml"
}
attach 1 --out "$WORK/kept1" && ok "session $SESSION: attach 1 acked" || bad "attach 1: $(tail -n 3 "$WORK/attach.out")"
restart TERM
grep -qE "remembered [0-9]+ porthop client sessions" "$WORK/porthop.log" && ok "restart after SIGTERM: the session is remembered" ||
    bad "restart after SIGTERM: no 'remembered' line: $(head -c 600 "$WORK/porthop.log")"
replay "$WORK/kept1" && ok "after SIGTERM: the kept attach gets nothing" || bad "after SIGTERM: $(tail -n 3 "$WORK/attach.out")"
sleep 1.2 # the in-flight margin since the stop
attach 2 && ok "after SIGTERM: the session's next attach is acked" || bad "after SIGTERM, attach 2: $(tail -n 3 "$WORK/attach.out")"
replay "$WORK/kept1" && ok "after SIGTERM: the kept attach still gets nothing, the session open" ||
    bad "kept attach with the session open: $(tail -n 3 "$WORK/attach.out")"

# Attach 3 is accepted on the open session, then the process dies before its next periodic save:
# the file has the session as saved when attach 2 opened it (counter 2), with the lease of the
# save (10 s until the next one, 1 s in flight) on its issued floor.
attach 3 --out "$WORK/kept3" && ok "attach 3 acked" || bad "attach 3: $(tail -n 3 "$WORK/attach.out")"
restart KILL
replay "$WORK/kept3" && ok "after SIGKILL: the kept attach gets nothing" || bad "after SIGKILL: $(tail -n 3 "$WORK/attach.out")"
# One the dead process may have accepted after its last save, issued just now: still refused.
attach 4 --expect silence && ok "after SIGKILL: an attach issued within the save's lease gets nothing" ||
    bad "after SIGKILL, attach 4: $(tail -n 3 "$WORK/attach.out")"
# The agent's clock 12 s on (the lease: 10 s to the next save + 1 s in flight): back in. An
# offset stands for the wait.
attach 5 --issued-offset 12000 && ok "after SIGKILL: an attach issued past the lease is acked" ||
    bad "after SIGKILL, attach 5: $(tail -n 3 "$WORK/attach.out")"

kill -TERM "$PORTHOP"
wait "$PORTHOP" && ok "SIGTERM: exit 0" || bad "SIGTERM: exit $?"
finish
