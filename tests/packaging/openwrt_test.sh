#!/bin/bash
# packaging/openwrt: the procd init script, run by sh (dash here, ash on OpenWrt) against
# stand-ins for procd's functions and for porthop, and the router sample configurations
# checked by the real binary. Usage: openwrt_test.sh PORTHOP [SOURCE_DIR]
set -u
BIN=${1:?usage: $0 PORTHOP [SOURCE_DIR]}
SRC=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
INIT=$SRC/packaging/openwrt/porthop.init
WORK=$(mktemp -d /tmp/porthop-openwrt-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
passed=0
failed=0
ok() { echo "PASS: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1"; [[ -n ${2:-} ]] && sed 's/^/  /' <<<"$2"; failed=$((failed + 1)); }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }

for role in client server; do
    out=$("$BIN" check-config "$SRC/packaging/openwrt/$role.toml" 2>&1)
    status=$?
    if [[ $status -eq 0 ]]; then ok "porthop check-config accepts the sample $role.toml"
    else bad "porthop check-config accepts the sample $role.toml" "$out"; fi
done
check "init script: valid sh" sh -n "$INIT"
check "init script: run by /etc/rc.common" test "$(head -1 "$INIT")" = "#!/bin/sh /etc/rc.common"
check "init script: procd" grep -qx 'USE_PROCD=1' "$INIT"
check "init script: executable in the checkout" test -x "$INIT"

# A porthop stand-in: records its arguments; check-config fails for files that contain "bad".
mkdir -p "$WORK/etc"
cat >"$WORK/porthop" <<'STUB'
#!/bin/sh
echo "$*" >>"${0%/*}/porthop.calls"
[ "$1" = check-config ] && grep -q bad "$2" && { echo "bad config" >&2; exit 1; }
exit 0
STUB
chmod +x "$WORK/porthop"
sed -e "s|^PROG=.*|PROG=$WORK/porthop|" -e "s|^ETC=.*|ETC=$WORK/etc|" "$INIT" >"$WORK/init"

# run FUNCTION: sources the script the way rc.common does, with procd's helpers recording
# their calls into $WORK/procd; prints the function's status.
run() {
    rm -f "$WORK/procd" "$WORK/porthop.calls"
    sh -c '
        procd_open_instance() { echo "open $*" >>"$W/procd"; }
        procd_set_param() { echo "param $*" >>"$W/procd"; }
        procd_close_instance() { echo "close" >>"$W/procd"; }
        procd_send_signal() { echo "signal $*" >>"$W/procd"; }
        start() { echo "start" >>"$W/procd"; }
        . "$W/init"
        '"$1"'
        echo "status $?" >>"$W/procd"
    ' 2>"$WORK/stderr"
}
has() { grep -qxF -- "$1" "$WORK/procd"; }
export W=$WORK

echo "[client]" >"$WORK/etc/client.toml"
run start_service
check "client (default): starts porthop client --config .../client.toml" \
    has "param command $WORK/porthop client --config $WORK/etc/client.toml"
check "client: the file was checked first" grep -qxF "check-config $WORK/etc/client.toml" "$WORK/porthop.calls"
check "client: respawn, stdout and stderr to logd" has "param respawn 3600 5 5"
check "client: stderr to logd" has "param stderr 1"
check "client: procd watches the file" has "param file $WORK/etc/client.toml"
check "client: instance closed, status 0" has "status 0"
run reload_service
check "client: reload restarts (no live reload in the agent)" has "start"

echo "ROLE=server" >"$WORK/etc/porthop.conf"
run start_service
check "server: missing server.toml refused" has "status 1"
check "server: ... with a message naming it" grep -qF "$WORK/etc/server.toml missing" "$WORK/stderr"
check "server: ... and no instance" test "$(grep -c '^open' "$WORK/procd")" = 0
echo "[server]" >"$WORK/etc/server.toml"
run start_service
check "server (ROLE=server): starts porthop server --config .../server.toml" \
    has "param command $WORK/porthop server --config $WORK/etc/server.toml"
run reload_service
check "server: reload is SIGHUP (live reload)" has "signal porthop * HUP"

echo "[server] bad" >"$WORK/etc/server.toml"
run start_service
check "server: a file check-config rejects is refused" has "status 1"
check "server: ... and no instance" test "$(grep -c '^open' "$WORK/procd")" = 0
check "server: ... with a message" grep -qF "rejected" "$WORK/stderr"

echo "ROLE=relay" >"$WORK/etc/porthop.conf"
run start_service
check "an unknown ROLE is refused" has "status 1"
check "... naming it" grep -qF "not 'relay'" "$WORK/stderr"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
