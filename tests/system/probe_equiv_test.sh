#!/bin/bash
# Probe equivalence (issue 15): what a censor's prober gets from porthop's TCP port is what it
# gets from nginx. On loopback: a decoy (probe_equiv.py decoy, HTTP/1.1 with keep-alive, an
# index.html), Debian's nginx 1.22 with an `ssl` listener holding tests/vectors/tls/'s
# certificate and proxying to the decoy (HTTP/1.1), and porthop's server with the same
# certificate, `decoy` set to the same decoy and `native_tcp = false` (the stealth setup).
# probe_equiv.py sends each probe to both and compares the reactions:
#   HTTPS GET / (status, body), GET /missing (status), a TLS 1.3 handshake then silence
#   (version, cipher, ALPN, no bytes, the session tickets' count and sizes, how and when the
#   server closes: nginx's 60 s client_header_timeout, with a close_notify or not), a TLS 1.2
#   handshake (version, cipher, ALPN, and what it shows in clear: the ServerHello's extensions,
#   the ticket's lifetime hint and length), four seeded random byte strings (first byte 0x16,
#   high bit, ASCII, NUL: bytes back with Date masked, closed within 3 s or not, FIN or RST), a
#   silent TCP connection (bytes, how and when closed), plain HTTP to the TLS port (bytes, Date
#   masked; the close), and a browser's 6 connections opened back to back (each one's status).
# The quick probes go one at a time, 0.25 s apart (each judged alone, under porthop's per-source
# rate); the two silent probes wait for the 60 s timeouts, in parallel with the rest (~65 s).
# Negative control (not part of the comparison): a porthop with native_tcp = true (the
# default), which judges non-TLS bytes as framed records, must be told apart from nginx on the
# ASCII probe, so the comparison is shown able to fail.
# Exit 77 (skipped) without nginx; every process started here is killed on exit (lib.sh).
source "$(dirname "$0")/lib.sh"
command -v nginx >/dev/null || { echo "SKIP: no nginx"; exit 77; }
VEC=$HERE/../vectors/tls
PROBE="python3 $HERE/probe_equiv.py"
started=$SECONDS

read -r DECOY NGX U T M BE CU CT CM < <($TOOLS free-ports 9)

# --- the decoy --------------------------------------------------------------------------------
mkdir "$WORK/site"
cp "$HERE/../vectors/http/site/index.html" "$WORK/site/index.html"
$PROBE decoy "$DECOY" "$WORK/site" & PIDS+=($!)

# --- nginx: the same certificate, proxying to the decoy ----------------------------------------
# As make_http_vectors.sh: foreground, a temporary prefix, Debian's http block (ssl_protocols,
# ssl_prefer_server_ciphers); its workers run as nobody when started as root, so the prefix is
# readable.
chmod 755 "$WORK"
mkdir -m 755 "$WORK/nginx"
mkdir -m 777 "$WORK/nginx/tmp"
cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;
error_log $WORK/nginx/error.log;
pid $WORK/nginx/nginx.pid;
events { worker_connections 64; }
http {
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    access_log $WORK/nginx/access.log;
    gzip on;
    client_body_temp_path $WORK/nginx/tmp;
    proxy_temp_path $WORK/nginx/tmp;
    fastcgi_temp_path $WORK/nginx/tmp;
    uwsgi_temp_path $WORK/nginx/tmp;
    scgi_temp_path $WORK/nginx/tmp;
    server {
        listen 127.0.0.1:$NGX ssl default_server;
        ssl_certificate $VEC/chain.pem;
        ssl_certificate_key $VEC/leaf.key;
        server_name _;
        location / {
            proxy_pass http://127.0.0.1:$DECOY;
            proxy_http_version 1.1;
        }
    }
}
CONF
nginx -e "$WORK/nginx/error.log" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' & PIDS+=($!)

# --- porthop: the stealth setup, and the control with native_tcp = true -------------------------
server_config() {  # server_config UDP TCP METRICS NATIVE_TCP
    cat <<CONF
[server]
listen = ["127.0.0.1"]
udp = ["$1"]
tcp = ["$2"]
backend = "127.0.0.1:$BE"
tls_cert = "$VEC/chain.pem"
tls_key = "$VEC/leaf.key"
decoy = "127.0.0.1:$DECOY"
native_tcp = $4
[metrics]
listen = "127.0.0.1:$3"
CONF
}
server_config "$U" "$T" "$M" false >"$WORK/server.toml"
server_config "$CU" "$CT" "$CM" true >"$WORK/control.toml"
start_porthop "$WORK/server.toml"
"$BIN" server --config "$WORK/control.toml" 2>"$WORK/control.log" & PIDS+=($!)

listening() { python3 -c "import socket,sys; [socket.create_connection(('127.0.0.1', int(p)), 0.2).close() for p in sys.argv[1:]]" "$@" 2>/dev/null; }
for _ in $(seq 100); do listening "$DECOY" "$NGX" "$CT" && break; sleep 0.1; done
listening "$DECOY" "$NGX" "$CT" || { echo "the decoy, nginx or the control porthop did not start"; cat "$WORK/nginx/error.log" "$WORK/control.log"; exit 1; }
echo "$(nginx -v 2>&1) on 127.0.0.1:$NGX, porthop on 127.0.0.1:$T (control: $CT), decoy on 127.0.0.1:$DECOY"

# --- negative control: the comparison tells native_tcp = true from nginx -----------------------
status=0
$PROBE compare --ref "$NGX" --test "$CT" --test-name porthop-native-tcp --ca "$VEC/ca.pem" \
    --probes random-ascii >"$WORK/control.out" 2>&1 || status=$?
sed 's/^/  control| /' "$WORK/control.out"
if ((status == 1)) && grep -q '^DIFF: random-ascii bytes' "$WORK/control.out"; then
    ok "negative control: porthop with native_tcp = true is told apart from nginx (ASCII probe)"
else
    bad "negative control: no difference detected (exit $status)"
fi

# --- the comparison ---------------------------------------------------------------------------
status=0
$PROBE compare --ref "$NGX" --test "$T" --ca "$VEC/ca.pem" --quick 3 --long 75 --tolerance 2 \
    >"$WORK/compare.out" 2>&1 || status=$?
cat "$WORK/compare.out"
while read -r line; do
    case $line in
        SAME:*) ok "${line#SAME: }" ;;
        DIFF:*) bad "${line#DIFF: }" ;;
    esac
done <"$WORK/compare.out"
expect "probe_equiv.py compare exit status" "$status" 0
grep -Eq '^(SAME|DIFF): tls-silent at' "$WORK/compare.out" || bad "tls-silent was not compared"
echo "run time: $((SECONDS - started)) s"
finish
