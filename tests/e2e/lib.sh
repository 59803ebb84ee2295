# shellcheck shell=bash
# Shared helpers for porthop's end-to-end tests (see DESIGN.md, "Testing layers").
#
# A test sources this file, calls ph_init, builds its topology with ph_topology
# and starts daemons with the ph_* helpers. Everything it creates (namespaces,
# processes, files) is registered here and removed by _ph_cleanup on every exit
# path: success, failure, `set -e` abort, Ctrl-C and SIGTERM.
#
# Topology (three network namespaces, no link to the host's own namespace, so
# nothing can leak to the host uplink; the router only knows the two /24s and the two
# /64s, and no namespace has a default route):
#
#   client ns  to-rtr 10.77.1.1 --- 10.77.1.254 to-cli  router ns ("censor")
#                     fd77:1::1 --- fd77:1::fe
#   server ns  to-rtr 10.77.2.1 --- 10.77.2.254 to-srv  router ns
#                     fd77:2::1 --- fd77:2::fe
#
# Every run has both families on the veths (where the kernel has IPv6). The outer transport,
# client -> relay, is IPv4 unless the test runs with PH_FAMILY=6 (ctest: the .ipv6 entries):
# then the relay also listens on the server's IPv6 address, and ph_relay_host and
# ph_relay_endpoint name that address for the client to use.
#
# Exit codes: 0 pass, 1 fail, 77 skip (only: not root, no /dev/net/tun, or PH_FAMILY=6 on a
# kernel without IPv6).

set -euo pipefail

PH_CLI_ADDR=10.77.1.1
PH_RTR_CLI_ADDR=10.77.1.254
PH_RTR_SRV_ADDR=10.77.2.254
PH_SRV_ADDR=10.77.2.1
# Unique local addresses (RFC 4193), never routed beyond the router namespace.
PH_CLI_ADDR6=fd77:1::1
PH_RTR_CLI_ADDR6=fd77:1::fe
PH_RTR_SRV_ADDR6=fd77:2::fe
PH_SRV_ADDR6=fd77:2::1

_PH_PIDS=()     # processes we started, stopped in reverse order
_PH_NSS=()      # namespaces we created
_PH_LOGS=()     # logs worth printing when the test fails
_PH_WG_IFS=()   # wireguard-go interfaces (their UAPI sockets live in the shared /var/run)
_PH_NPING=0     # numbers the logs of foreground ping runs

ph_log() { printf '[%s %s] %s\n' "$(date +%T.%3N)" "${PH_TEST:-e2e}" "$*" >&2; }
ph_die() {
    ph_log "FAIL: $*"
    # A dead relay is the most likely root cause of any traffic failure; say so up front.
    if [[ -n ${PH_PORTHOP_PID:-} ]] && ! _ph_alive "$PH_PORTHOP_PID"; then
        ph_log "note: porthop (pid $PH_PORTHOP_PID) is not running any more; its log follows"
    fi
    # A test may name a command that adds context to any failure (run once, errors ignored).
    if [[ -n ${PH_DIE_HOOK:-} ]]; then
        local hook=$PH_DIE_HOOK
        PH_DIE_HOOK=
        "$hook" || true
    fi
    exit 1
}

# Test-level result lines go to stdout so that CTest's output shows what was measured.
ph_result() { printf '%s: %s\n' "${PH_TEST:-e2e}" "$*"; }

# ph_init NAME: checks the environment, picks per-run names, installs the cleanup trap.
ph_init() {
    PH_TEST=$1
    # ip, nft and sysctl live in sbin, which some non-login root shells leave out of PATH.
    PATH=$PATH:/usr/sbin:/sbin
    PH_FAMILY=${PH_FAMILY:-4}
    [[ $PH_FAMILY == [46] ]] || { echo "$PH_TEST: PH_FAMILY is '$PH_FAMILY', expected 4 or 6" >&2; exit 1; }
    # Without IPv6 in the kernel the namespaces get IPv4 only; a test over IPv6 is skipped then.
    PH_HAVE_IPV6=0
    [[ -d /proc/sys/net/ipv6 ]] && PH_HAVE_IPV6=1
    [[ $PH_FAMILY == 6 ]] && PH_TEST+=.ipv6
    if [[ $(id -u) -ne 0 ]]; then echo "$PH_TEST: SKIP: needs root (network namespaces)"; exit 77; fi
    if [[ ! -c /dev/net/tun ]]; then echo "$PH_TEST: SKIP: no /dev/net/tun"; exit 77; fi
    if [[ $PH_FAMILY == 6 && $PH_HAVE_IPV6 == 0 ]]; then echo "$PH_TEST: SKIP: the kernel has no IPv6"; exit 77; fi
    # Missing tools are a failure, not a skip: CI installs them, and a silent skip would hide
    # a broken CI image.
    local tool
    for tool in ip nft ss jq ping iperf3 timeout openssl wireguard-go wg openvpn; do
        command -v "$tool" >/dev/null || ph_die "required tool '$tool' not found"
    done
    PORTHOP_BIN=${PORTHOP_BIN:-}
    [[ -n $PORTHOP_BIN ]] || ph_die "PORTHOP_BIN is not set (path to the porthop binary)"
    [[ -x $PORTHOP_BIN ]] || ph_die "PORTHOP_BIN=$PORTHOP_BIN is not executable"

    # The PID makes every name unique among concurrent runs (namespaces, TUN devices and the
    # wireguard-go UAPI socket /var/run/wireguard/IF.sock, which all namespaces share).
    PH_ID=$$
    PH_NS_CLI=ph-cli-$PH_ID
    PH_NS_RTR=ph-rtr-$PH_ID
    PH_NS_SRV=ph-srv-$PH_ID
    PH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/porthop-e2e-$PH_TEST-$PH_ID.XXXXXX")
    PH_T0=$SECONDS

    trap _ph_cleanup EXIT
    # The EXIT trap runs on these exits too; 128+signal is the conventional status.
    trap 'exit 130' INT
    trap 'exit 143' TERM
    _ph_reap_stale
}

# A run killed with SIGKILL (e.g. by a CTest timeout) cannot clean up after itself; remove its
# namespaces, processes and temp dir now. Only names of our patterns whose owning PID is gone
# are touched, and temp dirs kept on purpose (PH_KEEP_TMP) are left alone.
_ph_reap_stale() {
    local ns pid d
    for ns in $(ip netns list | awk '{print $1}' | grep -E '^ph-(cli|rtr|srv)-[0-9]+$' || true); do
        pid=${ns##*-}
        _ph_alive "$pid" && continue # a zombie owner counts as dead
        ph_log "removing stale namespace $ns left by dead run $pid"
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || true
        rm -f /var/run/wireguard/wg[cs]"$pid".sock
    done
    for d in "${TMPDIR:-/tmp}"/porthop-e2e-*-[0-9]*.*; do
        [[ -d $d && ! -e $d/.keep ]] || continue
        pid=${d%.*}
        pid=${pid##*-}
        _ph_alive "$pid" || rm -rf "$d"
    done
}

_ph_alive() { # running and not a zombie (state field of /proc/PID/stat, after "(comm) ")
    local st
    # (Not $(<file): under set -e a vanished file there aborts the whole script.)
    { read -r st <"/proc/$1/stat"; } 2>/dev/null || return 1
    st=${st##*) }
    [[ ${st%% *} != Z ]]
}

# _ph_stop_pids PID...: SIGTERM to all (in the given order), up to 3 s grace in total, then
# SIGKILL for the stragglers; every one is reaped so no zombie is left.
_ph_stop_pids() {
    local pid i live
    for pid in "$@"; do _ph_alive "$pid" && kill -TERM "$pid" 2>/dev/null; done
    for ((i = 0; i < 30; i++)); do
        live=0
        for pid in "$@"; do _ph_alive "$pid" && live=1; done
        ((live)) || break
        sleep 0.1
    done
    for pid in "$@"; do
        if _ph_alive "$pid"; then
            ph_log "pid $pid ignored SIGTERM for 3 s, killing it"
            kill -KILL "$pid" 2>/dev/null
        fi
        wait "$pid" 2>/dev/null || true # its status after our SIGTERM says nothing (and set -e)
    done
    return 0
}

_ph_cleanup() {
    local rc=$? i ns f
    trap - EXIT INT TERM
    set +e
    if [[ $rc -ne 0 ]]; then
        for f in "${_PH_LOGS[@]}"; do
            [[ -s $f ]] || continue
            printf '\n----- %s (last 60 lines) -----\n' "${f##*/}" >&2
            tail -n 60 "$f" >&2
        done
    fi
    # Newest first: clients stop before the relay, the relay before the servers.
    local -a newest_first=()
    for ((i = ${#_PH_PIDS[@]} - 1; i >= 0; i--)); do newest_first+=("${_PH_PIDS[i]}"); done
    _ph_stop_pids "${newest_first[@]}"
    # Anything else still inside our namespaces (e.g. a child a daemon forked) dies with them.
    for ns in "${_PH_NSS[@]}"; do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
        ip netns del "$ns" 2>/dev/null || ph_log "could not delete namespace $ns"
    done
    for f in "${_PH_WG_IFS[@]}"; do rm -f "/var/run/wireguard/$f.sock"; done
    # PH_KEEP_TMP=1 keeps configs and logs for a post-mortem.
    if [[ -n ${PH_TMP:-} ]]; then
        if [[ ${PH_KEEP_TMP:-0} == 1 ]]; then
            touch "$PH_TMP/.keep"
            ph_log "kept $PH_TMP"
        else
            rm -rf "$PH_TMP"
        fi
    fi
    if [[ $rc -eq 0 ]]; then
        ph_result "PASS ($((SECONDS - PH_T0)) s)"
    else
        ph_result "FAIL (exit $rc after $((SECONDS - PH_T0)) s)"
    fi
    exit "$rc"
}

# ph_wait_until SECONDS WHAT CMD...: polls CMD every 0.1 s; fails the test after SECONDS.
ph_wait_until() { _ph_poll "" "$@"; }

# ph_wait_ready PID SECONDS WHAT CMD...: the same for a daemon's readiness, but fails at once
# if the daemon exits instead of waiting out the timeout.
ph_wait_ready() { _ph_poll "$@"; }

_ph_poll() {
    local pid=$1 limit=$2 what=$3 deadline
    shift 3
    deadline=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        [[ -z $pid ]] || ph_expect_running "$pid" "process awaited for '$what'"
        ((SECONDS < deadline)) || ph_die "timed out after ${limit}s waiting for: $what"
        sleep 0.1
    done
}

ph_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# ph_spawn NS LOG CMD...: starts CMD in the background inside NS and registers it. `ip netns
# exec` execs CMD in place, so $! is CMD's own PID. Sets PH_PID.
ph_spawn() {
    local ns=$1 log=$2
    shift 2
    ip netns exec "$ns" "$@" >"$log" 2>&1 </dev/null &
    PH_PID=$!
    _PH_PIDS+=("$PH_PID")
    _PH_LOGS+=("$log")
}

# ph_expect_running PID WHAT: fails the test if a daemon died (its log is printed by cleanup).
ph_expect_running() { _ph_alive "$1" || ph_die "$2 (pid $1) is no longer running"; }

# ph_wait_exit PID SECONDS WHAT: waits for a process we spawned to finish; returns its status.
ph_wait_exit() {
    local pid=$1 deadline=$((SECONDS + $2)) rc=0
    while _ph_alive "$pid"; do
        ((SECONDS < deadline)) || ph_die "$3 (pid $pid) still running after $2 s"
        sleep 0.1
    done
    wait "$pid" || rc=$?
    return "$rc"
}

ph_topology() {
    local ns
    for ns in "$PH_NS_CLI" "$PH_NS_RTR" "$PH_NS_SRV"; do
        ip netns add "$ns"
        _PH_NSS+=("$ns")
        ip -n "$ns" link set lo up
        # (A new namespace takes the kernel's defaults, not the host's sysctls; say it anyway.)
        if ((PH_HAVE_IPV6)); then
            ph_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0
        fi
    done
    # Each veth pair is created with its ends directly in the two namespaces, so no interface
    # ever appears in the host namespace.
    ip -n "$PH_NS_CLI" link add to-rtr type veth peer name to-cli netns "$PH_NS_RTR"
    ip -n "$PH_NS_SRV" link add to-rtr type veth peer name to-srv netns "$PH_NS_RTR"
    ip -n "$PH_NS_CLI" addr add "$PH_CLI_ADDR/24" dev to-rtr
    ip -n "$PH_NS_RTR" addr add "$PH_RTR_CLI_ADDR/24" dev to-cli
    ip -n "$PH_NS_RTR" addr add "$PH_RTR_SRV_ADDR/24" dev to-srv
    ip -n "$PH_NS_SRV" addr add "$PH_SRV_ADDR/24" dev to-rtr
    ip -n "$PH_NS_CLI" link set to-rtr up
    ip -n "$PH_NS_RTR" link set to-cli up
    ip -n "$PH_NS_RTR" link set to-srv up
    ip -n "$PH_NS_SRV" link set to-rtr up
    ph_ns "$PH_NS_RTR" sysctl -qw net.ipv4.ip_forward=1
    # Only the other /24 is routed, never a default route.
    ip -n "$PH_NS_CLI" route add 10.77.2.0/24 via "$PH_RTR_CLI_ADDR"
    ip -n "$PH_NS_SRV" route add 10.77.1.0/24 via "$PH_RTR_SRV_ADDR"
    ph_wait_until 5 "client -> server through the router" \
        ph_ns "$PH_NS_CLI" ping -c1 -W1 "$PH_SRV_ADDR"
    ((PH_HAVE_IPV6)) || return 0
    # The same over IPv6: a /64 per link, no duplicate address detection (the addresses are
    # usable at once, and nobody else is on these links), only the other /64 routed.
    ip -n "$PH_NS_CLI" addr add "$PH_CLI_ADDR6/64" dev to-rtr nodad
    ip -n "$PH_NS_RTR" addr add "$PH_RTR_CLI_ADDR6/64" dev to-cli nodad
    ip -n "$PH_NS_RTR" addr add "$PH_RTR_SRV_ADDR6/64" dev to-srv nodad
    ip -n "$PH_NS_SRV" addr add "$PH_SRV_ADDR6/64" dev to-rtr nodad
    ph_ns "$PH_NS_RTR" sysctl -qw net.ipv6.conf.all.forwarding=1
    ip -n "$PH_NS_CLI" route add fd77:2::/64 via "$PH_RTR_CLI_ADDR6"
    ip -n "$PH_NS_SRV" route add fd77:1::/64 via "$PH_RTR_SRV_ADDR6"
    ph_wait_until 5 "client -> server through the router over IPv6" \
        ph_ns "$PH_NS_CLI" ping -6 -c1 -W1 "$PH_SRV_ADDR6"
}

# ph_relay_host: the server's address as the client reaches the relay (PH_FAMILY), bracketed
# for IPv6 as in HOST:PORT. ph_relay_endpoint PORT: HOST:PORT, as `wg show endpoints` prints it.
# ph_client_host: the client's address as the relay sees it (its log's "opened: udp HOST:PORT").
ph_relay_host() { if [[ $PH_FAMILY == 6 ]]; then echo "[$PH_SRV_ADDR6]"; else echo "$PH_SRV_ADDR"; fi; }
ph_relay_endpoint() { echo "$(ph_relay_host):$1"; }
ph_client_host() { if [[ $PH_FAMILY == 6 ]]; then echo "[$PH_CLI_ADDR6]"; else echo "$PH_CLI_ADDR"; fi; }

# --- censor (router) helpers -------------------------------------------------------------
# ph_censor_count_udp PORT...: counts client->server UDP packets per destination port as they
# enter the router (before any blocking rule), so a test can prove which relay port the client
# really used.
ph_censor_count_udp() {
    local rules="" p
    for p in "$@"; do rules+="udp dport $p counter"$'\n'; done
    ph_ns "$PH_NS_RTR" nft -f - <<EOF
table inet phcount {
    chain watch {
        type filter hook forward priority -100; policy accept;
        $rules
    }
}
EOF
}

# ph_censor_signatures: the censor drops what a DPI box matches in VPN traffic (issue 14), each
# rule with a counter of its own, in both directions, for the whole test: WireGuard's message
# headers (type byte and three zero bytes) at offset 0 and, as hop link 0.1 carried them, at
# offset 1; OpenVPN's client hard reset (opcode 0x38, then after the 8-byte session id an empty
# ack array and packet-id 0) and P_DATA_V2 with peer-id 0, at offsets 0 and 1; and hop link
# 0.1's own control frames (01 01 / 02 01, 50 bytes; on TCP 00 32 01 01). Each pattern is 32 bits
# or more, so random bytes hit one about once in 4 billion packets. ph_censor_signature_check
# fails the test if any counter moved. `ph_censor_signatures count` only counts (a control that
# the rules do match real VPN traffic); ph_censor_signature_packets NAME reads one counter.
PH_SIGNATURES=()
ph_censor_signatures() {
    local counters="" rules="" entry name expr action=drop
    [[ ${1:-} == count ]] && action=""
    local -a sigs=(
        "wg_initiation meta l4proto udp @ih,0,32 0x01000000"
        "wg_response meta l4proto udp @ih,0,32 0x02000000"
        "wg_cookie meta l4proto udp @ih,0,32 0x03000000"
        "wg_transport meta l4proto udp @ih,0,32 0x04000000"
        "wg_initiation_at_1 meta l4proto udp @ih,8,32 0x01000000"
        "wg_response_at_1 meta l4proto udp @ih,8,32 0x02000000"
        "wg_transport_at_1 meta l4proto udp @ih,8,32 0x04000000"
        "ovpn_hard_reset meta l4proto udp @ih,0,8 0x38 @ih,72,40 0x0000000000"
        "ovpn_hard_reset_at_1 meta l4proto udp @ih,8,8 0x38 @ih,80,40 0x0000000000"
        "ovpn_data_v2 meta l4proto udp @ih,0,32 0x48000000"
        "ovpn_data_v2_at_1 meta l4proto udp @ih,8,32 0x48000000"
        "hop01_attach udp length 58 @ih,0,16 0x0101"
        "hop01_ack udp length 58 @ih,0,16 0x0201"
        "hop01_tcp_attach meta l4proto tcp @ih,0,32 0x00320101"
    )
    for entry in "${sigs[@]}"; do
        name=sig_${entry%% *}
        expr=${entry#* }
        counters+="    counter $name { }"$'\n'
        rules+="        $expr counter name $name $action"$'\n'
        PH_SIGNATURES+=("$name")
    done
    ph_ns "$PH_NS_RTR" nft -f - <<EOT
table inet phsig {
$counters
    chain forward {
        type filter hook forward priority -50; policy accept;
$rules
    }
}
EOT
    ph_log "censor: dropping ${#sigs[@]} VPN and hop-link 0.1 signatures (table phsig)"
}

ph_censor_signature_packets() {
    ph_ns "$PH_NS_RTR" nft -j list counter inet phsig "$1" | jq '[.nftables[] | select(.counter) | .counter.packets] | add // 0'
}

# ph_censor_signature_check: every signature counter of ph_censor_signatures is still 0.
ph_censor_signature_check() {
    local name packets hit=""
    for name in "${PH_SIGNATURES[@]}"; do
        packets=$(ph_censor_signature_packets "$name")
        ((packets == 0)) || hit+=" $name=$packets"
    done
    [[ -z $hit ]] || ph_die "the censor's signature rules matched:$hit"
    ph_result "censor: none of ${#PH_SIGNATURES[@]} signature rules matched a packet"
}

# ph_censor_block_udp PORT: the censor starts dropping that UDP port in both directions.
ph_censor_block_udp() {
    ph_ns "$PH_NS_RTR" nft -f - <<EOF
table inet phcensor {
    chain filter {
        type filter hook forward priority 0; policy accept;
    }
}
add rule inet phcensor filter udp dport $1 drop
add rule inet phcensor filter udp sport $1 drop
EOF
    ph_log "censor: dropping udp/$1"
}

# ph_censor_udp_packets PORT: packets counted so far for that port.
ph_censor_udp_packets() {
    ph_ns "$PH_NS_RTR" nft -j list table inet phcount | jq --argjson p "$1" '
        [.nftables[] | select(.rule) | .rule.expr
         | select(.[0].match.right == $p) | .[1].counter.packets] | add // 0'
}

# --- captures at the router -------------------------------------------------------------------
# ph_capture_start NAME IFACE: tcpdump in the router's namespace on IFACE (to-cli or to-srv), both
# directions, only traffic to and from the server's address, into $PH_TMP/NAME.pcap; sets PCAP
# and CAPTURE_PID (stopped with the test's other processes, or by ph_capture_stop).
ph_capture_start() {
    PCAP=$PH_TMP/$1.pcap
    ph_spawn "$PH_NS_RTR" "$PH_TMP/tcpdump-$1.log" tcpdump -i "$2" -n -U -s 0 -w "$PCAP" host "$PH_SRV_ADDR"
    CAPTURE_PID=$PH_PID
    ph_wait_ready "$CAPTURE_PID" 5 "tcpdump to start" grep -q "listening on" "$PH_TMP/tcpdump-$1.log"
}
ph_capture_stop() {
    sleep 0.5 # the last packets reach the file (-U writes each packet at once)
    _ph_stop_pids "$CAPTURE_PID"
}

# --- porthop ------------------------------------------------------------------------------
# ph_porthop_start BACKEND UDP_SPECS TCP_SPECS [EXTRA]: runs the relay in the server namespace
# on the server's veth address (with PH_FAMILY=6 its IPv6 address too). Specs are
# space-separated ports or ranges ("443 40000-40009"). EXTRA (optional) is more TOML for the
# [server] table, e.g. the hop-link key. Waits until every port is bound on every address.
# Sets PH_PORTHOP_PID and PH_PORTHOP_LOG. A test running two relays names each with
# PH_PORTHOP_NAME (its config and log files; default porthop).
ph_porthop_start() {
    local backend=$1 udp=$2 tcp=$3 extra=${4:-} conf=$PH_TMP/${PH_PORTHOP_NAME:-porthop}.toml spec listen
    _ph_toml_list() { local s out=""; for s in $1; do out+="${out:+, }\"$s\""; done; echo "[$out]"; }
    listen="\"$PH_SRV_ADDR\""
    [[ $PH_FAMILY == 6 ]] && listen+=", \"$PH_SRV_ADDR6\""
    cat >"$conf" <<EOF
[server]
listen = [$listen]
udp = $(_ph_toml_list "$udp")
tcp = $(_ph_toml_list "$tcp")
backend = "$backend"
idle_timeout = "3m"
max_sessions = 1024
$extra
EOF
    # Reject a config problem here with the tool's own message, instead of as a listen timeout.
    "$PORTHOP_BIN" check-config "$conf" >"$PH_TMP/check-config.out" 2>&1 ||
        { cat "$conf" "$PH_TMP/check-config.out" >&2; ph_die "porthop check-config rejected the config"; }
    PH_PORTHOP_LOG=$PH_TMP/${PH_PORTHOP_NAME:-porthop}.log
    ph_spawn "$PH_NS_SRV" "$PH_PORTHOP_LOG" "$PORTHOP_BIN" server --config "$conf"
    PH_PORTHOP_PID=$PH_PID
    for spec in $udp; do _ph_wait_bound u "${spec%-*}"; _ph_wait_bound u "${spec#*-}"; done
    for spec in $tcp; do _ph_wait_bound t "${spec%-*}"; _ph_wait_bound t "${spec#*-}"; done
    ph_log "porthop (pid $PH_PORTHOP_PID) listening: udp [$udp] tcp [$tcp] -> $backend"
}

# _ph_listening NS u|t ADDR:PORT: a bound UDP socket / listening TCP socket at ADDR:PORT in NS
# (a fixed string: an IPv6 address is written in brackets).
_ph_listening() { ph_ns "$1" ss -Hln"$2" | awk '{print $4}' | grep -Fqx "$3"; }

_ph_wait_bound() { # u|t PORT: porthop has bound PORT on the server address(es)
    ph_wait_ready "$PH_PORTHOP_PID" 10 "porthop to bind $1 port $2" \
        _ph_listening "$PH_NS_SRV" "$1" "$PH_SRV_ADDR:$2"
    [[ $PH_FAMILY == 6 ]] || return 0
    ph_wait_ready "$PH_PORTHOP_PID" 10 "porthop to bind $1 port $2 on $PH_SRV_ADDR6" \
        _ph_listening "$PH_NS_SRV" "$1" "[$PH_SRV_ADDR6]:$2"
}

# ph_porthop_stop: SIGTERM must make the relay exit cleanly (status 0) within 5 s.
ph_porthop_stop() {
    local i rc=0
    ph_expect_running "$PH_PORTHOP_PID" porthop
    kill -TERM "$PH_PORTHOP_PID"
    for ((i = 0; i < 50; i++)); do _ph_alive "$PH_PORTHOP_PID" || break; sleep 0.1; done
    _ph_alive "$PH_PORTHOP_PID" && ph_die "porthop did not exit within 5 s of SIGTERM"
    wait "$PH_PORTHOP_PID" || rc=$?
    [[ $rc -eq 0 ]] || ph_die "porthop exited with status $rc after SIGTERM (expected 0)"
    ph_result "porthop exited cleanly on SIGTERM"
}

# --- WireGuard (userspace wireguard-go) ----------------------------------------------------
# ph_wg_keys NAME: writes $PH_TMP/NAME.key and NAME.pub.
ph_wg_keys() {
    (umask 077 && wg genkey >"$PH_TMP/$1.key")
    wg pubkey <"$PH_TMP/$1.key" >"$PH_TMP/$1.pub"
}

# ph_wg_up NS IF ADDR/PREFIX WG-SET-ARGS...: starts wireguard-go for IF inside NS, configures
# it with `wg set IF WG-SET-ARGS...` and brings it up with ADDR.
ph_wg_up() {
    local ns=$1 ifname=$2 addr=$3
    shift 3
    _PH_WG_IFS+=("$ifname")
    # -f keeps it in the foreground so that we own its PID (env execs in place, so the PID is
    # wireguard-go's); verbose logging shows handshakes.
    ph_spawn "$ns" "$PH_TMP/wireguard-go-$ifname.log" \
        env WG_PROCESS_FOREGROUND=1 LOG_LEVEL=verbose wireguard-go -f "$ifname"
    ph_wait_ready "$PH_PID" 5 "wireguard-go $ifname UAPI socket" test -S "/var/run/wireguard/$ifname.sock"
    ph_ns "$ns" wg set "$ifname" "$@"
    ip -n "$ns" addr add "$addr" dev "$ifname"
    ip -n "$ns" link set "$ifname" up
}

# ph_wg_handshakes IF: handshakes completed so far by this wireguard-go instance, from its
# verbose log (wg show only keeps the latest timestamp).
ph_wg_handshakes() {
    grep -cE 'Received handshake (response|initiation)' "$PH_TMP/wireguard-go-$1.log" || true
}

# --- OpenVPN --------------------------------------------------------------------------------
# ph_ovpn_pki: a throwaway CA plus server and client certificates (P-256, valid 2 days) in
# $PH_TMP/pki. EKUs are set so that `--remote-cert-tls server` is satisfied.
ph_ovpn_pki() {
    local d=$PH_TMP/pki who eku
    mkdir -p "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj /CN=porthop-e2e-ca -keyout "$d/ca.key" -out "$d/ca.crt" 2>"$d/openssl.log"
    for who in server client; do
        eku=serverAuth
        [[ $who == client ]] && eku=clientAuth
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -subj "/CN=porthop-e2e-$who" -keyout "$d/$who.key" -out "$d/$who.csr" 2>>"$d/openssl.log"
        openssl x509 -req -in "$d/$who.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
            -days 2 -out "$d/$who.crt" 2>>"$d/openssl.log" \
            -extfile <(printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\n' "$eku")
    done
}

# ph_ovpn_wrap_key WRAP: for WRAP tls-auth or tls-crypt, a fresh static key shared by both ends
# ($PH_TMP/pki/WRAP.key, from `openvpn --genkey WRAP`); nothing for none.
ph_ovpn_wrap_key() {
    case $1 in
        none) ;;
        tls-auth | tls-crypt)
            (umask 077 && openvpn --genkey "$1" "$PH_TMP/pki/$1.key" >"$PH_TMP/pki/genkey-$1.log" 2>&1) ||
                { cat "$PH_TMP/pki/genkey-$1.log" >&2; ph_die "openvpn --genkey $1 failed"; } ;;
        *) _ph_ovpn_check_wrap "$1" ;;
    esac
}

# Options common to both ends: our PKI, no DCO kernel module (none here), logs to a file whose
# lines start with the time to the microsecond (--machine-readable-output: "SEC.USEC FLAGS
# message"), and the control-channel wrapping WRAP (none, tls-auth, tls-crypt; the key from
# ph_ovpn_wrap_key; tls-auth key direction 0 on the server, 1 on the client).
_ph_ovpn_common() { # NAME WRAP
    local d=$PH_TMP/pki
    printf '%s\n' --ca "$d/ca.crt" --disable-dco --dev-type tun --verb 3 --machine-readable-output \
        --log "$PH_TMP/openvpn-$1.log" --writepid "$PH_TMP/openvpn-$1.pid"
    case $2 in
        none) ;;
        tls-auth) printf '%s\n' --tls-auth "$d/tls-auth.key" "$([[ $1 == server ]] && echo 0 || echo 1)" ;;
        tls-crypt) printf '%s\n' --tls-crypt "$d/tls-crypt.key" ;;
    esac
}
_ph_ovpn_check_wrap() {
    [[ $1 == @(none|tls-auth|tls-crypt) ]] ||
        ph_die "unknown OpenVPN control-channel wrapping '$1' (none, tls-auth or tls-crypt)"
}

# ph_ovpn_server NS DEV LOCAL PORT [WRAP]: OpenVPN in server mode on UDP LOCAL:PORT, tunnel
# 10.79.0.0/24 (server 10.79.0.1, the first client gets 10.79.0.2). WRAP (default none) as in
# _ph_ovpn_common; call ph_ovpn_wrap_key WRAP first.
ph_ovpn_server() {
    local ns=$1 dev=$2 local_addr=$3 port=$4 wrap=${5:-none} d=$PH_TMP/pki
    local -a common
    _ph_ovpn_check_wrap "$wrap"
    mapfile -t common < <(_ph_ovpn_common server "$wrap")
    ph_spawn "$ns" "$PH_TMP/openvpn-server.out" openvpn "${common[@]}" \
        --dev "$dev" --proto udp4 --local "$local_addr" --port "$port" \
        --server 10.79.0.0 255.255.255.0 --topology subnet \
        --cert "$d/server.crt" --key "$d/server.key" --dh none --keepalive 10 60
    _PH_LOGS+=("$PH_TMP/openvpn-server.log")
    PH_OVPN_SERVER_PID=$PH_PID
    ph_wait_ready "$PH_PID" 10 "openvpn server initialization" \
        grep -q 'Initialization Sequence Completed' "$PH_TMP/openvpn-server.log"
}

# ph_ovpn_client NS DEV PROTO REMOTE PORT [WRAP]: OpenVPN client (PROTO udp4 or tcp4-client);
# waits until the tunnel is up (TLS handshake done, address pushed and configured). WRAP as for
# ph_ovpn_server. Sets PH_OVPN_INIT_S: seconds from the client's first log line to its
# "Initialization Sequence Completed" (its own microsecond timestamps, 3 decimals).
ph_ovpn_client() {
    local ns=$1 dev=$2 proto=$3 remote=$4 port=$5 wrap=${6:-none} d=$PH_TMP/pki
    local -a common
    _ph_ovpn_check_wrap "$wrap"
    mapfile -t common < <(_ph_ovpn_common client "$wrap")
    ph_spawn "$ns" "$PH_TMP/openvpn-client.out" openvpn "${common[@]}" \
        --client --dev "$dev" --proto "$proto" --remote "$remote" "$port" --nobind \
        --cert "$d/client.crt" --key "$d/client.key" --remote-cert-tls server \
        --connect-retry 1 --connect-timeout 5
    _PH_LOGS+=("$PH_TMP/openvpn-client.log")
    PH_OVPN_CLIENT_PID=$PH_PID
    ph_wait_ready "$PH_PID" 20 "openvpn client 'Initialization Sequence Completed'" \
        grep -q 'Initialization Sequence Completed' "$PH_TMP/openvpn-client.log"
    PH_OVPN_INIT_S=$(ph_ovpn_log_span "$PH_TMP/openvpn-client.log" '' 'Initialization Sequence Completed')
}

# ph_ovpn_log_time LOG PATTERN: the timestamp (unix seconds) of the first line of LOG (written
# with --machine-readable-output) matching the extended regex PATTERN ('' = the first line).
ph_ovpn_log_time() {
    awk -v p="$2" '$1 ~ /^[0-9]+\.[0-9]+$/ && (p == "" || $0 ~ p) { print $1; exit }' "$1"
}

# ph_ovpn_log_span LOG FROM TO: seconds (3 decimals) from the first line matching FROM to the
# first matching TO, as ph_ovpn_log_time; "?" if either is missing.
ph_ovpn_log_span() {
    local a b
    a=$(ph_ovpn_log_time "$1" "$2")
    b=$(ph_ovpn_log_time "$1" "$3")
    if [[ -n $a && -n $b ]]; then awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f\n", b - a }'; else echo '?'; fi
}

# --- traffic --------------------------------------------------------------------------------
# ph_ping_start NS ADDR COUNT INTERVAL LOG: a ping stream in the background; ping's own -w
# deadline bounds it. Sets PH_PID.
ph_ping_start() {
    local ns=$1 addr=$2 count=$3 interval=$4 log=$5
    ph_spawn "$ns" "$log" ping -n -q -c "$count" -i "$interval" -W 1 \
        -w "$(awk -v c="$count" -v i="$interval" 'BEGIN { printf "%d", c * i + 5 }')" "$addr"
}

# ph_ping_check LOG MAX_LOSS_PCT: reports loss and rtt of a finished stream.
ph_ping_check() {
    local out loss
    out=$(<"$1")
    loss=$(_ph_ping_loss "$out")
    ph_result "ping: $(sed -nE 's/^([0-9]+) packets transmitted.*/\1/p' <<<"$out") sent," \
        "${loss}% loss, $(_ph_ping_rtt "$out")"
    ((loss <= $2)) || { echo "$out" >&2; ph_die "ping loss ${loss}% > ${2}%"; }
}

# ph_ping NS ADDR COUNT MAX_LOSS_PCT: COUNT pings 0.1 s apart, in the foreground.
ph_ping() {
    local log=$PH_TMP/ping-$((++_PH_NPING)).log
    ph_ping_start "$1" "$2" "$3" 0.1 "$log"
    ph_wait_exit "$PH_PID" $(($3 / 10 + 15)) ping || true # the summary says what happened
    ph_ping_check "$log" "$4"
}

_ph_ping_loss() { # integer % loss from ping's summary (100 if there is no summary)
    local l
    l=$(sed -nE 's/.* ([0-9.]+)% packet loss.*/\1/p' <<<"$1")
    printf '%.0f\n' "${l:-100}"
}
_ph_ping_rtt() { sed -nE 's/^rtt (.*)/rtt \1/p' <<<"$1"; }

# ph_iperf_server NS ADDR: iperf3 server bound to the tunnel address.
ph_iperf_server() {
    ph_spawn "$1" "$PH_TMP/iperf3-server.log" iperf3 -s -B "$2"
    ph_wait_ready "$PH_PID" 5 "iperf3 server on $2:5201" _ph_listening "$1" t "$2:5201"
}

# ph_iperf_start NS ADDR SECONDS JSON: a TCP iperf3 run (client -> server) in the background,
# 1 s intervals, JSON report to the file JSON. Sets PH_PID.
ph_iperf_start() {
    ph_spawn "$1" "$4.stderr" iperf3 -c "$2" -t "$3" -i 1 -J --logfile "$4" --connect-timeout 5000
}

# ph_iperf_check JSON: prints the received rate; fails on an iperf3 error or zero throughput.
ph_iperf_check() {
    local json=$1 err
    err=$(jq -r '.error // empty' "$json" 2>/dev/null) || err="no JSON report: $(head -c 300 "$json")"
    [[ -z $err ]] || ph_die "iperf3 failed: $err"
    ph_result "iperf3 $(jq -r '.start.connected[0].remote_host' "$json"):" \
        "$(_ph_mbps "$(jq '.end.sum_received.bits_per_second' "$json")") Mbit/s received," \
        "$(jq '.end.sum_sent.retransmits' "$json") retransmits," \
        "per second: $(jq -r '[.intervals[].sum.bits_per_second / 1e6 | floor] | join(" ")' "$json")"
    jq -e '.end.sum_received.bytes > 0' "$json" >/dev/null || ph_die "iperf3 moved no data"
}

# ph_iperf NS ADDR SECONDS JSON: one run in the foreground, checked.
ph_iperf() {
    ph_iperf_start "$@"
    ph_wait_exit "$PH_PID" $(($3 + 15)) "iperf3 client" || true # the report says why
    ph_iperf_check "$4"
}

_ph_mbps() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }

# --- the relay's metrics -------------------------------------------------------------------
PH_RELAY_METRICS=127.0.0.1:9816 # the relay's /metrics (its default), inside the server namespace

# ph_relay_metric FAMILY [LABEL]: the sum of the relay's samples of FAMILY whose labels contain
# LABEL (e.g. 'reason="amplification"'); fails if there is none, so that a renamed metric cannot
# pass as 0.
ph_relay_metric() {
    local body
    body=$(_ph_http_get "$PH_NS_SRV" "http://$PH_RELAY_METRICS/metrics") ||
        ph_die "the relay's metrics endpoint does not answer"
    awk -v f="$1" -v l="${2:-}" '
        index($0, f) == 1 && substr($0, length(f) + 1) ~ /^[{ ]/ && (l == "" || index($0, "{") && index($0, l)) {
            s += $NF; n++
        }
        END { if (!n) exit 1; printf "%d\n", s }' <<<"$body" || ph_die "the relay's metrics have no sample $1{${2:-}}"
}

# _ph_ovpn_relay_counters: on a failure, the relay's native-client counters and how long the
# client has been running, so that a stalled handshake shows whether the reply cap held it back.
_ph_ovpn_relay_counters() {
    local body
    [[ -n ${PH_PORTHOP_PID:-} ]] && _ph_alive "$PH_PORTHOP_PID" || return 0
    body=$(_ph_http_get "$PH_NS_SRV" "http://$PH_RELAY_METRICS/metrics" 2>/dev/null) || return 0
    ph_log "relay counters: $(grep -E '^porthop_(drops_total\{reason="(amplification|not_openvpn|handshake_rate)"\}|native_sessions_validated_total|sessions_opened_total) ' <<<"$body" | paste -sd' ')"
    [[ -s $PH_TMP/openvpn-client.log ]] &&
        ph_log "openvpn client: started $(awk -v n="$EPOCHREALTIME" '$1 ~ /^[0-9]+\.[0-9]+$/ {
            printf "%.3f", n - $1; exit }' "$PH_TMP/openvpn-client.log")s ago," \
            "$(grep -c 'Initialization Sequence Completed' "$PH_TMP/openvpn-client.log" || true) initialization(s)"
    return 0
}

# --- OpenVPN scenario shared by openvpn_udp.sh and openvpn_tcp.sh ----------------------------
# ph_openvpn_through_relay PROTO [WRAP [RELAY_TOML]]: a real OpenVPN 2.6 server on UDP
# 127.0.0.1:1194 in the server namespace (unreachable from outside, so the relay is the only way
# in) and an unmodified client with `--proto PROTO` (udp4 or tcp4-client) whose remote is relay
# port 443. WRAP (none, tls-auth or tls-crypt; default none) wraps both ends' control channel;
# RELAY_TOML is more [server] TOML for the relay (e.g. 'protocol = "openvpn"'). Ping and iperf3
# through the tunnel; neither end may have to reconnect. Then the relay's native-client checks
# are reported from its metrics: drops for amplification and not_openvpn (the latter must be 0:
# everything here is real OpenVPN) and validated sessions (over UDP at least 1: the client must
# have shown it receives at its address, whatever the wrapping). The client's time from start to
# "Initialization Sequence Completed" is reported with the amplification drops at that moment.
ph_openvpn_through_relay() {
    local proto=$1 wrap=${2:-none} extra=${3:-} srv_tun=10.79.0.1 peer
    local amp_init amp not_ovpn validated
    PH_DIE_HOOK=_ph_ovpn_relay_counters
    ph_topology
    ph_ovpn_pki
    ph_ovpn_wrap_key "$wrap"
    ph_ovpn_server "$PH_NS_SRV" "tuns$PH_ID" 127.0.0.1 1194 "$wrap"
    ph_porthop_start 127.0.0.1:1194 "443 1194 40000-40009" "443" "$extra"
    ph_ovpn_client "$PH_NS_CLI" "tunc$PH_ID" "$proto" "$PH_SRV_ADDR" 443 "$wrap"
    amp_init=$(ph_relay_metric porthop_drops_total 'reason="amplification"')
    ph_log "tunnel up: $(grep -m1 -oE 'net_addr_v4_add: [0-9./]+' "$PH_TMP/openvpn-client.log" || true)"
    ph_result "$proto, $wrap, relay ${extra:-(defaults)}: client initialized ${PH_OVPN_INIT_S}s after" \
        "its start (TLS done after $(ph_ovpn_log_span "$PH_TMP/openvpn-client.log" '' \
        'Peer Connection Initiated')s); $amp_init amplification drop(s) by then"
    # Without loss this takes tens of milliseconds; OpenVPN's first retransmission comes after
    # 2 s, so a slower start means something on the way (e.g. the reply cap) dropped a packet.
    awk -v t="$PH_OVPN_INIT_S" 'BEGIN { exit !(t != "?" && t < 2) }' ||
        ph_die "the client needed ${PH_OVPN_INIT_S}s to initialize (limit 2 s: no retransmission);" \
            "the relay dropped $amp_init reply datagram(s) for amplification by then"

    ph_ping "$PH_NS_CLI" "$srv_tun" 20 5
    ph_iperf_server "$PH_NS_SRV" "$srv_tun"
    ph_iperf "$PH_NS_CLI" "$srv_tun" 3 "$PH_TMP/iperf.json"
    ph_ping "$PH_NS_CLI" "$srv_tun" 10 0 # the tunnel is still healthy after the bulk transfer

    # The server must have seen the client through the relay's upstream socket on loopback.
    peer=$(sed -nE 's/.*Peer Connection Initiated with \[AF_INET\]([0-9.:]+).*/\1/p' \
        "$PH_TMP/openvpn-server.log" | head -n1)
    [[ $peer == 127.0.0.1:* ]] || ph_die "server saw the client at '$peer', expected 127.0.0.1:* (the relay)"
    ph_result "server saw the client at $peer; client link: $(grep -m1 -oE \
        '(TCP connection established with|UDPv4 link remote:) [^ ]+ *[^ ]*' "$PH_TMP/openvpn-client.log")"
    # A restart (SIGUSR1) or a second initialization would mean the tunnel broke and recovered.
    local restarts inits
    restarts=$(grep -ciE 'SIGUSR1|Restart pause|Connection reset' "$PH_TMP/openvpn-client.log" || true)
    inits=$(grep -c 'Initialization Sequence Completed' "$PH_TMP/openvpn-client.log" || true)
    ((restarts == 0 && inits == 1)) ||
        ph_die "openvpn client restarted: $restarts restart line(s), $inits initialization(s)"

    amp=$(ph_relay_metric porthop_drops_total 'reason="amplification"')
    not_ovpn=$(ph_relay_metric porthop_drops_total 'reason="not_openvpn"')
    validated=$(ph_relay_metric porthop_native_sessions_validated_total)
    ph_result "relay: amplification drops $amp ($amp_init by the initialization)," \
        "not_openvpn drops $not_ovpn, validated native sessions $validated"
    ((not_ovpn == 0)) || ph_die "the relay refused $not_ovpn datagram(s)/frame(s) of a real OpenVPN client as not_openvpn"
    if [[ $proto == udp* ]]; then
        ((validated >= 1)) || ph_die "the relay never validated the UDP session ($wrap): it stayed under the reply cap"
    fi
    ph_expect_running "$PH_OVPN_SERVER_PID" "openvpn server"
    ph_expect_running "$PH_OVPN_CLIENT_PID" "openvpn client"
    ph_porthop_stop
}

# --- porthop client (the agent) and measurements across path changes -----------------------
# Used by agent_wireguard.sh and agent_openvpn.sh: the VPN client in the client namespace talks
# to `porthop client` on loopback, which carries the tunnel over the hop link to the relay.
PH_AGENT_METRICS=127.0.0.1:9817 # the agent's /status and /metrics, inside the client namespace
PH_HOP_PROBE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../system" && pwd)/hop_probe.py

_ph_toml_strings() { local s out=""; for s in $1; do out+="${out:+, }\"$s\""; done; echo "[$out]"; }

# ph_hop_key: a fresh hop-link key from `porthop genkey`.
ph_hop_key() {
    local k
    k=$("$PORTHOP_BIN" genkey) || ph_die "porthop genkey failed"
    [[ ${#k} -eq 44 ]] || ph_die "porthop genkey printed '$k', expected 44 characters of base64"
    echo "$k"
}

# The relay's TLS certificate in these tests: the committed test one (tests/vectors/tls, issued
# for vector.test), which agents check by its pin (PH_TLS_PIN) and send as SNI.
PH_TLS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../vectors/tls" && pwd)
PH_TLS_PIN=$(sed -n 's/^leaf_pin: //p' "$PH_TLS_DIR/expected.txt")
PH_TLS_NAME=vector.test

# ph_hop_server_toml KEY INTERVAL: the [server] lines that give the relay a hop link and the
# test certificate (for ph_porthop_start's EXTRA).
ph_hop_server_toml() {
    printf 'key = "%s"\nhop_interval = "%s"\nmoving_target = false\n' "$1" "$2"
    printf 'tls_cert = "%s"\ntls_key = "%s"\n' "$PH_TLS_DIR/chain.pem" "$PH_TLS_DIR/leaf.key"
}

# ph_agent_start NS LISTEN SERVER UDP_SPECS TCP_SPECS KEY INTERVAL: runs `porthop client` in NS
# and waits (15 s at most) until it reports an attached path in /status. Its TCP rung is TLS,
# checked by the test certificate's pin (PH_AGENT_TLS=false: plain TCP records). Sets PH_AGENT_PID,
# PH_AGENT_LOG and PH_AGENT_NS. A test running two agents names each with PH_AGENT_NAME (its
# config and log files; default agent) and gives each its own PH_AGENT_METRICS.
ph_agent_start() {
    local ns=$1 listen=$2 server=$3 udp=$4 tcp=$5 key=$6 interval=$7 conf=$PH_TMP/${PH_AGENT_NAME:-agent}.toml
    cat >"$conf" <<EOF
[client]
listen = "$listen"
server = "$server"
udp = $(_ph_toml_strings "$udp")
tcp = $(_ph_toml_strings "$tcp")
key = "$key"
hop_interval = "$interval"
tls = ${PH_AGENT_TLS:-true}
sni = "$PH_TLS_NAME"
tls_pin = "$PH_TLS_PIN"
${PH_AGENT_EXTRA:-}

[client_metrics]
listen = "$PH_AGENT_METRICS"
EOF
    "$PORTHOP_BIN" check-config "$conf" >"$PH_TMP/check-config-agent.out" 2>&1 ||
        { cat "$PH_TMP/check-config-agent.out" >&2; ph_die "porthop check-config rejected the agent config"; }
    PH_AGENT_LOG=$PH_TMP/${PH_AGENT_NAME:-agent}.log
    PH_AGENT_NS=$ns
    ph_spawn "$ns" "$PH_AGENT_LOG" "$PORTHOP_BIN" client --config "$conf"
    PH_AGENT_PID=$PH_PID
    ph_wait_ready "$PH_AGENT_PID" 15 "porthop client to attach (/status path udp/* or tcp/*)" _ph_agent_attached
    ph_log "porthop client (pid $PH_AGENT_PID) on $listen: $(ph_agent_path); $(ph_agent_path_lines | head -n1)"
}
_ph_agent_attached() { [[ $(ph_agent_path) == @(udp|tcp)/* ]]; }

# _ph_http_get NS URL: the body of a GET inside NS (curl, or python3 where curl is missing).
_ph_http_get() {
    if command -v curl >/dev/null; then
        ph_ns "$1" curl -fsS --max-time 2 "$2"
    else
        ph_ns "$1" python3 -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode())' "$2"
    fi
}

# ph_agent_status: the agent's /status JSON object. ph_agent_field NAME: one field of it, ""
# when the agent does not answer (so it is safe in polling loops under set -e).
ph_agent_status() { _ph_http_get "$PH_AGENT_NS" "http://$PH_AGENT_METRICS/status"; }
ph_agent_field() { { ph_agent_status | jq -r --arg f "$1" '.[$f] // "" | tostring'; } 2>/dev/null || true; }
ph_agent_path() { ph_agent_field path; }
ph_agent_metrics() { _ph_http_get "$PH_AGENT_NS" "http://$PH_AGENT_METRICS/metrics"; }

# ph_agent_path_lines: the agent's path-change log lines so far, from "path: " on.
ph_agent_path_lines() { grep -oE 'path: .*' "$PH_AGENT_LOG" || true; }
_ph_agent_nlines() { ph_agent_path_lines | wc -l; }
_ph_agent_new_lines() { ph_agent_path_lines | tail -n +$(($1 + 1)); } # those after the first N

# ph_agent_stop: SIGTERM must make the agent exit cleanly (status 0) within 5 s.
ph_agent_stop() {
    local i rc=0
    ph_expect_running "$PH_AGENT_PID" "porthop client"
    kill -TERM "$PH_AGENT_PID"
    for ((i = 0; i < 50; i++)); do _ph_alive "$PH_AGENT_PID" || break; sleep 0.1; done
    _ph_alive "$PH_AGENT_PID" && ph_die "porthop client did not exit within 5 s of SIGTERM"
    wait "$PH_AGENT_PID" || rc=$?
    [[ $rc -eq 0 ]] || ph_die "porthop client exited with status $rc after SIGTERM (expected 0)"
    ph_result "porthop client exited cleanly on SIGTERM"
}

# ph_hop_port KEY INTERVAL_S UDP_SPECS [EPOCH]: the schedule's UDP port now (or in EPOCH),
# computed independently of porthop (tests/system/hop_probe.py, hashlib only).
ph_hop_port() { python3 "$PH_HOP_PROBE" port "$1" "$2" "${3// /,}" ${4:+"$4"}; }

# --- censor: more rules in the same table as ph_censor_block_udp ------------------------------
# ph_censor_block_all_udp: the censor drops every forwarded UDP packet (fragments included:
# meta l4proto matches those too, where `udp dport` would not).
ph_censor_block_all_udp() {
    ph_ns "$PH_NS_RTR" nft -f - <<EOF
table inet phcensor {
    chain filter {
        type filter hook forward priority 0; policy accept;
    }
}
add rule inet phcensor filter meta l4proto udp drop
EOF
    ph_log "censor: dropping all UDP"
}

# ph_censor_tls_only PORT: the censor drops every TCP connection to PORT whose first payload
# (from the client) does not start like a TLS handshake record (16 03), from that packet on,
# both ways: what a protocol filter that expects TLS on 443 does. The connection's verdict is
# kept in its conntrack mark (1: TLS, 2: dropped); segments without payload (the handshake's
# ACKs) carry no verdict, since @ih cannot be read from them. ph_censor_not_tls counts drops.
ph_censor_tls_only() {
    ph_ns "$PH_NS_RTR" nft -f - <<EOF
table inet phtls {
    counter not_tls { }
    chain forward {
        type filter hook forward priority 10; policy accept;
        tcp dport $1 ct mark 0x0 @ih,0,16 0x1603 ct mark set 0x1
        tcp dport $1 ct mark 0x0 @ih,0,16 != 0x1603 ct mark set 0x2
        ct mark 0x2 counter name not_tls drop
    }
}
EOF
    ph_log "censor: dropping TCP connections to $1 whose first payload is not TLS"
}
ph_censor_not_tls() {
    ph_ns "$PH_NS_RTR" nft -j list counter inet phtls not_tls | jq '[.nftables[] | select(.counter) | .counter.packets] | add // 0'
}

# ph_censor_clear: every blocking rule lifted (the phcount counters stay).
ph_censor_clear() {
    ph_ns "$PH_NS_RTR" nft delete table inet phcensor 2>/dev/null || true
    ph_ns "$PH_NS_RTR" nft delete table inet phtls 2>/dev/null || true
    ph_log "censor: all blocking rules lifted"
}

# --- a ping timeline: one reply line per packet, with timestamps ------------------------------
# ph_tping_start NS ADDR SECONDS LOG: 10 pings a second for at most SECONDS, each reply logged
# with its arrival time (-D), so that outages can be measured afterwards. Sets PH_TPING_PID and
# PH_TPING_LOG.
ph_tping_start() {
    PH_TPING_LOG=$4
    ph_spawn "$1" "$PH_TPING_LOG" ping -D -n -i 0.1 -c $(($3 * 10)) -w $(($3 + 5)) "$2"
    PH_TPING_PID=$PH_PID
}

# _ph_tping_replies: "sent_time seq arrival_time" for every reply so far (sent = arrival - rtt;
# duplicates dropped), in arrival order.
_ph_tping_replies() {
    awk 'match($0, /^\[[0-9.]+\]/) && / icmp_seq=/ && / time=/ && !/DUP!/ {
            ts = substr($0, 2, RLENGTH - 2)
            seq = $0; sub(/.* icmp_seq=/, "", seq); sub(/ .*/, "", seq)
            rtt = $0; sub(/.* time=/, "", rtt); sub(/ .*/, "", rtt)
            if (!(seq in seen)) { seen[seq] = 1; printf "%.6f %d %.6f\n", ts - rtt / 1000, seq, ts }
         }' "$PH_TPING_LOG"
}

# ph_tping_lost T0 T1: pings sent between T0 and T1 (unix times) that got no reply: the seqs
# between the first and the last answered ones in that window, minus those answered.
ph_tping_lost() {
    _ph_tping_replies | awk -v t0="$1" -v t1="$2" '
        $1 >= t0 && $1 <= t1 { if (!n || $2 < lo) lo = $2; if ($2 > hi) hi = $2; if (!($2 in s)) { s[$2]; n++ } }
        END { print (n ? hi - lo + 1 - n : -1) }'
}

# ph_tping_wait_recovery T_EVENT LIMIT WHAT: waits until a ping sent after T_EVENT (a unix time
# from $EPOCHREALTIME) is answered. Sets PH_RECOVERY (seconds from T_EVENT to that reply, 2
# decimals) and PH_RECOVERY_LOST (pings lost in between); fails after LIMIT seconds, and if no
# ping was lost at all (then the event did not touch the path in use and measured nothing).
ph_tping_wait_recovery() {
    local t=$1 limit=$2 what=$3 line deadline
    deadline=$(awk -v t="$t" -v l="$limit" 'BEGIN { printf "%.6f", t + l + 0.5 }')
    while :; do
        # (No early exit in awk: with pipefail a writer killed by SIGPIPE would fail the test.)
        line=$(_ph_tping_replies | awk -v t="$t" '$1 > t && !done { print; done = 1 }')
        [[ -n $line ]] && break
        awk -v n="$EPOCHREALTIME" -v d="$deadline" 'BEGIN { exit !(n > d) }' &&
            ph_die "$what: no ping answered within ${limit}s"
        ph_expect_running "$PH_TPING_PID" "ping stream"
        sleep 0.1
    done
    read -r PH_RECOVERY PH_RECOVERY_LOST < <(_ph_tping_replies | awk -v t="$t" -v first="$line" '
        BEGIN { split(first, f, " ") }
        $1 <= t && $2 > last { last = $2 }
        END { printf "%.2f %d\n", f[3] - t, f[2] - last - 1 }')
    ph_log "$what: ping answered again after ${PH_RECOVERY}s ($PH_RECOVERY_LOST pings lost)"
    awk -v r="$PH_RECOVERY" -v l="$limit" 'BEGIN { exit !(r <= l) }' ||
        ph_die "$what: ping answered again only after ${PH_RECOVERY}s (limit ${limit}s)"
    ((PH_RECOVERY_LOST > 0)) ||
        ph_die "$what: no ping was lost, so the censor never touched the path in use"
}

# --- agent scenario steps shared by agent_wireguard.sh and agent_openvpn.sh -------------------
# Each needs a running agent, a ph_tping_start stream through the tunnel and the topology's
# censor. The path-change log line that follows each event is checked, so that a recovery is
# credited to the mechanism under test and not to something else (a scheduled hop).

# _ph_epoch_left INTERVAL_S: seconds left in the current hop epoch (wall clock, as porthop).
_ph_epoch_left() { awk -v n="$EPOCHREALTIME" -v i="$1" 'BEGIN { printf "%.3f", i - (n % i) }'; }

# ph_agent_epoch_room INTERVAL_S NEED: returns at once if the current epoch has NEED seconds
# left; otherwise sleeps until 1.5 s into the next one (past its scheduled hop).
ph_agent_epoch_room() {
    local left
    left=$(_ph_epoch_left "$1")
    if awk -v l="$left" -v n="$2" 'BEGIN { exit !(l < n) }'; then
        ph_log "only ${left}s left in this hop epoch; waiting for the next one"
        sleep "$(awk -v l="$left" 'BEGIN { print l + 1.5 }')"
    fi
}

# _ph_agent_next_line N WHAT: the first path-change line after the first N, waiting 3 s at most.
_ph_agent_next_line() {
    local i
    for ((i = 0; i < 30; i++)); do
        (($(_ph_agent_nlines) > $1)) && { ph_agent_path_lines | sed -n "$(($1 + 1))p"; return 0; }
        sleep 0.1
    done
    ph_die "$2: the agent logged no path change"
}

# ph_agent_block_current_port INTERVAL_S LIMIT: the censor drops the UDP port the agent uses
# now; ping must flow again within LIMIT s through the agent's own dark detection. The block
# starts with at least LIMIT + 2 s left in the hop epoch, so a scheduled hop cannot be what
# moves the agent off the port (and the log line must say "silent"). Sets PH_BLOCKED_PORT and
# PH_PORT_BLOCK_RECOVERY.
ph_agent_block_current_port() {
    local interval=$1 limit=$2 path n t line left
    ph_agent_epoch_room "$interval" $((limit + 2))
    path=$(ph_agent_path)
    [[ $path == udp/* ]] || ph_die "agent path is '$path' before the port block, expected udp/*"
    PH_BLOCKED_PORT=${path#udp/}
    n=$(_ph_agent_nlines)
    ph_censor_block_udp "$PH_BLOCKED_PORT"
    t=$EPOCHREALTIME
    left=$(_ph_epoch_left "$interval")
    ph_tping_wait_recovery "$t" "$limit" "udp/$PH_BLOCKED_PORT blocked"
    PH_PORT_BLOCK_RECOVERY=$PH_RECOVERY
    line=$(_ph_agent_next_line "$n" "udp/$PH_BLOCKED_PORT blocked")
    ph_log "agent: $line (${left}s were left in the epoch at the block)"
    [[ $line == *silent* && $line == *"udp/$PH_BLOCKED_PORT"* ]] ||
        ph_die "after blocking udp/$PH_BLOCKED_PORT the agent logged '$line', expected 'udp/$PH_BLOCKED_PORT silent ...'"
    path=$(ph_agent_path)
    [[ $path == udp/* && $path != "udp/$PH_BLOCKED_PORT" ]] ||
        ph_die "agent path is '$path' after blocking udp/$PH_BLOCKED_PORT, expected another UDP port"
    ph_result "udp/$PH_BLOCKED_PORT blocked: ping back after ${PH_PORT_BLOCK_RECOVERY}s" \
        "($PH_RECOVERY_LOST pings lost), agent now on $path"
}

# ph_agent_block_all_udp TCP_PORT LIMIT: the censor drops all UDP; ping must flow again within
# LIMIT s over tcp/TCP_PORT. Sets PH_ALL_UDP_RECOVERY.
ph_agent_block_all_udp() {
    local tcp=$1 limit=$2 n t line path
    n=$(_ph_agent_nlines)
    ph_censor_block_all_udp
    t=$EPOCHREALTIME
    ph_tping_wait_recovery "$t" "$limit" "all UDP blocked"
    PH_ALL_UDP_RECOVERY=$PH_RECOVERY
    PH_FALLBACK_T=$(awk -v t="$t" -v r="$PH_RECOVERY" 'BEGIN { printf "%.6f", t + r }')
    line=$(_ph_agent_next_line "$n" "all UDP blocked")
    line=$(_ph_agent_new_lines "$n" | grep -m1 -- "-> tcp/$tcp" || true)
    ph_log "agent: ${line:-(no line)}"
    [[ -n $line ]] || ph_die "with all UDP blocked the agent logged '$(_ph_agent_new_lines "$n" |
        paste -sd'|')', expected '... -> tcp/$tcp'"
    path=$(ph_agent_path)
    [[ $path == "tcp/$tcp" ]] || ph_die "agent /status path is '$path' with all UDP blocked, expected tcp/$tcp"
    ph_result "all UDP blocked: ping back after ${PH_ALL_UDP_RECOVERY}s ($PH_RECOVERY_LOST pings lost)," \
        "agent now on $path"
}

# ph_agent_hold_tcp SECONDS: with all UDP still blocked, stays until SECONDS after the fallback
# (PH_FALLBACK_T), so that the agent's first UDP retries (5 s after the fallback, then 10 s
# later, ...) fail first; the agent must stay on TCP and no ping may be lost from now on.
ph_agent_hold_tcp() {
    local t=$EPOCHREALTIME left lost path
    # (At least 1.5 s, so that the loss count below has pings to look at.)
    left=$(awk -v f="$PH_FALLBACK_T" -v s="$1" -v n="$t" 'BEGIN { l = f + s - n; if (l < 1.5) l = 1.5; printf "%.3f", l }')
    sleep "$left"
    path=$(ph_agent_path)
    [[ $path == tcp/* ]] || ph_die "agent path is '$path' $1 s after the fallback with UDP still blocked"
    lost=$(ph_tping_lost "$t" "$(awk -v n="$EPOCHREALTIME" 'BEGIN { printf "%.6f", n - 0.5 }')")
    ph_result "held on $path until $1 s after the fallback (UDP retries failing):" \
        "$lost pings lost in the last ${left}s"
    ((lost == 0)) || ph_die "$lost pings lost on $path while the agent's UDP retries failed"
}

# ph_agent_unblock LIMIT: the censor lifts every rule; /status must say udp/* within LIMIT s.
# Sets PH_BACK_TO_UDP (seconds) and PH_CLIMB_LOST (pings lost in the 3 s after the climb).
ph_agent_unblock() {
    local limit=$1 n t t_climb line path deadline=$((SECONDS + $1 + 1))
    n=$(_ph_agent_nlines)
    ph_censor_clear
    t=$EPOCHREALTIME
    until [[ $(ph_agent_path) == udp/* ]]; do
        ((SECONDS < deadline)) || ph_die "the agent did not climb back to UDP within ${limit}s of the unblock"
        ph_expect_running "$PH_AGENT_PID" "porthop client"
        sleep 0.2
    done
    t_climb=$EPOCHREALTIME
    PH_BACK_TO_UDP=$(awk -v a="$t" -v b="$t_climb" 'BEGIN { printf "%.2f", b - a }')
    path=$(ph_agent_path)
    line=$(_ph_agent_next_line "$n" "unblock")
    line=$(_ph_agent_new_lines "$n" | grep -m1 -- "answers again" || true)
    ph_log "agent: ${line:-(no line)}"
    [[ -n $line ]] || ph_die "after the unblock the agent logged '$(_ph_agent_new_lines "$n" | paste -sd'|')'," \
        "expected '... answers again -> back to udp'"
    awk -v r="$PH_BACK_TO_UDP" -v l="$limit" 'BEGIN { exit !(r <= l) }' ||
        ph_die "back to UDP only after ${PH_BACK_TO_UDP}s (limit ${limit}s)"
    # The climb is make-before-break too: pings across it should all be answered.
    sleep 3
    PH_CLIMB_LOST=$(ph_tping_lost "$(awk -v t="$t_climb" 'BEGIN { printf "%.6f", t - 1 }')" \
        "$(awk -v t="$t_climb" 'BEGIN { printf "%.6f", t + 2 }')")
    ph_result "unblocked: agent back on $path after ${PH_BACK_TO_UDP}s; $PH_CLIMB_LOST pings lost around the climb"
    ((PH_CLIMB_LOST >= 0)) || ph_die "no ping answered around the climb back to UDP"
}

# --- issue 15 e2e helpers (tls_censor.sh, tls_freeze.sh) --------------------------------------
# ph_agent_start appends PH_AGENT_EXTRA (more TOML for [client], e.g. "tcp_rotate_bytes = 12000")
# to the agent's [client] table.
#
# ph_censor_freeze PORT BYTES: the censor silently freezes every TCP connection to PORT once
# conntrack has counted more than BYTES in its reply direction (server -> client; conntrack's
# byte counts include the IP and TCP headers): from then on every packet of it, both ways, is
# dropped (table phfreeze, counter frozen). Byte accounting (nf_conntrack_acct, per namespace)
# is switched on first; it only counts connections created after that, so call this before the
# connections to be frozen exist. The server's veth also stops building TSO/GSO packets (one
# MSS per packet, as on a real path): conntrack counts a 64 KB GSO packet as one, and the
# packet that crosses BYTES is dropped whole, so the freeze would otherwise come up to 64 KB
# early. ph_censor_frozen: packets dropped so far.
ph_censor_freeze() {
    ip -n "$PH_NS_SRV" link set dev to-rtr gso_max_segs 1 ||
        ph_die "cannot limit the server veth's GSO packets to one segment"
    ph_ns "$PH_NS_RTR" sysctl -qw net.netfilter.nf_conntrack_acct=1 ||
        ph_die "cannot switch on conntrack byte accounting in the router namespace"
    [[ $(ph_ns "$PH_NS_RTR" sysctl -n net.netfilter.nf_conntrack_acct) == 1 ]] ||
        ph_die "net.netfilter.nf_conntrack_acct did not stay 1 in the router namespace"
    ph_ns "$PH_NS_RTR" nft -f - <<EOF
table inet phfreeze {
    counter frozen { }
    chain forward {
        type filter hook forward priority 5; policy accept;
        meta l4proto tcp ct original proto-dst $1 ct reply bytes > $2 counter name frozen drop
    }
}
EOF
    ph_log "censor: freezing TCP connections to $1 after $2 bytes from the server"
}
ph_censor_frozen() {
    ph_ns "$PH_NS_RTR" nft -j list counter inet phfreeze frozen | jq '[.nftables[] | select(.counter) | .counter.packets] | add // 0'
}
