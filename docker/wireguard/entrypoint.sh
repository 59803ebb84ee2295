#!/bin/bash
# Brings up the WireGuard interface wg0 with wireguard-go (userspace) and stays in the
# foreground until the container is stopped (SIGTERM/SIGINT) or wireguard-go exits.
#
# Configuration, first match wins:
#  1. A wg-quick style file mounted at $WG_CONFIG (default /etc/wireguard/wg0.conf). Used keys:
#     [Interface] PrivateKey, ListenPort, Address (comma-separated, may repeat), MTU, and every
#     [Peer]. DNS, Table, PreUp/PostUp/PreDown/PostDown and SaveConfig are ignored (this image
#     has no resolvconf, iptables or nft).
#  2. Environment variables:
#     WG_PRIVATE_KEY       this end's private key (`wg genkey`), or
#     WG_PRIVATE_KEY_FILE  a file holding it (default /run/secrets/wg_private_key if it exists)
#     WG_ADDRESS           tunnel address(es) of wg0, comma-separated (e.g. 10.13.13.1/24)
#     WG_LISTEN_PORT       UDP port (default 51820; porthop's backend is 127.0.0.1:51820)
#     WG_PEERS             peers in `wg set` syntax, repeat `peer` for each one:
#                          peer PUBKEY allowed-ips IPS [endpoint HOST:PORT] [persistent-keepalive N] ...
#     WG_MTU               optional MTU of wg0 (wireguard-go's default is 1420)
set -euo pipefail

log() { echo "wg-entrypoint: $*" >&2; }
die() { log "$*"; exit 1; }

WG_CONFIG=${WG_CONFIG:-/etc/wireguard/wg0.conf}
IFACE=wg0
addresses=() mtu=${WG_MTU:-}

[[ -c /dev/net/tun ]] || die "/dev/net/tun is missing: run with --device /dev/net/tun (compose: devices: [/dev/net/tun])"

umask 077
setconf=/run/wg0.setconf
if [[ -f $WG_CONFIG ]]; then
    log "using $WG_CONFIG"
    # Address and MTU are wg-quick keys that `wg setconf` does not know; `wg-quick strip`
    # removes them (and the other wg-quick keys) from the file.
    while IFS='=' read -r key value; do
        value=${value%%#*}
        key=${key//[[:space:]]/} value=${value//[[:space:]]/}
        case ${key,,} in
            address) IFS=, read -ra more <<<"$value"; addresses+=("${more[@]}") ;;
            mtu) mtu=$value ;;
        esac
    done < <(sed -n '/^\[Interface\]/I,/^\[Peer\]/Ip' "$WG_CONFIG")
    # wg-quick strip wants a NAME.conf path or a name under /etc/wireguard
    cp "$WG_CONFIG" /run/wg0.conf
    wg-quick strip /run/wg0.conf >"$setconf"
    rm -f /run/wg0.conf
else
    key_file=${WG_PRIVATE_KEY_FILE:-/run/secrets/wg_private_key}
    if [[ -n ${WG_PRIVATE_KEY:-} ]]; then
        printf '%s\n' "$WG_PRIVATE_KEY" >/run/wg0.key
        key_file=/run/wg0.key
    fi
    [[ -f $key_file ]] || die "no configuration: mount $WG_CONFIG or set WG_PRIVATE_KEY (or WG_PRIVATE_KEY_FILE)"
    [[ -n ${WG_ADDRESS:-} ]] || die "WG_ADDRESS is not set (e.g. 10.13.13.1/24)"
    IFS=, read -ra addresses <<<"${WG_ADDRESS// /}"
    printf '[Interface]\nPrivateKey = %s\nListenPort = %s\n' \
        "$(tr -d '[:space:]' <"$key_file")" "${WG_LISTEN_PORT:-51820}" >"$setconf"
    rm -f /run/wg0.key
fi

# wireguard-go in the foreground (-f) as our child, so that we can stop it and wait for it.
# It creates the TUN device and the UAPI socket that `wg` talks to.
WG_PROCESS_FOREGROUND=1 wireguard-go -f "$IFACE" &
wg_pid=$!
stop() { log "stopping"; kill -TERM "$wg_pid" 2>/dev/null || true; }
trap stop TERM INT
for _ in $(seq 100); do
    [[ -S /var/run/wireguard/$IFACE.sock ]] && break
    kill -0 "$wg_pid" 2>/dev/null || die "wireguard-go exited during start-up"
    sleep 0.1
done
[[ -S /var/run/wireguard/$IFACE.sock ]] || { stop; die "wireguard-go did not create its socket"; }

# (set -e does not apply inside a function called from `if`: every step checks for itself)
configure() {
    wg setconf "$IFACE" "$setconf" || return
    if [[ ! -f $WG_CONFIG && -n ${WG_PEERS:-} ]]; then
        # word splitting is intended: WG_PEERS is a list of `wg set` arguments
        # shellcheck disable=SC2086
        wg set "$IFACE" $WG_PEERS || return
    fi
    local a
    for a in "${addresses[@]}"; do
        [[ -z $a ]] || ip address add "$a" dev "$IFACE" || return
    done
    if [[ -n $mtu ]]; then ip link set "$IFACE" mtu "$mtu" || return; fi
    ip link set "$IFACE" up
}
if ! configure; then
    stop
    wait "$wg_pid" || true
    die "configuring $IFACE failed"
fi
rm -f "$setconf"
log "$IFACE up: address ${addresses[*]:-none}, listen port $(wg show "$IFACE" listen-port), $(wg show "$IFACE" peers | wc -l) peer(s)"

# `wait` returns early when a trapped signal arrives; wait again for wireguard-go to finish.
rc=0
wait "$wg_pid" || rc=$?
kill -0 "$wg_pid" 2>/dev/null && { wait "$wg_pid" || rc=$?; }
log "wireguard-go exited ($rc)"
# a stop we asked for is a clean exit
[[ $rc == 143 || $rc == 130 ]] && rc=0
exit "$rc"
