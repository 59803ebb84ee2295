#!/bin/bash
# A router build's relay under qemu-user with no target libraries: the static binary, run by
# qemu with -L at a root that holds nothing but etc/hosts (so the names below are resolved by
# porthop's own resolver from that file, with no glibc, no NSS and no DNS).
#   server: UDP on two ports and a TCP frame through to a UDP echo backend;
#   agent <-> server over the hop link on loopback.
# Usage: smoke_test.sh QEMU PORTHOP      e.g. smoke_test.sh qemu-aarch64-static build-arm64/porthop
QEMU=${1:?usage: $0 QEMU PORTHOP}
TARGET=${2:?usage: $0 QEMU PORTHOP}
command -v "$QEMU" >/dev/null || { echo "FAIL: $QEMU missing (package qemu-user-static)"; exit 1; }
TARGET=$(cd "$(dirname "$TARGET")" && pwd)/$(basename "$TARGET")
# lib.sh runs BIN as a user would; BIN is a wrapper that runs the target binary under qemu.
set -- /nonexistent  # replaced below, once lib.sh has made $WORK
source "$(dirname "$0")/../system/lib.sh"
mkdir -p "$WORK/root/etc"
printf '127.0.0.1 relay.smoke.test\n127.0.0.1 backend.smoke.test\n' >"$WORK/root/etc/hosts"
BIN=$WORK/porthop
printf '#!/bin/sh\nexec %q -L %q %q "$@"\n' "$QEMU" "$WORK/root" "$TARGET" >"$BIN"
chmod +x "$BIN"

expect "the binary runs under $QEMU with no target libraries" "$("$BIN" --version 2>&1)" \
    "$(sed -n 's/.*porthop \([0-9.]*\).*/porthop \1/p' <<<"$("$BIN" --version 2>&1)")"
KEY=$("$BIN" genkey 2>"$WORK/genkey.err") || true
if [[ ${#KEY} -eq 44 ]]; then ok "porthop genkey prints a 44-character key"
else bad "porthop genkey printed '$KEY' $(head -c 200 "$WORK/genkey.err")"; finish || exit 1; fi

read -r P1 P2 T1 B L < <($TOOLS free-ports 5)
cat >"$WORK/server.toml" <<CONF
[server]
listen = ["127.0.0.1"]
udp = ["$P1", "$P2"]
tcp = ["$T1"]
backend = "backend.smoke.test:$B"
key = "$KEY"
[metrics]
listen = ""
CONF
start_echo "$B"
start_porthop "$WORK/server.toml"
# qemu-user does not emulate SO_ATTACH_REUSEPORT_CBPF (nor does Linux before 4.5): porthop
# must then run one worker rather than fail to bind (app/server_setup).
if grep -q "cannot steer clients between workers" "$WORK/porthop.log"; then
    if grep -q "(1 worker," "$WORK/porthop.log"; then ok "no steering program: falls back to 1 worker"
    else bad "no steering program: falls back to 1 worker: $(grep -m1 ' server (' "$WORK/porthop.log")"; fi
fi
if grep -q "backend 127.0.0.1:$B" "$WORK/porthop.log"; then ok "backend name resolved from the hosts file"
else bad "backend name resolved from the hosts file: $(grep -m1 backend "$WORK/porthop.log")"; fi

expect "7 datagrams via udp/$P1 come back" "$($TOOLS udp 7 "$P1" 100)" 7
expect "3 datagrams via udp/$P2 come back" "$($TOOLS udp 3 "$P2" 1400)" 3
# With a key, a TCP connection must open with a hop-link attach or a VPN handshake: a real
# WireGuard handshake initiation (tests/fixtures), u16-framed, comes back from the echo.
tcp_handshake() {
    python3 - "$1" "$(dirname "$0")/../fixtures/wg_handshake_initiation.hex" <<'PY'
import socket, struct, sys
packet = next(bytes.fromhex(l.split(":", 1)[1].strip()) for l in open(sys.argv[2]) if l.startswith("packet:"))
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(struct.pack(">H", len(packet)) + packet)
got = b""
while len(got) < 2 + len(packet):
    chunk = s.recv(4096)
    if not chunk:
        break
    got += chunk
print("echoed" if got == struct.pack(">H", len(packet)) + packet else f"got {len(got)} bytes")
PY
}
expect "a framed WireGuard handshake via tcp/$T1 comes back" "$(tcp_handshake "$T1" 2>&1)" echoed

cat >"$WORK/client.toml" <<CONF
[client]
listen = "127.0.0.1:$L"
server = "relay.smoke.test"
udp = ["$P1", "$P2"]
tcp = ["$T1"]
key = "$KEY"
[client_metrics]
listen = ""
CONF
"$BIN" client --config "$WORK/client.toml" 2>"$WORK/client.log" & PIDS+=($!)
for _ in $(seq 100); do grep -q " client (" "$WORK/client.log" && break; sleep 0.1; done
if grep -q " client (" "$WORK/client.log"; then ok "the agent starts"
else bad "the agent starts: $(tail -5 "$WORK/client.log")"; fi
expect "5 datagrams through agent and hop link come back" "$($TOOLS udp 5 "$L" 200)" 5
if ((failed > 0)); then echo "--- client.log"; tail -20 "$WORK/client.log"; fi
finish
