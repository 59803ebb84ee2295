#!/bin/bash
# A client configured only from `porthop invite`'s link carries traffic to the server, on
# loopback with a UDP echo backend:
# - invite refuses, with what to do, before the server ever made its self-signed certificate,
#   without [server] key, and on a wildcard listen address without --name;
# - the link (first line of stdout) is not in the server's log; its QR code decodes (zbarimg)
#   to exactly the link; --label ends it with the label, which import's file names;
# - `porthop client --link LINK` with a file that sets only the listen addresses relays 20 of
#   20 datagrams; `porthop import LINK --output` writes a 0600 file that check-config accepts
#   and that relays as well; invite --output writes the same file;
# - damaged links (cut before &mask, hop=5) are refused by import and client naming the field;
#   --output onto an existing file is refused and leaves it as it was.
source "$(dirname "$0")/lib.sh"

KEY=$("$BIN" genkey)
read -r U1 U2 T M BE CL CM CL2 CM2 < <($TOOLS free-ports 9)
mkdir -p "$WORK/state" "$WORK/never"
server_config() {  # server_config STATE_DIR LISTEN [KEY]: a server configuration on stdout
    cat <<CONF
[server]
listen = ["$2"]
udp = ["$U1", "$U2"]
tcp = ["$T"]
backend = "127.0.0.1:$BE"
${3:+key = \"$3\"}
state_file = "$1/sessions"
[metrics]
listen = "127.0.0.1:$M"
CONF
}
server_config "$WORK/state" 127.0.0.1 "$KEY" >"$WORK/server.toml"
server_config "$WORK/never" 127.0.0.1 "$KEY" >"$WORK/never.toml"
server_config "$WORK/state" 127.0.0.1 >"$WORK/nokey.toml"
server_config "$WORK/state" 0.0.0.0 "$KEY" >"$WORK/wildcard.toml"
client_listen() {  # client_listen LISTEN_PORT METRICS_PORT: [client] listen and [client_metrics] only
    printf '[client]\nlisten = "127.0.0.1:%s"\n[client_metrics]\nlisten = "127.0.0.1:%s"\n' "$1" "$2"
}
client_listen "$CL" "$CM" >"$WORK/listen.toml"

# invite_fails NAME PATTERN ARGS...: `porthop invite ARGS` exits 1 and stderr holds PATTERN.
invite_fails() {
    local status=0
    timeout 10 "$BIN" invite "${@:3}" >"$WORK/out" 2>"$WORK/err" || status=$?
    expect "$1: exit 1" "$status" 1
    if grep -qF -- "$2" "$WORK/err"; then ok "$1: the message says '$2'"
    else bad "$1: no '$2' in: $(cat "$WORK/err")"; fi
    [[ ! -s $WORK/out ]] && ok "$1: no link printed" || bad "$1: printed $(head -c 200 "$WORK/out")"
}

# --- refused, with what to do ---------------------------------------------------------------
invite_fails "invite before the server ever started" "start the server once" --config "$WORK/never.toml" --no-qr
[[ ! -e $WORK/never/tls-self-signed.pem ]] && ok "invite made no certificate of its own" ||
    bad "invite wrote $WORK/never/tls-self-signed.pem"
invite_fails "invite without [server] key" "porthop genkey" --config "$WORK/nokey.toml" --no-qr
invite_fails "invite on listen 0.0.0.0 without --name" "--name" --config "$WORK/wildcard.toml" --no-qr

start_echo "$BE"
start_porthop "$WORK/server.toml"
[[ -s $WORK/state/tls-self-signed.pem ]] && ok "the server keeps its self-signed certificate beside the state file" ||
    bad "no $WORK/state/tls-self-signed.pem after the start"

# --- the link -----------------------------------------------------------------------------------
status=0
"$BIN" invite --config "$WORK/server.toml" --no-qr >"$WORK/invite.out" 2>"$WORK/invite.err" || status=$?
expect "invite --no-qr: exit 0" "$status" 0
expect "invite --no-qr: one line on stdout" "$(wc -l <"$WORK/invite.out")" 1
LINK=$(head -1 "$WORK/invite.out")
if [[ $LINK != porthop://127.0.0.1/* ]]; then
    bad "the link: '$LINK' (stderr: $(cat "$WORK/invite.err")); the checks below need one"
    finish || exit 1
fi
ok "the link is porthop://127.0.0.1/..."
[[ $LINK == *"&mask="* ]] && ok "the link ends with its mask field" || bad "no &mask= in '$LINK'"
grep -qF -- "$LINK" "$WORK/invite.err" && bad "the link is on stderr too" || ok "the link is on stdout only"
link_key=$(sed -n 's/.*[?&]key=\([^&]*\).*/\1/p' <<<"$LINK")
[[ -n $link_key ]] && ok "the link holds a key" || bad "no key= in '$LINK'"
if grep -qF -e "$LINK" -e "$link_key" -e "$KEY" "$WORK/porthop.log"; then bad "the link or its key is in the server's log"
else ok "neither the link nor its key is in the server's log"; fi
out=$("$BIN" invite --config "$WORK/wildcard.toml" --name relay.example.net --no-qr 2>/dev/null || true)
[[ $out == porthop://relay.example.net/* ]] && ok "invite --name on a wildcard listen: the link names that host" ||
    bad "invite --name relay.example.net: '$out'"
# --label: the link ends with it (escaped), and the file import writes names it.
labelled=$("$BIN" invite --config "$WORK/server.toml" --label "home VPN ä" --no-qr 2>/dev/null || true)
expect "invite --label: the link ends with the escaped label" "${labelled##*#}" "home%20VPN%20%C3%A4"
expect "invite --label: the rest of the link is the same" "${labelled%#*}" "$LINK"
grep -q "^# porthop client configuration for 127.0.0.1 (home VPN ä), from a share link" \
    <("$BIN" import "$labelled" 2>/dev/null) && ok "import of a labelled link: the file's header names the label" ||
    bad "import of a labelled link: header $("$BIN" import "$labelled" 2>/dev/null | head -1)"
"$BIN" invite --config "$WORK/server.toml" --label "home VPN ä" --no-qr --output "$WORK/labelled.toml" >/dev/null 2>&1 || true
expect "invite --label --output: the file import writes from the labelled link" \
    "$("$BIN" import "$labelled" 2>/dev/null | cmp - "$WORK/labelled.toml" && echo same)" same
status=0
"$BIN" invite --config "$WORK/server.toml" --label $'a\tb' --no-qr >"$WORK/out" 2>"$WORK/err" || status=$?
expect "invite --label with a tab: exit 2 (usage)" "$status" 2
grep -q "^porthop: --label holds control characters" "$WORK/err" && ok "invite --label with a tab: the message says why" ||
    bad "invite --label with a tab: $(head -1 "$WORK/err")"
[[ ! -s $WORK/out ]] && ok "invite --label with a tab: no link printed" || bad "invite --label with a tab: printed a link"

# --- the QR code ---------------------------------------------------------------------------------
"$BIN" invite --config "$WORK/server.toml" >"$WORK/qr.out" 2>/dev/null || bad "invite (with the QR code): exit $?"
expect "invite: the link is still the first line" "$(head -1 "$WORK/qr.out")" "$LINK"
expect "invite: then a blank line" "$(sed -n 2p "$WORK/qr.out")" ""
grep -q $'\e' "$WORK/qr.out" && bad "ANSI escapes in invite's output to a file" || ok "no ANSI escapes when stdout is no tty"
if ! tail -n +3 "$WORK/qr.out" | python3 "$HERE/qr_to_pbm.py" >"$WORK/qr.pbm" 2>"$WORK/qr.err"; then
    bad "the QR code cannot be read as modules: $(cat "$WORK/qr.err")"
elif ! command -v zbarimg >/dev/null; then
    echo "SKIP: QR decoding: zbarimg missing (Debian package zbar-tools)"
else
    expect "the QR code decodes to exactly the link" "$(zbarimg --raw -q "$WORK/qr.pbm" 2>/dev/null)" "$LINK"
fi

# --- a client from the link alone ------------------------------------------------------------
stop_client() {  # stop_client NAME
    kill -TERM "$CLIENT"
    local status=0
    wait "$CLIENT" || status=$?
    expect "$1: SIGTERM: exit 0" "$status" 0
}
if start_client link-client --config "$WORK/listen.toml" --link "$LINK"; then
    grep -q "a share link" "$WORK/link-client.log" && ok "client --link: its start line says it runs from a share link" ||
        bad "client --link: start line: $(head -1 "$WORK/link-client.log")"
    expect "client --link: 20 datagrams via its listen come back from the echo" "$($TOOLS udp 20 "$CL")" 20
    path=$($TOOLS http GET "http://127.0.0.1:$CM/status" | tail -n +2 |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["path"])' 2>&1 || true)
    [[ $path == "udp/$U1" || $path == "udp/$U2" ]] && ok "client --link: on the server's UDP ($path, its /status says)" ||
        bad "client --link: /status path '$path', expected udp/$U1 or udp/$U2"
    grep -qF -e "$link_key" -e "$KEY" "$WORK/link-client.log" && bad "the key is in the client's log" ||
        ok "the key is not in the client's log"
    stop_client link-client
fi

# --- import ----------------------------------------------------------------------------------------
status=0
"$BIN" import "$LINK" --output "$WORK/c.toml" 2>"$WORK/err" || status=$?
expect "import --output: exit 0" "$status" 0
expect "import --output: the file is 0600" "$(stat -c %a "$WORK/c.toml" 2>/dev/null)" 600
status=0
"$BIN" check-config "$WORK/c.toml" >"$WORK/out" 2>&1 || status=$?
expect "check-config on the imported file: exit 0" "$status" 0
((status == 0)) || cat "$WORK/out"
grep -qF "key = \"$KEY\"" "$WORK/c.toml" && ok "the imported file holds the server's key" || bad "the server's key is not in c.toml"
expect "import to stdout gives the same file" "$("$BIN" import "$LINK" 2>/dev/null | cmp - "$WORK/c.toml" && echo same)" same
"$BIN" invite --config "$WORK/server.toml" --no-qr --output "$WORK/invite.toml" >/dev/null 2>&1 || true
expect "invite --output writes the file import writes" "$(cmp "$WORK/invite.toml" "$WORK/c.toml" && echo same)" same
expect "invite --output: the file is 0600" "$(stat -c %a "$WORK/invite.toml" 2>/dev/null)" 600
[[ -f $WORK/c.toml ]] || touch "$WORK/c.toml"  # (failed above) the checks below then fail, not stop
# Run it on its own ports (the file has the default 51820 and 9817, maybe busy on this machine).
sed -e "/^\[client\]/,/^\[/ s|^listen = .*|listen = \"127.0.0.1:$CL2\"|" \
    -e "/^\[client_metrics\]/,/^\[/ s|^listen = .*|listen = \"127.0.0.1:$CM2\"|" "$WORK/c.toml" >"$WORK/c-run.toml"
expect "only the two listen lines differ" "$(diff "$WORK/c.toml" "$WORK/c-run.toml" | grep -c '^>')" 2
if start_client file-client --config "$WORK/c-run.toml"; then
    expect "client from the imported file: 20 datagrams come back" "$($TOOLS udp 20 "$CL2")" 20
    stop_client file-client
fi

# --- refused: damaged links, an existing file ------------------------------------------------------
CUT=${LINK%%&mask*}
HOP5=$(sed 's/\([?&]hop=\)[0-9]*/\15/' <<<"$LINK")
[[ $CUT != "$LINK" && $HOP5 == *"hop=5&"* ]] || bad "could not damage the link '$LINK'"
# refused NAME FIELD COMMAND...: exit 1 and stderr names "field 'FIELD'"
refused() {
    local status=0
    timeout 10 "${@:3}" >"$WORK/out" 2>"$WORK/err" || status=$?
    expect "$1: exit 1" "$status" 1
    if grep -qF "share link: field '$2'" "$WORK/err"; then ok "$1: the message names field '$2'"
    else bad "$1: no \"field '$2'\" in: $(cat "$WORK/err")"; fi
}
refused "import of a link cut before &mask" mask "$BIN" import "$CUT"
refused "import of a link with hop=5" hop "$BIN" import "$HOP5"
refused "client --link cut before &mask" mask "$BIN" client --config "$WORK/listen.toml" --link "$CUT"
refused "client --link with hop=5" hop "$BIN" client --config "$WORK/listen.toml" --link "$HOP5"
grep -q "porthop import: share link: field 'hop'" <("$BIN" import "$HOP5" 2>&1) &&
    ok "import's message: porthop import: share link: field 'hop' ..." || bad "import's message has another form"
echo "# mine" >"$WORK/mine.toml"
onto_existing() {  # onto_existing NAME ARGS...: `porthop ARGS --output mine.toml` refuses
    local status=0
    "$BIN" "${@:2}" --output "$WORK/mine.toml" >/dev/null 2>"$WORK/err" || status=$?
    expect "$1 --output onto an existing file: exit 1" "$status" 1
    grep -q "exists" "$WORK/err" && ok "$1 --output: the message says it exists" || bad "$1 --output: $(cat "$WORK/err")"
    expect "$1 --output: the file is left as it was" "$(cat "$WORK/mine.toml")" "# mine"
}
onto_existing import import "$LINK"
onto_existing invite invite --config "$WORK/server.toml" --no-qr

# --- a pin whose base64 begins with '/' ------------------------------------------------------------
# One certificate in 64 has one ("sha256//..."): a link invite makes for it must import too.
# An operator's certificate (tls_cert) so that invite needs no server start; keys are made
# until one fits (64 tries on average, 1000 at most).
pin_of() { openssl pkey -in "$1" -pubout -outform der 2>/dev/null | openssl dgst -sha256 -binary | base64; }
slash_pin=""
for _ in $(seq 1000); do
    openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/slash.key" 2>/dev/null || break
    b64=$(pin_of "$WORK/slash.key")
    [[ $b64 == /* ]] && { slash_pin=sha256/$b64; break; }
done
if [[ -z $slash_pin ]]; then
    echo "SKIP: a pin beginning with '/': no such key made (openssl missing?)"
else
    openssl req -x509 -new -key "$WORK/slash.key" -subj /CN=porthop.test -days 2 -out "$WORK/slash.pem" 2>/dev/null
    { server_config "$WORK/state" 127.0.0.1 "$KEY"; } | sed "/^state_file/a tls_cert = \"$WORK/slash.pem\"\ntls_key = \"$WORK/slash.key\"" \
        >"$WORK/slash.toml"
    slash_link=$("$BIN" invite --config "$WORK/slash.toml" --no-qr 2>"$WORK/err" || true)
    [[ $slash_link == porthop://* ]] && ok "invite with a certificate pinned $slash_pin: a link" ||
        bad "invite with a certificate pinned $slash_pin: $(cat "$WORK/err")"
    status=0
    "$BIN" import "$slash_link" >"$WORK/slash-client.toml" 2>"$WORK/err" || status=$?
    expect "import of that link: exit 0" "$status" 0
    ((status == 0)) || echo "  import: $(cat "$WORK/err")"
    grep -qF "\"$slash_pin\"" "$WORK/slash-client.toml" && ok "the imported file pins $slash_pin" ||
        bad "the imported file does not pin $slash_pin"
fi

kill -TERM "$PORTHOP"
wait "$PORTHOP" && ok "server: SIGTERM: exit 0" || bad "server: SIGTERM: exit $?"
finish
