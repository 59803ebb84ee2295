#!/bin/bash
# SIGHUP reload with traffic running: a port added starts answering, a port removed goes
# silent, a bad file, an empty or cut-short one, or an unbindable port is rejected with the old
# configuration kept, and the stream on the port that stays never loses a datagram or its
# session.
source "$(dirname "$0")/lib.sh"

read -r A B C D T M BE < <($TOOLS free-ports 7)
# D is held by another socket for the whole test, so a reload that adds it must fail. (A port
# porthop released could be taken by anyone on a busy machine; one held from the start cannot.)
$TOOLS hold-udp "$D" 60 & HOLDER=$!
PIDS+=("$HOLDER")
write_config() {  # write_config UDP_PORTS...
    local udp="" p
    for p in "$@"; do udp+="\"$p\", "; done
    cat >"$WORK/server.toml" <<CONF
[server]
listen = ["127.0.0.1"]
udp = [${udp%, }]
tcp = ["$T"]
backend = "127.0.0.1:$BE"
[metrics]
listen = "127.0.0.1:$M"
CONF
}
reload() {  # reload: SIGHUP and wait for the Nth outcome line
    kill -HUP "$PORTHOP"
    reloads=$((reloads + 1))
    wait_for_log "reload\(ed\| of\)" "$reloads" || { bad "no log line for reload $reloads"; return 1; }
}
reloads=0

start_echo "$BE"
write_config "$A" "$B"
start_porthop "$WORK/server.toml"
$TOOLS stream "$A" 8 50 >"$WORK/stream" & STREAM=$!
PIDS+=("$STREAM")
expect "udp/$B answers before the reload" "$($TOOLS udp 1 "$B")" 1
sleep 0.5

write_config "$A" "$C"
reload
grep -q "reloaded .*+udp 127.0.0.1:$C .*-udp 127.0.0.1:$B" "$WORK/porthop.log" && ok "log names the ports added and removed" ||
    bad "log names the ports added and removed"
expect "added udp/$C answers" "$($TOOLS udp 2 "$C")" 2
expect "removed udp/$B is silent" "$($TOOLS udp 1 "$B")" 0

echo "this is [not toml" >>"$WORK/server.toml"
reload
grep -q "reload of .* rejected, the previous configuration stays" "$WORK/porthop.log" && ok "bad file rejected" ||
    bad "bad file rejected"
expect "udp/$C still answers after the rejected reload" "$($TOOLS udp 1 "$C")" 1

# What a write cut short leaves behind (issue 12): nothing at all, a value cut in the middle, a
# file that stops before its [server] keys. Each is refused; none may run the defaults.
: >"$WORK/server.toml"
reload
grep -q "reload: $WORK/server.toml: the file is empty (no settings); porthop runs on built-in defaults only without --config" \
    "$WORK/porthop.log" && ok "empty file rejected, the log says why" || bad "empty file rejected, the log says why"
expect "udp/$C still answers after the empty file" "$($TOOLS udp 1 "$C")" 1
write_config "$A" "$C"
head -c $(($(stat -c %s "$WORK/server.toml") - 5)) "$WORK/server.toml" >"$WORK/cut" && mv "$WORK/cut" "$WORK/server.toml"
reload
grep -q "reload: $WORK/server.toml:[0-9]*:[0-9]*: TOML syntax" "$WORK/porthop.log" && ok "file cut in a value rejected" ||
    bad "file cut in a value rejected"
printf '# porthop server\n[log]\nlevel = "debug"\n' >"$WORK/server.toml"
reload
grep -q "reload: $WORK/server.toml: server: no \[server\] settings" "$WORK/porthop.log" &&
    ok "file without [server] settings rejected" || bad "file without [server] settings rejected"
expect "udp/$C still answers after three cut files" "$($TOOLS udp 1 "$C")" 1

write_config "$A" "$C" "$D"
reload
grep -q "rejected.*cannot listen on udp 127.0.0.1:$D" "$WORK/porthop.log" && ok "unbindable port rejected" ||
    bad "unbindable port rejected"
expect "udp/$C still answers after the failed bind" "$($TOOLS udp 1 "$C")" 1

wait "$STREAM"
read -r port sent received < <(tr '=' ' ' <"$WORK/stream" | awk '{print $2, $4, $6}')
((sent > 100)) && ok "the stream ran ($sent datagrams)" || bad "the stream ran ($sent datagrams)"
expect "no datagram of the stream on udp/$A was lost across six reloads" "$received" "$sent"
expect "the stream kept one session (one backend address)" \
    "$(grep -c "opened: udp 127.0.0.1:$port " "$WORK/porthop.log")" 1

scrape "$M"
expect "reloads applied" "$(metric 'porthop_reloads_total{result="applied"}')" 1
expect "reloads rejected" "$(metric 'porthop_reloads_total{result="rejected"}')" 5
kill -TERM "$PORTHOP"
wait "$PORTHOP" && ok "SIGTERM: exit 0" || bad "SIGTERM: exit $?"
finish
