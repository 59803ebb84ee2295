#!/bin/bash
# Runs an OpenVPN server in the foreground.
#
#  - If $OVPN_CONFIG (default /etc/openvpn/server.conf) exists (mount your own), it is used as is.
#    For porthop's sidecar it should contain `proto udp4`, `local 127.0.0.1` and `port 1194`.
#  - Otherwise a server on UDP 127.0.0.1:1194 with tunnel 10.8.0.0/24 (server 10.8.0.1) is
#    started from the PKI in /etc/openvpn/pki (a volume). On first start that PKI is created:
#    a CA, a server and one client certificate (EC P-256) and a tls-crypt key. On every start the
#    client profile /etc/openvpn/pki/client.ovpn is (re)written; its remotes are
#    $OVPN_PUBLIC_HOST port 443 over UDP, then over TCP (porthop turns the TCP connection into
#    datagrams for this UDP-only server).
#    Get it with: docker compose -f docker/openvpn/compose.yml exec -T openvpn cat /etc/openvpn/pki/client.ovpn
#
# Environment: OVPN_PUBLIC_HOST (name or address clients use; default vpn.example.net),
#              OVPN_NETWORK (default "10.8.0.0 255.255.255.0"), OVPN_CONFIG.
set -euo pipefail

log() { echo "ovpn-entrypoint: $*" >&2; }
die() { log "$*"; exit 1; }

OVPN_CONFIG=${OVPN_CONFIG:-/etc/openvpn/server.conf}
OVPN_PUBLIC_HOST=${OVPN_PUBLIC_HOST:-vpn.example.net}
PKI=/etc/openvpn/pki
[[ -c /dev/net/tun ]] || die "/dev/net/tun is missing: run with --device /dev/net/tun (compose: devices: [/dev/net/tun])"

if [[ -f $OVPN_CONFIG ]]; then
    log "using $OVPN_CONFIG"
    cd "$(dirname "$OVPN_CONFIG")"
    exec openvpn --config "$OVPN_CONFIG"
fi

make_pki() {
    local tmp who eku
    tmp=$(mktemp -d "$PKI/.new.XXXXXX")
    log "creating a CA, server and client certificates and a tls-crypt key in $PKI (first start)"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
        -subj /CN=porthop-openvpn-ca -keyout "$tmp/ca.key" -out "$tmp/ca.crt" 2>/dev/null
    for who in server client; do
        eku=serverAuth
        [[ $who == client ]] && eku=clientAuth
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -subj "/CN=porthop-openvpn-$who" -keyout "$tmp/$who.key" -out "$tmp/$who.csr" 2>/dev/null
        openssl x509 -req -in "$tmp/$who.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" \
            -CAcreateserial -days 825 -out "$tmp/$who.crt" 2>/dev/null \
            -extfile <(printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\n' "$eku")
        rm -f "$tmp/$who.csr"
    done
    openvpn --genkey tls-crypt "$tmp/tc.key"
    chmod 600 "$tmp"/*.key
    mv "$tmp"/* "$PKI"/
    rmdir "$tmp"
}

# The client profile is rewritten on every start, so a changed OVPN_PUBLIC_HOST takes effect.
write_profile() {
    {
        printf '%s\n' client "dev tun" nobind "remote-cert-tls server" \
            "# porthop: UDP 443 first (any relay UDP port works: 1194, 40000-40099), then TCP 443" \
            "remote $OVPN_PUBLIC_HOST 443 udp" "remote $OVPN_PUBLIC_HOST 443 tcp-client" \
            "connect-timeout 10" "verb 3"
        printf '<ca>\n%s\n</ca>\n' "$(cat "$PKI/ca.crt")"
        printf '<cert>\n%s\n</cert>\n' "$(cat "$PKI/client.crt")"
        printf '<key>\n%s\n</key>\n' "$(cat "$PKI/client.key")"
        printf '<tls-crypt>\n%s\n</tls-crypt>\n' "$(cat "$PKI/tc.key")"
    } >"$PKI/client.ovpn"
}

mkdir -p "$PKI"
umask 077
[[ -f $PKI/server.crt && -f $PKI/tc.key ]] || make_pki
write_profile
log "client profile: $PKI/client.ovpn (remote $OVPN_PUBLIC_HOST 443 udp, then 443 tcp-client)"

# shellcheck disable=SC2086 # OVPN_NETWORK is "ADDRESS NETMASK"
exec openvpn --dev tun --proto udp4 --local 127.0.0.1 --port 1194 \
    --server ${OVPN_NETWORK:-10.8.0.0 255.255.255.0} --topology subnet \
    --ca "$PKI/ca.crt" --cert "$PKI/server.crt" --key "$PKI/server.key" --dh none \
    --tls-crypt "$PKI/tc.key" --keepalive 10 60 --disable-dco \
    --user nobody --group nogroup --persist-key --persist-tun --verb 3
