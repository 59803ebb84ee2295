#!/bin/bash
# The io_uring build: it serves on io_uring where the kernel allows it, and otherwise (or when
# PORTHOP_EVENT_BACKEND=epoll asks) re-executes the epoll build installed beside it; without
# that file it says so and exits 1 instead of half-starting.
source "$(dirname "$0")/lib.sh"

read -r P BE < <($TOOLS free-ports 2)
cat >"$WORK/server.toml" <<CONF
[server]
listen = ["127.0.0.1"]
udp = ["$P"]
tcp = []
backend = "127.0.0.1:$BE"
[metrics]
listen = ""
CONF
start_echo "$BE"

unset PORTHOP_EVENT_BACKEND
start_porthop "$WORK/server.toml"
if grep -q "server (io_uring," "$WORK/porthop.log"; then ok "io_uring serves when the kernel allows it"
elif grep -q "io_uring is not available here: .*running .*porthop-epoll" "$WORK/porthop.log" &&
     grep -q "server (epoll," "$WORK/porthop.log"; then ok "io_uring unavailable: the epoll build took over"
else bad "start-up names its event backend"; fi
expect "datagrams flow" "$($TOOLS udp 20 "$P")" 20
kill -TERM "$PORTHOP"; wait "$PORTHOP" && ok "SIGTERM: exit 0" || bad "SIGTERM: exit $?"

PORTHOP_EVENT_BACKEND=epoll start_porthop "$WORK/server.toml"
grep -q "PORTHOP_EVENT_BACKEND=epoll; running .*/porthop-epoll" "$WORK/porthop.log" && ok "forced epoll re-executes" ||
    bad "forced epoll re-executes"
grep -q "server (epoll," "$WORK/porthop.log" && ok "the epoll build serves" || bad "the epoll build serves"
expect "datagrams flow on epoll" "$($TOOLS udp 20 "$P")" 20
kill -TERM "$PORTHOP"; wait "$PORTHOP" && ok "SIGTERM: exit 0" || bad "SIGTERM: exit $?"

# Without porthop-epoll beside it, the fallback fails loudly.
cp "$BIN" "$WORK/porthop"
set +e
PORTHOP_EVENT_BACKEND=epoll timeout 10 "$WORK/porthop" server --config "$WORK/server.toml" 2>"$WORK/alone.log"
status=$?
set -e
expect "no fallback binary: exit 1" "$status" 1
grep -q "cannot run $WORK/porthop-epoll" "$WORK/alone.log" && ok "no fallback binary: says which file" ||
    bad "no fallback binary: says which file ($(cat "$WORK/alone.log"))"
finish
