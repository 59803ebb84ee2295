#!/usr/bin/env bash
# Container smoke test of docker/ (ctest: container.smoke, label container).
#
# Uses ../shared/tools/container-smoke.sh (podman + docker-compose v1, offline, with locally
# made debian base images) to build and start both compose projects, then checks them with real
# clients started outside the projects, on the projects' networks:
#
#   docker/compose.yml          porthop's start-up line; a WireGuard client (same image) whose
#                               endpoint is wireguard:443, i.e. porthop: 5 pings to the server's
#                               tunnel address 10.13.13.1 must be answered, porthop must log
#                               "session 1 opened: udp", WireGuard must see the peer at 127.0.0.1
#                               (the relay). Then the client roams to the host's published UDP
#                               40050: 5 more pings, "session 1 moved: udp ... -> port 40050",
#                               no second session and the same endpoint at WireGuard.
#                               Then through a porthop client (the agent) whose UDP goes
#                               unanswered: it falls back to the host's TCP 443, 5 pings, and
#                               porthop server logs the agent's session via tcp.
#   docker/openvpn/compose.yml  porthop's start-up line, OpenVPN's "Initialization Sequence
#                               Completed", then an OpenVPN client with the generated profile's
#                               `remote openvpn 443 tcp-client` (porthop TCP 443 -> UDP-only
#                               server): 5 pings to 10.8.0.1, "session 1 opened: tcp"; then one
#                               with `remote <host> 1194 udp` (host UDP 1194 -> porthop UDP 443).
#   both                        every container still running, none restarted.
#
# Everything created here (containers, networks, volumes, images, temp files) is removed on every
# exit path. The debian base images that container-smoke.sh makes (and anything that was in its
# store before the run) are kept as a cache; PORTHOP_SMOKE_KEEP_IMAGES=1 keeps the images built
# here too, which makes the next run much faster.
#
# Exit: 0 pass, 1 fail, 77 skip (not root, no /dev/net/tun, container-smoke.sh not found).
# Env: CONTAINER_SMOKE (path of container-smoke.sh), WORK (its store, default
#      /tmp/container-smoke), PORTHOP_SMOKE_KEEP_IMAGES.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF=$HERE/$(basename "${BASH_SOURCE[0]}")
REPO=$(cd "$HERE/../.." && pwd)
PATH=$PATH:/usr/sbin:/sbin

WG_PROJECT=phsmokewg
OVPN_PROJECT=phsmokeovpn

log() { printf '[smoke %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

# ------------------------------------------------------------------ helpers for the checks
# has_log CONTAINER ERE / first_log CONTAINER ERE. (Not `grep -q`: it stops reading at the first
# match, `podman logs` then dies of SIGPIPE and pipefail turns the match into a failure.)
has_log() { podman logs "$1" 2>&1 | grep -E -- "$2" >/dev/null; }
first_log() { podman logs "$1" 2>&1 | grep -E -- "$2" | awk 'NR == 1 { print substr($0, 1, 200) }'; }

# wait_log CONTAINER SECONDS ERE: until the container's log matches; fails (printing the log) after
# SECONDS or as soon as the container is no longer running.
wait_log() {
    local c=$1 limit=$2 re=$3 deadline=$((SECONDS + $2))
    until has_log "$c" "$re"; do
        if ((SECONDS >= deadline)) || [[ $(podman inspect --format '{{.State.Status}}' "$c" 2>/dev/null) != running ]]; then
            podman logs "$c" 2>&1 | tail -n 30 | sed "s/^/    $c: /" >&2
            die "$c: no log line matching '$re' within ${limit}s (state: $(podman inspect --format '{{.State.Status}}' "$c" 2>/dev/null || echo gone))"
        fi
        sleep 0.2
    done
}

# ping_through CONTAINER ADDR: 5 replies needed; ping keeps sending for up to 20 s until it has
# them (-w), so the loss of a packet or two while the tunnel comes up does not fail the test.
ping_through() {
    local out
    out=$(podman exec "$1" ping -n -c 5 -i 0.2 -W 2 -w 20 "$2" 2>&1) || { echo "$out" >&2; die "$1: ping $2 failed"; }
    log "  $1 -> $2: $(grep -E 'packets transmitted' <<<"$out"); $(grep -E '^rtt' <<<"$out")"
}

# container_ip CONTAINER: its address on the compose network. Clients get the service name with
# --add-host: this podman setup (CNI without the dnsname plugin) has no DNS for container names.
container_ip() {
    local ip
    ip=$(podman inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$1" | awk '{print $1}')
    [[ -n $ip ]] || die "$1 has no address on its network"
    echo "$ip"
}

# expect_running_project PROJECT: every container of the project runs and never restarted.
expect_running_project() {
    local name state restarts bad=0
    while read -r name state restarts; do
        log "  $name: $state, restarts $restarts"
        [[ $state == running && $restarts == 0 ]] || bad=1
    done < <(podman ps -aq --filter "label=com.docker.compose.project=$1" |
        xargs -r podman inspect --format '{{.Name}} {{.State.Status}} {{.RestartCount}}')
    ((bad == 0)) || die "$1: a container is not running or has restarted"
}

# ------------------------------------------------------------------ SMOKE_CMD: WireGuard
check_wireguard() {
    local p=$WG_PROJECT srv=${WG_PROJECT}_wireguard_1 relay=${WG_PROJECT}_porthop_1 cli=${WG_PROJECT}-client ep ep2 image ip
    # shellcheck disable=SC2064 # expanded now on purpose: $cli is local
    trap "podman rm -f -v -t 0 '$cli' >/dev/null 2>&1 || true" EXIT
    wait_log "$relay" 20 'porthop .* server \('
    log "  $(first_log "$relay" 'porthop .* server \(')"
    wait_log "$srv" 20 'wg0 up'
    # the client runs the server's image (by ID: compose's name for it is an implementation detail)
    image=$(podman inspect --format '{{.Image}}' "$srv")
    ip=$(container_ip "$srv")

    log "WireGuard client on ${p}_default, endpoint wireguard:443 (porthop; wireguard is $ip)"
    podman run -d --pull=never --name "$cli" --network "${p}_default" --add-host "wireguard:$ip" \
        --cap-add NET_ADMIN --device /dev/net/tun \
        -e "WG_PRIVATE_KEY=$SMOKE_WG_CLIENT_KEY" -e WG_ADDRESS=10.13.13.2/24 \
        -e "WG_PEERS=peer $SMOKE_WG_SERVER_PUB allowed-ips 10.13.13.1/32 endpoint wireguard:443 persistent-keepalive 5" \
        "$image" >/dev/null
    wait_log "$cli" 20 'wg0 up'
    ping_through "$cli" 10.13.13.1

    has_log "$relay" 'session 1 opened: udp' || die "porthop did not log 'session 1 opened: udp'"
    log "  $(first_log "$relay" 'session 1 opened: udp')"
    # the server must see the client at the relay's upstream socket, not at the client itself
    ep=$(podman exec "$srv" wg show wg0 endpoints | awk '{print $2}')
    [[ $ep == 127.0.0.1:* ]] || die "WireGuard sees the peer at '$ep', expected 127.0.0.1:* (porthop)"
    log "  WireGuard sees the client at $ep"

    # The published ports, as a client outside the host would use them: roam to the host's UDP
    # 40050 (host.containers.internal is the network's gateway, i.e. the host). porthop finds
    # the session again by the WireGuard index the backend gave it and moves it there, so the
    # replies follow the client and WireGuard keeps seeing the same relay socket.
    log "roaming the client to the host's published UDP 40050 (host.containers.internal)"
    podman exec "$cli" wg set wg0 peer "$SMOKE_WG_SERVER_PUB" endpoint host.containers.internal:40050
    ping_through "$cli" 10.13.13.1
    has_log "$relay" 'session 1 moved: udp .* -> port 40050' ||
        die "porthop did not log 'session 1 moved: udp ... -> port 40050'"
    log "  $(first_log "$relay" 'session 1 moved: udp')"
    ! has_log "$relay" 'session 2 opened' || die "porthop opened a second session for the roaming client"
    ep2=$(podman exec "$srv" wg show wg0 endpoints | awk '{print $2}')
    [[ $ep2 == "$ep" ]] || die "WireGuard's endpoint changed from $ep to $ep2 across the roam"

    # The client agent on TCP 443: porthop client (the porthop image) in the WireGuard client's
    # network namespace, WireGuard's endpoint moved to the agent at 127.0.0.1:51821 (the client
    # container's own WireGuard listens on 51820). The agent's
    # UDP list holds only a port that is not published (40100), so no UDP path ever answers, as
    # on a network that filters all UDP: it must fall back to the host's published TCP 443.
    local agent=${WG_PROJECT}-agent host
    # shellcheck disable=SC2064 # expanded now on purpose
    trap "podman rm -f -v -t 0 '$cli' '$agent' >/dev/null 2>&1 || true" EXIT
    host=$(podman exec "$cli" getent hosts host.containers.internal | awk '{print $1; exit}')
    [[ -n $host ]] || die "host.containers.internal does not resolve in $cli"
    # TLS on 443 with the relay's self-signed certificate, checked by the pin it logged.
    local pin
    pin=$(first_log "$relay" 'tls_pin = "sha256/' | sed -n 's/.*tls_pin = "\(sha256\/[^"]*\)".*/\1/p')
    [[ $pin == sha256/* ]] || die "porthop server did not log its certificate's pin (tls_pin = \"sha256/...\")"
    printf '[client]\nlisten = "127.0.0.1:51821"\nserver = "%s"\nudp = ["40100"]\ntcp = ["443"]\nkey = "%s"\ntls_pin = "%s"\n' \
        "$host" "$SMOKE_HOP_KEY" "$pin" >"$SMOKE_TMP/client.toml"
    chmod 644 "$SMOKE_TMP/client.toml"  # read by uid 999 in the container; a throwaway key
    log "porthop client beside the WireGuard client: server $host (the host), UDP unanswered, TLS on TCP 443 ($pin)"
    podman run -d --pull=never --name "$agent" --network "container:$cli" \
        -v "$SMOKE_TMP/client.toml:/etc/porthop/client.toml:ro" \
        "$(podman inspect --format '{{.Image}}' "$relay")" client --config /etc/porthop/client.toml >/dev/null
    wait_log "$agent" 30 'path: .*-> tcp/443'
    log "  $(first_log "$agent" 'path: .*-> tcp/443')"
    podman exec "$cli" wg set wg0 peer "$SMOKE_WG_SERVER_PUB" endpoint 127.0.0.1:51821
    ping_through "$cli" 10.13.13.1
    has_log "$relay" 'opened: porthop client [0-9a-f]+ via tcp' ||
        die "porthop server did not log a porthop client session via tcp"
    log "  $(first_log "$relay" 'opened: porthop client')"
    expect_running_project "$p"
}

# ------------------------------------------------------------------ SMOKE_CMD: OpenVPN
check_openvpn() {
    local p=$OVPN_PROJECT srv=${OVPN_PROJECT}_openvpn_1 relay=${OVPN_PROJECT}_porthop_1 cli=${OVPN_PROJECT}-client image ip
    # shellcheck disable=SC2064 # expanded now on purpose: $cli is local
    trap "podman rm -f -v -t 0 '$cli' >/dev/null 2>&1 || true" EXIT
    wait_log "$relay" 20 'porthop .* server \('
    log "  $(first_log "$relay" 'porthop .* server \(')"
    wait_log "$srv" 60 'Initialization Sequence Completed'
    image=$(podman inspect --format '{{.Image}}' "$srv")
    ip=$(container_ip "$srv")

    # the generated profile (OVPN_PUBLIC_HOST=openvpn) with only its TCP remote: openvpn:443 tcp-client
    podman exec "$srv" cat /etc/openvpn/pki/client.ovpn | sed -E '/^remote .* udp$/d' >"$SMOKE_TMP/client-tcp.ovpn"
    grep -q '^remote openvpn 443 tcp-client$' "$SMOKE_TMP/client-tcp.ovpn" || die "client.ovpn has no 'remote openvpn 443 tcp-client'"
    log "OpenVPN client on ${p}_default, remote openvpn 443 tcp-client (porthop TCP 443; openvpn is $ip)"
    podman run -d --pull=never --name "$cli" --network "${p}_default" --add-host "openvpn:$ip" \
        --cap-add NET_ADMIN --device /dev/net/tun \
        -v "$SMOKE_TMP/client-tcp.ovpn:/etc/openvpn/client.ovpn:ro" --entrypoint openvpn \
        "$image" --config /etc/openvpn/client.ovpn --disable-dco >/dev/null
    wait_log "$cli" 45 'Initialization Sequence Completed'
    ping_through "$cli" 10.8.0.1

    has_log "$relay" 'session 1 opened: tcp' || die "porthop did not log 'session 1 opened: tcp'"
    log "  $(first_log "$relay" 'session 1 opened: tcp')"
    has_log "$srv" 'Peer Connection Initiated with \[AF_INET\]127\.0\.0\.1:' ||
        die "OpenVPN did not see the client at 127.0.0.1 (porthop)"

    # The host's UDP 1194, published to porthop's UDP 443 (OpenVPN holds 127.0.0.1:1194 inside),
    # as a client outside the host would use it; host.containers.internal is the host.
    podman rm -f -v -t 0 "$cli" >/dev/null
    podman exec "$srv" cat /etc/openvpn/pki/client.ovpn |
        sed -E -e '/^remote .* tcp-client$/d' -e 's/^remote .* udp$/remote host.containers.internal 1194 udp/' \
        >"$SMOKE_TMP/client-udp.ovpn"
    log "OpenVPN client, remote host.containers.internal 1194 udp (host UDP 1194 -> porthop UDP 443)"
    podman run -d --pull=never --name "$cli" --network "${p}_default" \
        --cap-add NET_ADMIN --device /dev/net/tun \
        -v "$SMOKE_TMP/client-udp.ovpn:/etc/openvpn/client.ovpn:ro" --entrypoint openvpn \
        "$image" --config /etc/openvpn/client.ovpn --disable-dco >/dev/null
    wait_log "$cli" 45 'Initialization Sequence Completed'
    ping_through "$cli" 10.8.0.1
    has_log "$relay" 'session [0-9]+ opened: udp .* -> port 443' ||
        die "porthop did not log a udp session on port 443"
    log "  $(first_log "$relay" 'session [0-9]+ opened: udp')"
    expect_running_project "$p"
}

# ------------------------------------------------------------------ main
podman_env() { # the isolated store of container-smoke.sh (exists once it has run)
    [[ -f $WORK/storage.conf && -f $WORK/containers.conf ]] || return 1
    export CONTAINERS_STORAGE_CONF=$WORK/storage.conf CONTAINERS_CONF=$WORK/containers.conf
}

# IDs of every image in the store (intermediate ones too), of every container including
# buildah's working containers (--external); the base images by tag.
all_images() { podman images -a --no-trunc --format '{{.ID}}' | sort -u; }
all_build_containers() { podman ps -a --external --no-trunc --format '{{.ID}}' | sort -u; }
base_images() { podman images -a --no-trunc --format '{{.ID}} {{.Repository}}' | awk '$2 ~ /debian/ {print $1}' | sort -u; }

# remove_leftovers: our client containers and the projects' containers, networks and volumes
# (container-smoke.sh removes the containers and networks itself, but not when it dies in
# `build` or `up`, and never volumes). Also run at the start, after a run that was killed.
remove_leftovers() {
    local p ids
    for p in "$WG_PROJECT" "$OVPN_PROJECT"; do
        podman rm -f -v -t 0 "$p-client" >/dev/null 2>&1 || true
        ids=$(podman ps -aq --filter "label=com.docker.compose.project=$p" 2>/dev/null || true)
        # shellcheck disable=SC2086 # a list of IDs
        [[ -z $ids ]] || podman rm -f -v -t 0 --depend $ids >/dev/null 2>&1 || true
        podman network ls -q --filter "label=com.docker.compose.project=$p" 2>/dev/null |
            xargs -r podman network rm -f >/dev/null 2>&1 || true
        podman volume ls -q --filter "label=com.docker.compose.project=$p" 2>/dev/null |
            xargs -r podman volume rm -f >/dev/null 2>&1 || true
    done
    return 0
}

cleanup() {
    local rc=$? pid ids
    trap - EXIT INT TERM
    set +e
    if podman_env; then
        remove_leftovers
        # container-smoke.sh leaves its API service running when it dies in `build` or `up`
        pid=$(cat "$WORK/podman-service.pid" 2>/dev/null)
        if [[ -n $pid ]] && grep -q 'system.service' "/proc/$pid/cmdline" 2>/dev/null; then
            kill "$pid" 2>/dev/null
            rm -f "$WORK/podman-service.pid" "$WORK/podman.sock"
        fi
        # an interrupted build leaves buildah's working containers behind (they hold images)
        ids=$(comm -23 <(all_build_containers) "$SMOKE_TMP/build-containers-before")
        # shellcheck disable=SC2086 # a list of IDs
        [[ -z $ids ]] || podman rm -f $ids >/dev/null 2>&1
        if [[ ${PORTHOP_SMOKE_KEEP_IMAGES:-0} != 1 ]]; then
            # every image (intermediate build layers too) that is new since the start, except the
            # base images; a few passes because children go before parents
            for _ in 1 2 3 4 5; do
                ids=$(comm -23 <(all_images) <(sort -u "$SMOKE_TMP/images-before" <(base_images)))
                [[ -n $ids ]] || break
                # shellcheck disable=SC2086 # a list of IDs
                podman rmi $ids >/dev/null 2>&1
            done
            [[ -z $ids ]] || log "warning: could not remove images: $ids"
        fi
    fi
    rm -rf "$SMOKE_TMP"
    if ((rc == 0)); then log "PASS ($((SECONDS - T0)) s)"; else log "FAIL (exit $rc after $((SECONDS - T0)) s)"; fi
    exit "$rc"
}

main() {
    T0=$SECONDS
    if [[ $(id -u) != 0 ]]; then echo "container.smoke: SKIP: needs root (podman)"; exit 77; fi
    if [[ ! -c /dev/net/tun ]]; then echo "container.smoke: SKIP: no /dev/net/tun"; exit 77; fi
    local smoke=${CONTAINER_SMOKE:-$REPO/../shared/tools/container-smoke.sh}
    if [[ ! -f $smoke ]]; then echo "container.smoke: SKIP: $smoke not found"; exit 77; fi
    command -v wg >/dev/null || die "wg (wireguard-tools) not found: needed for the test's keys"
    export WORK=${WORK:-/tmp/container-smoke}

    SMOKE_TMP=$(mktemp -d "${TMPDIR:-/tmp}/porthop-container-smoke.XXXXXX")
    export SMOKE_TMP
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    : >"$SMOKE_TMP/images-before"
    : >"$SMOKE_TMP/build-containers-before"
    if podman_env; then
        remove_leftovers
        all_images >"$SMOKE_TMP/images-before"
        all_build_containers >"$SMOKE_TMP/build-containers-before"
    fi
    # container-smoke.sh sets its own podman configuration; do not hand ours down
    unset CONTAINERS_STORAGE_CONF CONTAINERS_CONF

    # throwaway keys; the compose file takes the server's from the environment (as from .env)
    (umask 077; wg genkey >"$SMOKE_TMP/srv.key"; wg genkey >"$SMOKE_TMP/cli.key")
    export WG_SERVER_PRIVATE_KEY WG_SERVER_ADDRESS=10.13.13.1/24 WG_PEERS SMOKE_WG_CLIENT_KEY SMOKE_WG_SERVER_PUB
    WG_SERVER_PRIVATE_KEY=$(<"$SMOKE_TMP/srv.key")
    SMOKE_WG_CLIENT_KEY=$(<"$SMOKE_TMP/cli.key")
    SMOKE_WG_SERVER_PUB=$(wg pubkey <"$SMOKE_TMP/srv.key")
    WG_PEERS="peer $(wg pubkey <"$SMOKE_TMP/cli.key") allowed-ips 10.13.13.2/32"
    export OVPN_PUBLIC_HOST=openvpn # the client profile's remote: the service name on the compose network
    # The WireGuard project's porthop gets docker/server.toml plus a hop-link key (for the agent
    # check), through the compose file's PORTHOP_SERVER_TOML. A key is 32 random bytes in base64.
    export SMOKE_HOP_KEY PORTHOP_SERVER_TOML=$SMOKE_TMP/server.toml
    SMOKE_HOP_KEY=$(openssl rand -base64 32)
    sed "s|^# key = \"...\"|key = \"$SMOKE_HOP_KEY\"|" "$REPO/docker/server.toml" >"$PORTHOP_SERVER_TOML"
    grep -q '^key = ' "$PORTHOP_SERVER_TOML" || die "could not put the key into a copy of docker/server.toml"
    chmod 644 "$PORTHOP_SERVER_TOML"  # read by uid 999 in the container; a throwaway key

    local t
    log "== WireGuard: docker/compose.yml"
    t=$SECONDS
    SMOKE_WAIT=2 PROJECT=$WG_PROJECT SMOKE_CMD="bash '$SELF' check-wireguard" bash "$smoke" compose "$REPO" docker
    log "== WireGuard project passed in $((SECONDS - t)) s"

    log "== OpenVPN: docker/openvpn/compose.yml (porthop image from the build cache)"
    t=$SECONDS
    SMOKE_WAIT=2 PROJECT=$OVPN_PROJECT SMOKE_CMD="bash '$SELF' check-openvpn" bash "$smoke" compose "$REPO" docker/openvpn
    log "== OpenVPN project passed in $((SECONDS - t)) s"
}

case ${1:-} in
    check-wireguard) check_wireguard ;;
    check-openvpn) check_openvpn ;;
    "") main ;;
    *) echo "usage: $0   (check-wireguard and check-openvpn are run by container-smoke.sh)" >&2; exit 2 ;;
esac
