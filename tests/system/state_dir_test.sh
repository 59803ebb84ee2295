#!/bin/bash
# Sessions kept across a restart where systemd's StateDirectory= names the place (the packaged
# porthop.service): without a state_file of its own, the server writes $STATE_DIRECTORY/sessions
# at SIGTERM and restores from it at start; without STATE_DIRECTORY (and no state_file) it writes
# nothing. The restart itself, with real WireGuard traffic: restart_test.sh.
source "$(dirname "$0")/lib.sh"

loopback_relay_config
start_echo "$BE"
mkdir -p "$WORK/state"
stop_porthop() {
    kill -TERM "$PORTHOP"
    wait "$PORTHOP" 2>/dev/null || true
}

# Without STATE_DIRECTORY: nothing is kept.
start_porthop "$WORK/server.toml"
expect "a client is served" "$($TOOLS udp 1 "$U")" 1
stop_porthop
expect "no STATE_DIRECTORY, no state_file: nothing written" "$(ls "$WORK/state" | wc -l)" 0

# With it: written at stop, restored at start.
export STATE_DIRECTORY=$WORK/state
start_porthop "$WORK/server.toml"
expect "a client is served" "$($TOOLS udp 1 "$U")" 1
stop_porthop
expect "the session is written to \$STATE_DIRECTORY/sessions" \
    "$(grep -c '^udp ' "$WORK/state/sessions" 2>/dev/null || echo 0)" 1
expect "only root may read it" "$(stat -c %a "$WORK/state/sessions" 2>/dev/null)" 600
start_porthop "$WORK/server.toml"
if wait_for_log "restored 1 sessions from $WORK/state/sessions" 1; then
    ok "the next start restores it"
else
    bad "the next start restores it"
fi
stop_porthop

# A state_file path that holds some other file (a mistaken path): the server does not start,
# and the file is left as it was.
printf '[server]\nlisten = "keep me"\n' >"$WORK/state/sessions"
before=$(sha256sum <"$WORK/state/sessions")
status=0
timeout 10 "$BIN" server --config "$WORK/server.toml" >"$WORK/refused.log" 2>&1 || status=$?
expect "another file at the state_file path: exit 1" "$status" 1
if grep -q "holds something else than porthop's sessions" "$WORK/refused.log"; then
    ok "another file at the state_file path: the error says why"
else
    bad "another file at the state_file path: the error says why: $(tail -n 2 "$WORK/refused.log")"
fi
expect "another file at the state_file path: left unchanged" "$(sha256sum <"$WORK/state/sessions")" "$before"
# Negative: an empty file is taken over.
: >"$WORK/state/sessions"
start_porthop "$WORK/server.toml"
expect "an empty file at the state_file path: the server runs" "$($TOOLS udp 1 "$U")" 1
finish
