#!/bin/bash
# The agent's TLS fingerprint, pinned (issue 15): `porthop client` with all UDP unanswered falls
# back to TLS on TCP; a listener here keeps its first flight (the ClientHello) and ja4.py
# computes its JA4. The value is what README ("TLS and the decoy site") documents: Debian 12's
# OpenSSL 3.0, TLS 1.3 only, SNI, ALPN h2 first. A change (an OpenSSL upgrade, a new
# extension) fails here, so the documentation is updated with it. Negative: SNI off (a server
# given as an address, no sni) changes the fingerprint's 'd' to 'i'.
source "$(dirname "$0")/lib.sh"
EXPECTED_JA4=${PORTHOP_EXPECTED_JA4:-t13d0411h2_16476d049b0b_78f1d400d464}

read -r UDP TCP LOCAL < <($TOOLS free-ports 3)
# hello_of NAME SNI_LINE: runs the agent against the listener and prints the JA4 of its hello.
hello_of() {
    local name=$1 sni_line=$2
    python3 - "$TCP" "$WORK/$name.hello" <<'PY' & PIDS+=($!)
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(4)
s.settimeout(20)
c, _ = s.accept()
c.settimeout(3)
data = b""
while len(data) < 5 or len(data) < 5 + int.from_bytes(data[3:5], "big"):
    chunk = c.recv(65536)
    if not chunk:
        break
    data += chunk
open(sys.argv[2], "wb").write(data)
c.close()
PY
    local listener=$!
    cat >"$WORK/$name.toml" <<CONF
[client]
listen = "127.0.0.1:$LOCAL"
server = "127.0.0.1"
udp = ["$UDP"]
tcp = ["$TCP"]
key = "$($BIN genkey)"
tls_pin = "sha256/f0L/G89zjtOpEAngD0nAujnu5Wntx4og0+8RB7HkiQA="
$sni_line
[client_metrics]
listen = ""
CONF
    "$BIN" client --config "$WORK/$name.toml" 2>"$WORK/$name.log" & local agent=$!
    PIDS+=("$agent")
    local i
    for i in $(seq 150); do
        [[ -s $WORK/$name.hello ]] && break
        sleep 0.1
    done
    kill "$agent" 2>/dev/null || true
    wait "$listener" 2>/dev/null || true
    [[ -s $WORK/$name.hello ]] || { echo "no hello captured; agent log:"; tail -5 "$WORK/$name.log"; return 1; }
    python3 "$HERE/ja4.py" "$WORK/$name.hello" >"$WORK/$name.ja4"; cat "$WORK/$name.ja4" >&2; awk '{print $NF}' "$WORK/$name.ja4"
}

got=$(hello_of named 'sni = "vector.test"')
expect "the agent's JA4 (SNI vector.test) is the documented one" "$got" "$EXPECTED_JA4"
got_ip=$(hello_of address '')
expect "without SNI (server given as an address) the fingerprint says 'i'" "${got_ip:0:4}" "t13i"
finish
