#!/bin/bash
# Captures what Debian's nginx 1.22 answers to each probe of capture_http.py, as golden files
# for tests/unit/wire/http_response_test.cpp (wire/http_response must give the same bytes).
#
#   make_http_vectors.sh           rewrites the *.req, *.resp and cases.txt files beside it
#   make_http_vectors.sh --check   captures again into a temporary directory and compares with
#                                  the files beside it, Date masked (tests/system/builtin_site_test.sh)
#
# The nginx runs in the foreground from a temporary prefix, on two free 127.0.0.1 ports, and is
# killed on exit. Its configuration is Debian's default (/etc/nginx/nginx.conf's http block and
# sites-available/default: root, index list, try_files $uri $uri/ =404, gzip on, server_tokens
# on), with logs and temp paths in the prefix. The site is site/index.html alone, its mtime set
# to PAGE_MTIME (the Last-Modified and ETag the unit test expects). A plain listener plays the
# built-in site; an `ssl` listener (tests/vectors/tls/'s certificate) gets plain HTTP.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PAGE_MTIME=1768469400  # 2026-01-15 09:30:00 UTC; http_response_test.cpp's kPageModified

mode=write
[[ ${1:-} == --check ]] && mode=check
command -v nginx >/dev/null || { echo "SKIP: no nginx"; exit 77; }

DIR=$(mktemp -d)
NGINX_PID=""
cleanup() {
    [[ -n $NGINX_PID ]] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
    rm -rf "$DIR"
}
trap cleanup EXIT

# nginx's workers run as nobody when started as root: they must read the prefix.
chmod 755 "$DIR"
mkdir "$DIR/site" "$DIR/tmp" "$DIR/out"
cp "$HERE/site/index.html" "$DIR/site/index.html"
touch -d "@$PAGE_MTIME" "$DIR/site/index.html"

read -r PLAIN TLS < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))')

TLS_DIR=$HERE/../tls
site="root $DIR/site;
        index index.html index.htm index.nginx-debian.html;
        server_name _;
        location / { try_files \$uri \$uri/ =404; }"
cat >"$DIR/nginx.conf" <<CONF
worker_processes 1;
error_log $DIR/error.log;
pid $DIR/nginx.pid;
events { worker_connections 64; }
http {
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    access_log $DIR/access.log;
    gzip on;
    client_body_temp_path $DIR/tmp;
    proxy_temp_path $DIR/tmp;
    fastcgi_temp_path $DIR/tmp;
    uwsgi_temp_path $DIR/tmp;
    scgi_temp_path $DIR/tmp;
    server {
        listen 127.0.0.1:$PLAIN default_server;
        $site
    }
    server {
        listen 127.0.0.1:$TLS ssl default_server;
        ssl_certificate $TLS_DIR/chain.pem;
        ssl_certificate_key $TLS_DIR/leaf.key;
        $site
    }
}
CONF

nginx -p "$DIR" -c "$DIR/nginx.conf" -g 'daemon off;' &
NGINX_PID=$!
for _ in $(seq 50); do
    if python3 -c "import socket,sys; [socket.create_connection(('127.0.0.1', p), 0.2).close() for p in sys.argv[1:]]" \
        "$PLAIN" "$TLS" 2>/dev/null; then
        break
    fi
    sleep 0.1
done
version=$(nginx -v 2>&1)
echo "$version on 127.0.0.1:$PLAIN (plain) and 127.0.0.1:$TLS (ssl)"

if [[ $mode == write ]]; then
    python3 "$HERE/capture_http.py" --plain "$PLAIN" --tls "$TLS" --out "$DIR/out"
    rm -f "$HERE"/*.req "$HERE"/*.resp
    cp "$DIR"/out/* "$HERE/"
    echo "wrote $(ls "$DIR/out" | wc -l) files to $HERE"
else
    python3 "$HERE/capture_http.py" --plain "$PLAIN" --tls "$TLS" --check "$HERE"
fi
