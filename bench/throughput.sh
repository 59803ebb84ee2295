#!/bin/bash
# porthop's throughput harness: the same UDP traffic through the kernel's own forwarding (the
# limit), nftables DNAT, socat, nginx's stream UDP proxy, porthop (epoll, and io_uring when such
# a build is given), porthop fed by porthop's agent over the hop link (each mask mode), a
# hand-written io_uring forwarder (bench/uring_forward.cpp, with and without UDP GSO: the
# reference for porthop's io_uring build) and, over TCP, porthop's UDP-over-TCP and Debian's
# udptunnel, in one run, every figure also a ratio to kernel forwarding measured in the same run
# (and the agent paths' also to the native porthop path). docs/BENCHMARKS.md describes the
# method and holds the latest results.
#
#   sudo bench/throughput.sh [--short] [--out FILE] [--raw FILE] [--paths LIST] [--sizes LIST]
#
#   --short    a few seconds per path (CI: bench.short); writes no file unless --out is given.
#              It passes when every path moved traffic; speed is never asserted. The 50 % load
#              runs (latency, CPU) are made at the first size only.
#   --out F    write the markdown report to F (default without --short: docs/BENCHMARKS.md),
#              and its SVG charts into the folder bench/ beside F (docs/bench/), drawn by
#              bench/report.py with matplotlib: python3's, or /usr/bin/python3's when only
#              Debian's python3 has it (python3-matplotlib); with neither, tables only (logged)
#   --raw F    keep the raw results (JSON lines, bench/report.py's input) in F (default without
#              --short and --out: bench/results/DATE-HOST.jsonl, linked from the report)
#   --paths L  only these paths, comma-separated (kernel always runs: it is the reference):
#              nft,socat,nginx,porthop,porthop-agent,porthop-agent-full,porthop-agent-tcp,
#              porthop-agent-tls,porthop-uring,uring-forward,uring-forward-nogso,udptunnel-tcp,
#              porthop-tcp,memory (the short mode leaves uring-forward-nogso out unless named,
#              runs porthop-agent-full, porthop-agent-tcp and porthop-agent-tls at maximum rate
#              only, and the last two at the last size only unless named)
#   --sizes L  UDP payload sizes, comma-separated (default 64,1400)
#
# Environment: PORTHOP_BIN (default build/porthop), UDPLOAD_BIN (default build/bench/udpload),
# PORTHOP_IO_URING_BIN (a porthop built with io_uring; without it that row says "not built"),
# URING_FORWARD_BIN (default: uring_forward beside UDPLOAD_BIN; built where liburing is; without
# it, or where io_uring is disabled, that row says why),
# BENCH_KEEP_TMP=1 keeps the raw JSON and logs. For experiments: BENCH_RPS=0 leaves each
# namespace's receive processing on the sending CPU; BENCH_{GEN,SINK,RELAY,AGENT}_NICE
# (-5/-10/-10/-10); BENCH_AGENT_OFFER (default 1): the agent paths' offered rate as a multiple
# of the native path's maximum; BENCH_AGENT_BATCH (default 64): their generator's batch size.
#
# Topology: three network namespaces joined by veth pairs, not linked to the host namespace
# (nothing can reach the host's uplink); the relay namespace routes between the two /24s.
#
#   client ns  veth 10.89.1.1 --- 10.89.1.2 veth  relay ns  veth 10.89.2.2 --- 10.89.2.1  server ns
#   generator (udpload send)                      relay under test              sink (udpload sink)
#
# CPUs: the relay namespace's work (the relay process and, through RPS, the kernel's receive
# processing of that namespace, i.e. all of kernel forwarding) runs on one CPU; generator and
# sink on the other(s). With 3+ CPUs generator and sink get one each; with 4+ the agent gets the
# fourth (otherwise it shares the generator's).
#
# The agent paths (porthop-agent, porthop-agent-full): the generator sends to `porthop client`
# (the agent) in the client namespace, which carries the datagrams over the hop link (UDP, one
# port, no hop during the run) to a keyed `porthop server` in the relay namespace, which hands
# them to the sink. The server is the relay under test: it runs on the relay CPU exactly as the
# native porthop does, and its figure is compared with the native path's ("porthop"). The
# agent is extra work on the client side: it runs on a CPU of its own when there are 4 or more,
# otherwise on the generator's CPU (with 2 CPUs also the sink's), where it can be the bottleneck
# rather than the server. Their "maximum rate" run is paced, not a flood: the generator offers
# what the native path delivered at its maximum in the same run (BENCH_AGENT_OFFER times it),
# so the question is whether the server carries the native path's rate when an agent feeds it
# (a flood would spend the agent's CPU on loopback receive work for datagrams its socket then
# drops). Each run records where datagrams were dropped (at the agent's socket or at the
# server's) and the agent's own CPU per datagram, so the report says which one bound the rate
# and what one CPU of the agent can carry. The generator sends WireGuard-shaped
# datagrams (udpload --shape wg), because the agent picks the mask mode by the datagram: light
# for WireGuard data (the default), full for anything else; a udpload without --shape sends its
# own datagrams, which the agent masks in full mode, and the report says so.
# porthop-agent-full is the same with the server's `[server] mask = "full"`; a porthop that does
# not know that key gets a row "not supported by this binary".
# porthop-agent-tcp and porthop-agent-tls are the agent's TCP rung (issue 15): the agent's `udp`
# list names a port the server does not listen on, so its UDP attaches go unanswered and it
# falls back to the server's TCP port (a few seconds: its UDP rounds, see
# include/porthop/hop/path_manager.hpp), and the run starts once its /status says tcp/PORT.
# -tcp sends plain TCP records (`tls = false`), -tls TLS pinned to the committed test
# certificate (tests/vectors/tls: chain.pem and leaf.key on the server, `tls_pin` = its
# leaf_pin, `sni = "vector.test"`); the server is the same for both (that certificate,
# `native_tcp` at its default, so it takes either). Both are offered the same rate as the
# other agent paths, and the report adds TLS / plain TCP at each size (issue 15's target:
# >= 0.7x at 1400 B; not asserted). The server's TLS handshake counter is checked: -tls must
# have made one, -tcp none.
#
# Exit status: 0 every path moved traffic, 1 a path moved none or the harness failed,
# 77 skipped (not root).
set -euo pipefail
PATH=$PATH:/usr/sbin:/sbin

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHORT=0
OUT=""
OUT_SET=0
RAW=""
RAW_SET=0
ONLY=""
SIZES="64,1400"
while (($#)); do
    case $1 in
        --short) SHORT=1 ;;
        --out) OUT=${2:?--out needs a file}; OUT_SET=1; shift ;;
        --raw) RAW=${2:?--raw needs a file}; RAW_SET=1; shift ;;
        --paths) ONLY=${2:?--paths needs a list}; shift ;;
        --sizes) SIZES=${2:?--sizes needs a list}; shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "usage: $0 [--short] [--out FILE] [--raw FILE] [--paths LIST] [--sizes LIST]" >&2; exit 2 ;;
    esac
    shift
done
((SHORT || OUT_SET)) || OUT=$REPO/docs/BENCHMARKS.md
((SHORT || OUT_SET || RAW_SET)) || RAW=$REPO/bench/results/$(date -u +%Y-%m-%d)-$(hostname -s).jsonl

if [[ $(id -u) -ne 0 ]]; then echo "bench: SKIP: needs root (network namespaces)"; exit 77; fi

log() { printf '[%s bench] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

PORTHOP_BIN=${PORTHOP_BIN:-$REPO/build/porthop}
UDPLOAD_BIN=${UDPLOAD_BIN:-$REPO/build/bench/udpload}
PORTHOP_IO_URING_BIN=${PORTHOP_IO_URING_BIN:-}
URING_FORWARD_BIN=${URING_FORWARD_BIN:-$(dirname "$UDPLOAD_BIN")/uring_forward}
[[ -x $PORTHOP_BIN ]] || die "PORTHOP_BIN=$PORTHOP_BIN is not executable (build porthop first)"
[[ -x $UDPLOAD_BIN ]] || die "UDPLOAD_BIN=$UDPLOAD_BIN is not executable (build the udpload target)"
for tool in ip nft ss jq python3 taskset timeout socat nginx udptunnel; do
    command -v "$tool" >/dev/null ||
        die "required tool '$tool' not found (apt-get install iproute2 nftables jq python3 socat nginx libnginx-mod-stream udptunnel)"
done
NGINX_STREAM_MODULE=/usr/lib/nginx/modules/ngx_stream_module.so
[[ -f $NGINX_STREAM_MODULE ]] || die "$NGINX_STREAM_MODULE missing (apt-get install libnginx-mod-stream)"
# The report's charts need matplotlib: python3's, else Debian's (a python3 earlier on PATH, pyenv's
# say, may lack it). Asked now, not after the runs.
REPORT_PYTHON=python3 CHARTS=""
if [[ -n $OUT ]]; then
    CHARTS=$(dirname "$OUT")/bench
    if python3 -c 'import matplotlib' 2>/dev/null; then :
    elif /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then REPORT_PYTHON=/usr/bin/python3
    else
        log "no matplotlib for python3 or /usr/bin/python3 (apt-get install python3-matplotlib): $OUT gets the tables, no charts"
        CHARTS=""
    fi
fi

# ---- durations -------------------------------------------------------------------------------
if ((SHORT)); then
    D_MAX=1.5 D_LAT=1 KERNEL_REFS=0 MEM_FLOWS="10000" MEM_NGINX=0
else
    D_MAX=10 D_LAT=5 KERNEL_REFS=1 MEM_FLOWS="10000 15000" MEM_NGINX=1
fi

# ---- names, cleanup --------------------------------------------------------------------------
ID=$$
NS_CLI=ph-bench-cli-$ID
NS_RLY=ph-bench-relay-$ID
NS_SRV=ph-bench-srv-$ID
CLI=10.89.1.1 RLY_CLI=10.89.1.2 RLY_SRV=10.89.2.2 SRV=10.89.2.1
UDP_PORT=9000 TCP_PORT=9001 METRICS=127.0.0.1:9816
TMP=$(mktemp -d "${TMPDIR:-/tmp}/porthop-bench-$ID.XXXXXX")
RESULTS=$TMP/results.jsonl
: >"$RESULTS"
PIDS=()
NSS=()
T0=$SECONDS

alive() { # running and not a zombie
    local st
    { read -r st <"/proc/$1/stat"; } 2>/dev/null || return 1
    st=${st##*) }
    [[ ${st%% *} != Z ]]
}

stop_pids() { # SIGTERM, up to 3 s grace, then SIGKILL; every one reaped
    local pid i live
    for pid in "$@"; do alive "$pid" && kill -TERM "$pid" 2>/dev/null; done
    for ((i = 0; i < 30; i++)); do
        live=0
        for pid in "$@"; do alive "$pid" && live=1; done
        ((live)) || break
        sleep 0.1
    done
    for pid in "$@"; do
        if alive "$pid"; then
            log "pid $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-60)) ignored SIGTERM for 3 s, killing it"
            kill -KILL "$pid" 2>/dev/null
        fi
        wait "$pid" 2>/dev/null || true
    done
    return 0
}

cleanup() {
    local rc=$? ns
    trap - EXIT INT TERM
    set +e
    stop_pids "${PIDS[@]}"
    for ns in "${NSS[@]}"; do # anything a relay forked dies with its namespace
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
        ip netns del "$ns" 2>/dev/null || log "could not delete namespace $ns"
    done
    if [[ ${BENCH_KEEP_TMP:-0} == 1 ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
    if ((rc == 0)); then log "done in $((SECONDS - T0)) s"; else log "failed (exit $rc) after $((SECONDS - T0)) s"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A run killed with SIGKILL cannot clean up: remove namespaces of dead runs now.
for ns in $(ip netns list | awk '{print $1}' | grep -E '^ph-bench-(cli|relay|srv)-[0-9]+$' || true); do
    alive "${ns##*-}" && continue
    log "removing stale namespace $ns"
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
done

# spawn NS LOG CMD...: background process inside NS (ip netns exec, setsid, taskset and nice
# exec in place, so $! is the command's own PID). Its own session, because some relays signal
# their whole process group when they stop (socat does). Sets PID.
spawn() {
    local ns=$1 log=$2
    shift 2
    ip netns exec "$ns" setsid "$@" >"$log" 2>&1 </dev/null &
    PID=$!
    PIDS+=("$PID")
}

# wait_for SECONDS WHAT CMD...: polls CMD every 0.05 s.
wait_for() {
    local limit=$1 what=$2 deadline
    shift 2
    deadline=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || die "timed out after ${limit}s waiting for: $what"
        sleep 0.05
    done
}

# bound NS u|t ADDR:PORT: a UDP socket bound / TCP socket listening there.
bound() { ip netns exec "$1" ss -Hln"$2" | awk '{print $4}' | grep -qx "$3"; }

# ---- CPUs ------------------------------------------------------------------------------------
expand_cpus() { # "0-2,5" -> "0 1 2 5"
    local part out=() a b
    IFS=, read -ra parts <<<"$1"
    for part in "${parts[@]}"; do
        if [[ $part == *-* ]]; then
            a=${part%-*} b=${part#*-}
            for ((; a <= b; a++)); do out+=("$a"); done
        else out+=("$part"); fi
    done
    echo "${out[@]}"
}
read -ra CPUS <<<"$(expand_cpus "$(awk '/^Cpus_allowed_list/ {print $2}' /proc/self/status)")"
case ${#CPUS[@]} in
    1) GEN_CPU=${CPUS[0]} SINK_CPU=${CPUS[0]} RELAY_CPU=${CPUS[0]} ;;
    2) GEN_CPU=${CPUS[0]} SINK_CPU=${CPUS[0]} RELAY_CPU=${CPUS[1]} ;;
    *) GEN_CPU=${CPUS[0]} SINK_CPU=${CPUS[1]} RELAY_CPU=${CPUS[2]} ;;
esac
# The agent (the agent paths' client side) gets a CPU of its own where there is one to spare.
AGENT_CPU=$GEN_CPU
((${#CPUS[@]} >= 4)) && AGENT_CPU=${CPUS[3]}
# Priorities: on a machine shared with other work (CI, builds), the processes under test run
# above it, and the sink above the generator so that the sink is never what drops.
GEN_NICE=${BENCH_GEN_NICE:--5} SINK_NICE=${BENCH_SINK_NICE:--10} RELAY_NICE=${BENCH_RELAY_NICE:--10}
# The agent as the relay, and above the generator it may share a CPU with: fed by it, not starved.
AGENT_NICE=${BENCH_AGENT_NICE:--10}
RELAY_RUN=(taskset -c "$RELAY_CPU" nice -n "$RELAY_NICE")
AGENT_RUN=(taskset -c "$AGENT_CPU" nice -n "$AGENT_NICE")
cpu_mask() { printf '%x' $((1 << $1)); }
CLK_TCK=$(getconf CLK_TCK)

# ---- topology --------------------------------------------------------------------------------
for ns in "$NS_CLI" "$NS_RLY" "$NS_SRV"; do
    ip netns add "$ns"
    NSS+=("$ns")
    ip -n "$ns" link set lo up
done
ip -n "$NS_CLI" link add to-rly type veth peer name to-cli netns "$NS_RLY"
ip -n "$NS_SRV" link add to-rly type veth peer name to-srv netns "$NS_RLY"
ip -n "$NS_CLI" addr add "$CLI/24" dev to-rly
ip -n "$NS_RLY" addr add "$RLY_CLI/24" dev to-cli
ip -n "$NS_RLY" addr add "$RLY_SRV/24" dev to-srv
ip -n "$NS_SRV" addr add "$SRV/24" dev to-rly
for l in "$NS_CLI to-rly" "$NS_RLY to-cli" "$NS_RLY to-srv" "$NS_SRV to-rly"; do
    read -r ns dev <<<"$l"
    ip -n "$ns" link set "$dev" up
done
ip netns exec "$NS_RLY" sysctl -qw net.ipv4.ip_forward=1
# Only the other /24 is routed: no default route anywhere.
ip -n "$NS_CLI" route add 10.89.2.0/24 via "$RLY_CLI"
ip -n "$NS_SRV" route add 10.89.1.0/24 via "$RLY_SRV"
# RPS: what arrives in the relay namespace is processed on the relay's CPU, what arrives in the
# server namespace on the sink's. veth has no hardware queue, so without RPS the receive work
# would run on the sending CPU.
if [[ ${BENCH_RPS:-1} == 1 ]]; then
    ip netns exec "$NS_RLY" sh -c "echo $(cpu_mask "$RELAY_CPU") >/sys/class/net/to-cli/queues/rx-0/rps_cpus"
    ip netns exec "$NS_RLY" sh -c "echo $(cpu_mask "$RELAY_CPU") >/sys/class/net/to-srv/queues/rx-0/rps_cpus"
    ip netns exec "$NS_SRV" sh -c "echo $(cpu_mask "$SINK_CPU") >/sys/class/net/to-rly/queues/rx-0/rps_cpus"
    ip netns exec "$NS_CLI" sh -c "echo $(cpu_mask "$GEN_CPU") >/sys/class/net/to-rly/queues/rx-0/rps_cpus"
    # The generator reaches the agent over the client namespace's loopback: that receive work
    # is the agent's.
    ip netns exec "$NS_CLI" sh -c "echo $(cpu_mask "$AGENT_CPU") >/sys/class/net/lo/queues/rx-0/rps_cpus"
fi
wait_for 5 "client -> server through the relay namespace" ip netns exec "$NS_CLI" ping -c1 -W1 "$SRV"
log "topology up: $NS_CLI -> $NS_RLY -> $NS_SRV; CPUs: generator $GEN_CPU, sink $SINK_CPU, relay $RELAY_CPU, agent $AGENT_CPU"

# The hand-written io_uring forwarder runs only where it was built and io_uring works (containers
# often disable it); otherwise its row says why. Asked in the relay namespace, where it would run.
URING_FORWARD_WHY=""
if [[ ! -x $URING_FORWARD_BIN ]]; then
    URING_FORWARD_WHY="not built"
elif ! URING_FORWARD_WHY=$(ip netns exec "$NS_RLY" timeout 5 "$URING_FORWARD_BIN" --probe 2>&1); then
    URING_FORWARD_WHY=${URING_FORWARD_WHY:-"probe failed"}
else
    URING_FORWARD_WHY=""
fi

# The agent paths: one hop-link key for the run; the generator shapes its datagrams as
# WireGuard data where its udpload can (the agent's default mask mode is for those).
AGENT_KEY=$("$PORTHOP_BIN" genkey) || die "porthop genkey failed"
AGENT_PORT=51820 AGENT_METRICS=127.0.0.1:9817
# The TCP-rung agent paths: a UDP port nothing listens on (the agent's only UDP candidate, so
# it falls back to TCP), and the committed test certificate with its pin.
AGENT_DARK_UDP_PORT=9002
TLS_VECTORS=$REPO/tests/vectors/tls
TLS_SNI=vector.test
TLS_PIN=$(awk '$1 == "leaf_pin:" {print $2}' "$TLS_VECTORS/expected.txt" 2>/dev/null || true)
SHAPE=plain
usage=$("$UDPLOAD_BIN" 2>&1 || true) # without arguments: its usage, which names its options
[[ $usage == *--shape* ]] && SHAPE=wg

# ---- measurements ----------------------------------------------------------------------------
ns_cpu_ticks() { # utime+stime (+ reaped children) of every process in the namespace
    local pid st sum=0 f
    for pid in $(ip netns pids "$1" 2>/dev/null); do
        { read -r st <"/proc/$pid/stat"; } 2>/dev/null || continue
        st=${st##*) }
        read -ra f <<<"$st"
        sum=$((sum + f[11] + f[12] + f[13] + f[14]))
    done
    echo "$sum"
}
ns_rss_kb() { # resident memory of every process in the namespace
    local pid sum=0 v
    for pid in $(ip netns pids "$1" 2>/dev/null); do
        v=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || continue
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}
# Softirq time of one CPU: where the kernel does the forwarding, and the receive work for a
# relay. (Tick-sampled; unlike the CPU's total busy time it is hardly touched by unrelated work
# such as builds sharing the machine.)
cpu_softirq_ticks() { awk -v c="cpu$1" '$1 == c {print $8}' /proc/stat; }
udp_snmp() { # NS FIELD: a counter of the Udp: line of /proc/net/snmp in NS
    ip netns exec "$1" awk -v f="$2" '$1 == "Udp:" { if (!n) { for (i = 2; i <= NF; i++) h[i] = $i; n = 1 }
        else for (i = 2; i <= NF; i++) if (h[i] == f) print $i }' /proc/net/snmp
}
softnet_drops() { # packets dropped at the per-CPU input backlog, all CPUs (not per namespace)
    local sum=0 c
    while read -r _ c _; do sum=$((sum + 16#$c)); done </proc/net/softnet_stat
    echo "$sum"
}
http_get() { # NS ADDR:PORT PATH: the response to a GET (headers and body), without curl
    ip netns exec "$1" timeout 3 bash -c \
        'exec 3<>/dev/tcp/${1%:*}/${1#*:}; printf "GET %s HTTP/1.0\r\nHost: x\r\n\r\n" "$2" >&3; cat <&3' _ "$2" "$3"
}
metrics() { http_get "$NS_RLY" "$METRICS" /metrics; } # porthop's, in the relay namespace
agent_metrics() { http_get "$NS_CLI" "$AGENT_METRICS" /metrics; }
agent_path() { # the agent's path as its /status says: none, udp/PORT, tcp/PORT
    http_get "$NS_CLI" "$AGENT_METRICS" /status | sed '1,/^\r\{0,1\}$/d' | jq -r .path
}
agent_attached() { # the agent is on a UDP path
    [[ $(agent_path) == udp/* ]]
}
agent_on_tcp() { # the agent is on the server's TCP port
    [[ $(agent_path) == "tcp/$TCP_PORT" ]]
}
pid_cpu_ticks() { # utime+stime of one process (0 once it is gone)
    local st f
    { read -r st <"/proc/$1/stat"; } 2>/dev/null || { echo 0; return; }
    st=${st##*) }
    read -ra f <<<"$st"
    echo $((f[11] + f[12]))
}

# porthop_toml FILE [EXTRA]: the relay's configuration (EXTRA: more [server] lines).
porthop_toml() {
    cat >"$1" <<EOF
[server]
listen = ["$RLY_CLI"]
udp = ["$UDP_PORT"]
tcp = ["$TCP_PORT"]
backend = "$SRV:$UDP_PORT"
idle_timeout = "2m"
max_sessions = 16384
max_tcp_connections = 1024
# One generator address stands for 10,000 clients here: the per-source limits would refuse
# all but 64 of them (the checks themselves are measured by bench/micro, not here).
handshake_rate = 0
sessions_per_source = 0
# The relay gets one CPU here (see CPUs above), and all traffic comes from one address, which
# steering gives to one worker anyway: a second worker would only share that CPU.
workers = ${BENCH_WORKERS:-1}
${2:-}
[metrics]
listen = "$METRICS"
[log]
level = "info"
EOF
}

# agent_server_toml PATH: the [server] lines of the agent paths' server: the hop-link key, no
# hop during a run, for porthop-agent-full the full mask mode, and for the TCP-rung paths the
# test certificate (the same server for plain TCP and TLS; native_tcp at its default).
agent_server_toml() {
    printf 'key = "%s"\nhop_interval = "24h"\nmoving_target = false\n' "$AGENT_KEY"
    [[ $1 == porthop-agent-full ]] && printf 'mask = "full"\n'
    [[ $1 == porthop-agent-tcp || $1 == porthop-agent-tls ]] &&
        printf 'tls_cert = "%s"\ntls_key = "%s"\n' "$TLS_VECTORS/chain.pem" "$TLS_VECTORS/leaf.key"
    return 0
}

# agent_toml PATH FILE: the agent's configuration. The UDP agent paths: the server's UDP port.
# The TCP-rung paths: a UDP port the server does not listen on (so it falls back to TCP), and
# for porthop-agent-tls TLS pinned to the test certificate, for porthop-agent-tcp no TLS.
agent_toml() {
    local udp=$UDP_PORT tls=""
    case $1 in
        porthop-agent-tcp) udp=$AGENT_DARK_UDP_PORT tls='tls = false' ;;
        porthop-agent-tls)
            udp=$AGENT_DARK_UDP_PORT
            tls=$(printf 'tls = true\nsni = "%s"\ntls_pin = ["%s"]' "$TLS_SNI" "$TLS_PIN")
            ;;
    esac
    cat >"$2" <<EOF
[client]
listen = "$CLI:$AGENT_PORT"
server = "$RLY_CLI"
udp = ["$udp"]
tcp = ["$TCP_PORT"]
key = "$AGENT_KEY"
# No hop during a run (there is one port anyway).
hop_interval = "24h"
$tls
[client_metrics]
listen = "$AGENT_METRICS"
[log]
level = "info"
EOF
}

# server_tls_handshakes FILE RESULT: porthop_tls_handshakes_total{result=RESULT} in a /metrics dump.
server_tls_handshakes() {
    awk -v l="porthop_tls_handshakes_total{result=\"$2\"}" '$1 == l {v = $2} END {print v + 0}' "$1"
}

# ---- relays ----------------------------------------------------------------------------------
# relay_start PATH TAG: starts the relay (pinned to RELAY_CPU) and sets TARGET, SEND_MODE,
# GEN_ARGS (more generator options), RELAY_PIDS, RELAY_LOG, and for the agent paths AGENT_PID
# and AGENT_LOG.
RELAY_PIDS=()
relay_start() {
    local path=$1 bin gso t tls_ok
    TARGET=$RLY_CLI:$UDP_PORT SEND_MODE=send RELAY_PIDS=() RELAY_LOG=$TMP/$2.relay.log GEN_ARGS=() AGENT_PID=""
    AGENT_FALLBACK_S=""
    case $path in
        kernel) TARGET=$SRV:$UDP_PORT ;;
        nft)
            ip netns exec "$NS_RLY" nft -f - <<EOF
table ip phbench {
    chain prerouting {
        type nat hook prerouting priority dstnat; policy accept;
        ip daddr $RLY_CLI udp dport $UDP_PORT dnat to $SRV:$UDP_PORT
    }
}
EOF
            ;;
        socat)
            # One child per client (UDP-LISTEN + fork), each connected to the backend.
            spawn "$NS_RLY" "$RELAY_LOG" "${RELAY_RUN[@]}" \
                socat -T 60 "UDP4-LISTEN:$UDP_PORT,bind=$RLY_CLI,reuseaddr,fork" "UDP4:$SRV:$UDP_PORT"
            RELAY_PIDS=("$PID")
            wait_for 5 "socat to bind" bound "$NS_RLY" u "$RLY_CLI:$UDP_PORT"
            ;;
        nginx)
            mkdir -p "$TMP/nginx"
            cat >"$TMP/nginx/nginx.conf" <<EOF
load_module $NGINX_STREAM_MODULE;
daemon off;
worker_processes 1;
worker_rlimit_nofile 65536;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 32768; }
stream {
    server {
        listen $RLY_CLI:$UDP_PORT udp;
        proxy_pass $SRV:$UDP_PORT;
        proxy_timeout 60s;
    }
}
EOF
            spawn "$NS_RLY" "$RELAY_LOG" "${RELAY_RUN[@]}" \
                nginx -p "$TMP/nginx" -e "$TMP/nginx/error.log" -c "$TMP/nginx/nginx.conf"
            RELAY_PIDS=("$PID")
            wait_for 5 "nginx to bind" bound "$NS_RLY" u "$RLY_CLI:$UDP_PORT"
            wait_for 5 "an nginx worker" pgrep -P "$PID"
            ;;
        porthop | porthop-uring | porthop-tcp)
            bin=$PORTHOP_BIN
            [[ $path == porthop-uring ]] && bin=$PORTHOP_IO_URING_BIN
            [[ $path == porthop-tcp ]] && TARGET=$RLY_CLI:$TCP_PORT SEND_MODE=tcp-send
            porthop_toml "$TMP/porthop.toml"
            "$bin" check-config "$TMP/porthop.toml" >"$TMP/check-config.out" 2>&1 ||
                { cat "$TMP/check-config.out" >&2; die "porthop check-config rejected the config"; }
            spawn "$NS_RLY" "$RELAY_LOG" "${RELAY_RUN[@]}" "$bin" server --config "$TMP/porthop.toml"
            RELAY_PIDS=("$PID")
            wait_for 5 "porthop to bind" bound "$NS_RLY" u "$RLY_CLI:$UDP_PORT"
            wait_for 5 "porthop to listen" bound "$NS_RLY" t "$RLY_CLI:$TCP_PORT"
            wait_for 5 "porthop metrics" metrics
            ;;
        porthop-agent | porthop-agent-full | porthop-agent-tcp | porthop-agent-tls)
            # The server as the native path's (same CPU, same settings) with the hop-link key;
            # the agent in the client namespace, the generator sending to it (header above).
            porthop_toml "$TMP/porthop.toml" "$(agent_server_toml "$path")"
            "$PORTHOP_BIN" check-config "$TMP/porthop.toml" >"$TMP/check-config.out" 2>&1 ||
                { cat "$TMP/check-config.out" >&2; die "porthop check-config rejected the config"; }
            spawn "$NS_RLY" "$RELAY_LOG" "${RELAY_RUN[@]}" "$PORTHOP_BIN" server --config "$TMP/porthop.toml"
            RELAY_PIDS=("$PID")
            wait_for 5 "porthop to bind" bound "$NS_RLY" u "$RLY_CLI:$UDP_PORT"
            wait_for 5 "porthop to listen" bound "$NS_RLY" t "$RLY_CLI:$TCP_PORT"
            wait_for 5 "porthop metrics" metrics
            agent_toml "$path" "$TMP/agent.toml"
            "$PORTHOP_BIN" check-config "$TMP/agent.toml" >"$TMP/check-config-agent.out" 2>&1 ||
                { cat "$TMP/check-config-agent.out" >&2; die "porthop check-config rejected the agent's config"; }
            AGENT_LOG=$TMP/$2.agent.log
            spawn "$NS_CLI" "$AGENT_LOG" "${AGENT_RUN[@]}" "$PORTHOP_BIN" client --config "$TMP/agent.toml"
            AGENT_PID=$PID
            if [[ $path == porthop-agent-tcp || $path == porthop-agent-tls ]]; then
                # Its UDP rounds go unanswered (about 2 s), then TCP: connect, (TLS,) attach.
                t=$(date +%s%N)
                wait_for 20 "the agent to fall back to tcp/$TCP_PORT" agent_on_tcp
                AGENT_FALLBACK_S=$(awk -v n=$(($(date +%s%N) - t)) 'BEGIN { printf "%.1f", n / 1e9 }')
                # What the server saw: a TLS handshake for -tls, none for -tcp.
                metrics >"$TMP/$2.metrics-attach" 2>/dev/null || die "$path: no server metrics"
                tls_ok=$(server_tls_handshakes "$TMP/$2.metrics-attach" ok)
                if [[ $path == porthop-agent-tls ]]; then
                    ((tls_ok >= 1)) || { tail -n 20 "$AGENT_LOG" "$RELAY_LOG" >&2; die "$path: on tcp/$TCP_PORT without a TLS handshake at the server"; }
                else
                    ((tls_ok == 0)) || die "$path: the server counted $tls_ok TLS handshakes for plain TCP records"
                fi
                log "$2: the agent on tcp/$TCP_PORT after ${AGENT_FALLBACK_S} s (server TLS handshakes: $tls_ok)"
            else
                wait_for 10 "the agent to attach over UDP" agent_attached
            fi
            TARGET=$CLI:$AGENT_PORT
            if [[ $SHAPE == wg ]]; then GEN_ARGS=(--shape wg); fi
            ;;
        uring-forward | uring-forward-nogso)
            # Hand-written on liburing: multishot recv into a provided-buffer ring, the datagrams
            # sent from the same buffers, runs of equal size as one GSO sendmsg (as porthop does)
            # or, -nogso, one send SQE each (bench/uring_forward.cpp). One client, connected.
            gso=()
            [[ $path == uring-forward-nogso ]] && gso=(--no-gso)
            spawn "$NS_RLY" "$RELAY_LOG" "${RELAY_RUN[@]}" "$URING_FORWARD_BIN" \
                --listen "$RLY_CLI:$UDP_PORT" --backend "$SRV:$UDP_PORT" "${gso[@]}"
            RELAY_PIDS=("$PID")
            wait_for 5 "uring_forward to bind" bound "$NS_RLY" u "$RLY_CLI:$UDP_PORT"
            ;;
        udptunnel-tcp)
            # Server side of udptunnel: TCP in (16-bit length framing, as porthop), UDP out to
            # the sink. The generator speaks the framing itself, as it does for porthop.
            # It serves one connection and exits when the generator closes it; the shell around
            # it stays, so that its CPU time is still counted (as the shell's reaped child).
            spawn "$NS_RLY" "$RELAY_LOG" "${RELAY_RUN[@]}" \
                sh -c 'udptunnel -s "$1" "$2"; exec sleep 600' _ "$TCP_PORT" "$SRV/$UDP_PORT"
            RELAY_PIDS=("$PID")
            TARGET=$RLY_CLI:$TCP_PORT SEND_MODE=tcp-send
            wait_for 5 "udptunnel to listen" bound "$NS_RLY" t "0.0.0.0:$TCP_PORT"
            ;;
        *) die "unknown path $path" ;;
    esac
}

# relay_stop PATH TAG: stops it; porthop's counters are kept (metrics, and the exit summary, as
# for uring_forward).
relay_stop() {
    local path=$1 tag=$2
    case $path in
        nft) ip netns exec "$NS_RLY" nft delete table ip phbench ;;
        porthop*)
            metrics >"$TMP/$tag.metrics" 2>/dev/null || true
            ;;
    esac
    if [[ -n $AGENT_PID ]]; then
        agent_metrics >"$TMP/$tag.agent.metrics" 2>/dev/null || true
        alive "$AGENT_PID" || { tail -n 20 "$AGENT_LOG" >&2; die "the agent died during the run"; }
        stop_pids "$AGENT_PID"
    fi
    if ((${#RELAY_PIDS[@]})); then
        alive "${RELAY_PIDS[0]}" ||
            { tail -n 20 "$RELAY_LOG" >&2; die "$path died during the run"; }
        stop_pids "${RELAY_PIDS[@]}"
    fi
    # socat's children and nginx's workers are gone with their parents; make sure of it.
    ip netns pids "$NS_RLY" | xargs -r kill -KILL 2>/dev/null || true
    if [[ $path == porthop* || $path == uring-forward* ]]; then # its exit summary: the counters
        grep -m1 -E ' stopped' "$RELAY_LOG" | sed 's/^.* stopped/stopped/' >"$TMP/$tag.summary" ||
            echo "no exit summary: killed 3 s after SIGTERM" >"$TMP/$tag.summary"
    fi
    return 0
}

# ---- one run ---------------------------------------------------------------------------------
# run PATH SIZE RATE SECONDS TAG [FLOWS BATCH]: relay up, sink up, generator for SECONDS at RATE
# (0 = as fast as it can), wait for the relay to drain, collect, relay down. Appends a JSON line
# to RESULTS and leaves it in LAST.
run() {
    local path=$1 size=$2 rate=$3 secs=$4 tag=$5 flows=${6:-1} batch=${7:-64} nice=$SINK_NICE
    local sink_pid gen_pid cpu0 cpu1 core0 core1 rcv_r0 rcv_r1 rcv_s0 rcv_s1 snd0 snd1 in0 in1 i
    local agent0=0 agent1=0 rcv_c0=0 rcv_c1=0
    relay_start "$path" "$tag"
    ((size >= 40)) || GEN_ARGS=() # a WireGuard-shaped datagram has 40 bytes at least
    spawn "$NS_SRV" "$TMP/$tag.sink.json" taskset -c "$SINK_CPU" nice -n "$SINK_NICE" \
        "$UDPLOAD_BIN" sink --bind "$SRV:$UDP_PORT" --timeout $((${secs%.*} + 60))
    sink_pid=$PID
    wait_for 5 "the sink to bind" bound "$NS_SRV" u "$SRV:$UDP_PORT"
    # At full speed the generator must not starve the sink sharing its CPU.
    [[ $rate == 0 ]] && nice=$GEN_NICE
    cpu0=$(ns_cpu_ticks "$NS_RLY") core0=$(cpu_softirq_ticks "$RELAY_CPU") snd0=$(softnet_drops)
    rcv_r0=$(udp_snmp "$NS_RLY" RcvbufErrors) rcv_s0=$(udp_snmp "$NS_SRV" RcvbufErrors)
    # The agent's own CPU, and its socket's drops (the only UDP receiver in the client namespace).
    [[ -n $AGENT_PID ]] && agent0=$(pid_cpu_ticks "$AGENT_PID") rcv_c0=$(udp_snmp "$NS_CLI" RcvbufErrors)
    spawn "$NS_CLI" "$TMP/$tag.send.json" taskset -c "$GEN_CPU" nice -n "$nice" \
        "$UDPLOAD_BIN" "$SEND_MODE" --target "$TARGET" --bind "$CLI" --size "$size" --rate "$rate" \
        --duration "$secs" --flows "$flows" --batch "$batch" "${GEN_ARGS[@]}"
    gen_pid=$PID
    local deadline=$((SECONDS + ${secs%.*} + 30))
    while alive "$gen_pid"; do
        ((SECONDS < deadline)) || die "$tag: the generator did not finish"
        sleep 0.1
    done
    wait "$gen_pid" || die "$tag: the generator failed: $(cat "$TMP/$tag.send.json")"
    # Drained when the sink's namespace has received nothing new for 0.2 s (at most 10 s).
    in0=$(udp_snmp "$NS_SRV" InDatagrams)
    for ((i = 0; i < 50; i++)); do
        sleep 0.2
        in1=$(udp_snmp "$NS_SRV" InDatagrams)
        [[ $in1 == "$in0" ]] && break
        in0=$in1
    done
    cpu1=$(ns_cpu_ticks "$NS_RLY") core1=$(cpu_softirq_ticks "$RELAY_CPU") snd1=$(softnet_drops)
    rcv_r1=$(udp_snmp "$NS_RLY" RcvbufErrors) rcv_s1=$(udp_snmp "$NS_SRV" RcvbufErrors)
    [[ -n $AGENT_PID ]] && agent1=$(pid_cpu_ticks "$AGENT_PID") rcv_c1=$(udp_snmp "$NS_CLI" RcvbufErrors)
    stop_pids "$sink_pid"
    relay_stop "$path" "$tag"
    local send sink
    send=$(tail -n1 "$TMP/$tag.send.json")
    sink=$(tail -n1 "$TMP/$tag.sink.json")
    jq -e . >/dev/null 2>&1 <<<"$send" || die "$tag: generator output is not JSON: $send"
    jq -e . >/dev/null 2>&1 <<<"$sink" || die "$tag: sink output is not JSON: $sink"
    local drops="" summary=""
    [[ -f $TMP/$tag.metrics ]] &&
        drops=$(awk '/^porthop_drops_total/ && $2 != 0 {sub(/.*reason="/, ""); sub(/"}/, ""); printf "%s=%s ", $1, $2}' "$TMP/$tag.metrics")
    [[ -f $TMP/$tag.summary ]] && summary=$(<"$TMP/$tag.summary")
    local agent_drops="" agent_sent=0 agent_path_end="" agent_changes="" tls_ok=0 tls_failed=0
    if [[ -f $TMP/$tag.agent.metrics ]]; then
        agent_drops=$(awk '/^porthop_(client_)?drops_total/ && $2 != 0 {sub(/.*reason="/, ""); sub(/"}/, ""); printf "%s=%s ", $1, $2}' "$TMP/$tag.agent.metrics")
        agent_sent=$(awk '$1 == "porthop_client_datagrams_total{direction=\"to_server\"}" {print $2}' "$TMP/$tag.agent.metrics")
        # The path at the end, and its changes since the agent started (the start's move to TCP
        # is not counted: on a TCP-rung path any change, a tcp_rotation say, came mid-run).
        agent_path_end=$(sed -n 's/^porthop_client_path_info{path="\([^"]*\)"}.*/\1/p' "$TMP/$tag.agent.metrics")
        agent_changes=$(awk '/^porthop_client_path_changes_total/ && $2 != 0 {sub(/.*kind="/, ""); sub(/"}/, ""); printf "%s=%s ", $1, $2}' "$TMP/$tag.agent.metrics")
    fi
    if [[ -f $TMP/$tag.metrics ]]; then
        tls_ok=$(server_tls_handshakes "$TMP/$tag.metrics" ok) tls_failed=$(server_tls_handshakes "$TMP/$tag.metrics" failed)
    fi
    LAST=$(jq -cn --arg path "$path" --arg tag "$tag" --argjson size "$size" --argjson rate "$rate" \
        --argjson send "$send" --argjson sink "$sink" --argjson tck "$CLK_TCK" \
        --argjson proc $((cpu1 - cpu0)) --argjson core $((core1 - core0)) \
        --argjson relay_rcvbuf $((rcv_r1 - rcv_r0)) --argjson sink_rcvbuf $((rcv_s1 - rcv_s0)) \
        --argjson softnet $((snd1 - snd0)) --argjson has_proc "$( ((${#RELAY_PIDS[@]})) && echo true || echo false)" \
        --arg drops "$drops" --arg summary "$summary" \
        --argjson has_agent "$([[ -n $AGENT_PID ]] && echo true || echo false)" --argjson agent $((agent1 - agent0)) \
        --argjson agent_rcvbuf $((rcv_c1 - rcv_c0)) --arg agent_drops "$agent_drops" --argjson agent_sent "${agent_sent:-0}" --arg shape "${GEN_ARGS[*]:+$SHAPE}" \
        --arg agent_path "$agent_path_end" --arg agent_changes "$agent_changes" --arg fallback_s "$AGENT_FALLBACK_S" \
        --argjson tls_ok "$tls_ok" --argjson tls_failed "$tls_failed" '
        {path: $path, tag: $tag, size: $size, rate: $rate, send: $send, sink: $sink,
         relay_proc_s: (if $has_proc then $proc / $tck else null end), relay_softirq_s: ($core / $tck),
         relay_rcvbuf_errors: $relay_rcvbuf, sink_rcvbuf_errors: $sink_rcvbuf, softnet_drops: $softnet,
         porthop_drops: $drops, porthop_summary: $summary}
        + (if $has_agent then {agent_proc_s: ($agent / $tck), agent_rcvbuf_errors: $agent_rcvbuf,
              agent_drops: $agent_drops, agent_to_server: $agent_sent,
              shape: (if $shape == "" then "plain" else $shape end),
              agent_path_end: $agent_path, agent_path_changes: $agent_changes,
              server_tls_handshakes: {ok: $tls_ok, failed: $tls_failed}}
           + (if $fallback_s != "" then {agent_fallback_s: ($fallback_s | tonumber)} else {} end)
           else {} end)')
    echo "$LAST" >>"$RESULTS"
    log "$(jq -r '"\(.tag): sent \(.send.sent) (\(.send.pps | floor) pps), received \(.sink.received) (\(.sink.pps | floor) pps, \(.sink.mbps | floor) Mbit/s), p50 \(.sink.lat_us.p50) us, p99 \(.sink.lat_us.p99) us, relay rcvbuf drops \(.relay_rcvbuf_errors), sink drops \(.sink_rcvbuf_errors)\(if .porthop_drops != "" then ", porthop drops: " + .porthop_drops else "" end)\(if .agent_proc_s != null then ", agent rcvbuf drops \(.agent_rcvbuf_errors), agent CPU \(.agent_proc_s) s\(if .agent_drops != "" then ", agent drops: " + .agent_drops else "" end), datagrams \(.shape), agent path at the end \(.agent_path_end) (\(.agent_path_changes | rtrimstr(" ") | if . == "" then "no path changes" else . end))\(if .agent_fallback_s != null then ", server TLS handshakes \(.server_tls_handshakes.ok) ok, \(.server_tls_handshakes.failed) failed" else "" end)" else "" end)"' <<<"$LAST")"
}

# Paced runs send batches every ~50 us at most, so that latency is not measured on 64-datagram
# bursts at low rates.
paced_batch() { awk -v r="$1" 'BEGIN { b = int(r * 50e-6 + 0.5); if (b < 1) b = 1; if (b > 64) b = 64; print b }'; }

# ---- memory per session ----------------------------------------------------------------------
# mem PATH FLOWS: RSS of the relay idle, then with FLOWS sessions (one per generator socket).
mem() {
    local path=$1 flows=$2 tag=mem-$1-$2 idle loaded sink_pid gen_pid got sessions=""
    if (($(ulimit -Hn) < flows + 200)); then
        log "$tag: skipped, ulimit -Hn $(ulimit -Hn) is below $((flows + 200))"
        jq -cn --arg path "$path" --argjson flows "$flows" '{kind: "memory", path: $path, flows: $flows, skipped: "ulimit -n"}' >>"$RESULTS"
        return
    fi
    ulimit -n "$(ulimit -Hn)"
    relay_start "$path" "$tag"
    sleep 0.5
    idle=$(ns_rss_kb "$NS_RLY")
    spawn "$NS_SRV" "$TMP/$tag.sink.json" taskset -c "$SINK_CPU" nice -n "$SINK_NICE" \
        "$UDPLOAD_BIN" sink --bind "$SRV:$UDP_PORT" --timeout 120
    sink_pid=$PID
    wait_for 5 "the sink to bind" bound "$NS_SRV" u "$SRV:$UDP_PORT"
    # Three datagrams per flow, flows taking turns one datagram each, slowly enough for session
    # set-up (a socket and a connect each) to keep up.
    spawn "$NS_CLI" "$TMP/$tag.send.json" taskset -c "$GEN_CPU" nice -n "$SINK_NICE" "$UDPLOAD_BIN" send \
        --target "$TARGET" --bind "$CLI" --size 64 --rate 10000 \
        --duration "$(awk -v f="$flows" 'BEGIN { print 3 * f / 10000 }')" --flows "$flows" --batch 1
    gen_pid=$PID
    wait "$gen_pid" || die "$tag: the generator failed"
    sleep 1
    loaded=$(ns_rss_kb "$NS_RLY")
    [[ $path == porthop ]] && sessions=$(metrics | awk '$1 == "porthop_sessions" {print $2}')
    stop_pids "$sink_pid"
    relay_stop "$path" "$tag"
    got=$(jq .flows "$TMP/$tag.sink.json")
    # Per session open: porthop says how many it holds; for others, the flows the sink saw.
    LAST=$(jq -cn --arg path "$path" --argjson flows "$flows" --argjson idle "$idle" --argjson loaded "$loaded" \
        --argjson sink_flows "$got" --arg sessions "$sessions" '
        ((if $sessions != "" then $sessions | tonumber else $sink_flows end) | if . > 0 then . else 1 end) as $n |
        {kind: "memory", path: $path, flows: $flows, rss_idle_kb: $idle, rss_loaded_kb: $loaded,
         sink_flows: $sink_flows, sessions: $n, bytes_per_session: (($loaded - $idle) * 1024 / $n | floor)}')
    echo "$LAST" >>"$RESULTS"
    log "$tag: RSS idle $idle kB, with $flows flows $loaded kB ($(jq .bytes_per_session <<<"$LAST") B/session; sink saw $got flows${sessions:+, porthop_sessions $sessions})"
}

# ---- the runs --------------------------------------------------------------------------------
selected() { [[ -z $ONLY || ,$ONLY, == *,$1,* ]]; }
PATHS=(nft socat nginx porthop porthop-agent porthop-agent-full porthop-agent-tcp porthop-agent-tls porthop-uring
    uring-forward uring-forward-nogso udptunnel-tcp porthop-tcp)
# The full mask mode needs a porthop that knows `[server] mask`; one that does not refuses the
# key, and its row says so.
PORTHOP_AGENT_FULL_WHY=""
if selected porthop-agent-full; then
    porthop_toml "$TMP/probe-full.toml" "$(agent_server_toml porthop-agent-full)"
    if ! "$PORTHOP_BIN" check-config "$TMP/probe-full.toml" >"$TMP/probe-full.out" 2>&1; then
        grep -q 'server\.mask' "$TMP/probe-full.out" ||
            { cat "$TMP/probe-full.out" >&2; die "porthop check-config rejected the full mask mode's config"; }
        PORTHOP_AGENT_FULL_WHY="not supported by this binary"
        log "porthop-agent-full: skipped: $PORTHOP_BIN does not know [server] mask ($(head -c 120 "$TMP/probe-full.out"))"
    fi
fi
# The TCP-rung paths need a porthop that knows the TLS keys ([server] tls_cert, [client] tls,
# tls_pin, sni) and the test certificate; without them their rows say why.
AGENT_TCP_WHY=""
if selected porthop-agent-tcp || selected porthop-agent-tls; then
    if [[ -z $TLS_PIN || ! -f $TLS_VECTORS/chain.pem || ! -f $TLS_VECTORS/leaf.key ]]; then
        AGENT_TCP_WHY="no test certificate in $TLS_VECTORS"
    else
        porthop_toml "$TMP/probe-tls.toml" "$(agent_server_toml porthop-agent-tls)"
        agent_toml porthop-agent-tls "$TMP/probe-tls-agent.toml"
        if ! { "$PORTHOP_BIN" check-config "$TMP/probe-tls.toml" && "$PORTHOP_BIN" check-config "$TMP/probe-tls-agent.toml"; } \
            >"$TMP/probe-tls.out" 2>&1; then
            grep -qE '(server|client)\.(tls|sni)' "$TMP/probe-tls.out" ||
                { cat "$TMP/probe-tls.out" >&2; die "porthop check-config rejected the TLS paths' configs"; }
            AGENT_TCP_WHY="not supported by this binary"
        fi
    fi
    [[ -z $AGENT_TCP_WHY ]] || log "porthop-agent-tcp, porthop-agent-tls: skipped: $AGENT_TCP_WHY ($(head -c 120 "$TMP/probe-tls.out" 2>/dev/null))"
fi
[[ $SHAPE == wg ]] || ! { selected porthop-agent || selected porthop-agent-full; } ||
    log "the agent paths: $UDPLOAD_BIN has no --shape, so the agent masks every datagram in full mode (rebuild udpload)"
{
    jq -cn --arg kernel "$(uname -r)" --arg cpu "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)" \
        --argjson nproc "$(nproc)" --arg mem "$(awk '/^MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)" \
        --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" --arg date "$(date -u '+%Y-%m-%d %H:%M UTC')" \
        --arg commit "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        --arg dirty "$(git -C "$REPO" status --porcelain --untracked-files=no -- . ':!bench' ':!docs' ':!tests' 2>/dev/null | head -c1)" \
        --arg porthop "$("$PORTHOP_BIN" --version 2>&1 | head -n1)" \
        --arg nginx "$(nginx -v 2>&1 | sed 's/.*nginx\///')" --arg socat "$(socat -V 2>/dev/null | awk '/socat version/ {print $3}')" \
        --arg udptunnel "$(dpkg-query -W -f '${Version}' udptunnel 2>/dev/null || echo unknown)" \
        --arg liburing "$(dpkg-query -W -f '${Version}' liburing2 2>/dev/null || echo unknown)" \
        --argjson short "$SHORT" --argjson d_max "$D_MAX" --argjson d_lat "$D_LAT" \
        --arg cpus "generator $GEN_CPU, sink $SINK_CPU, relay $RELAY_CPU, agent (agent paths) $AGENT_CPU" \
        --arg uring "${PORTHOP_IO_URING_BIN:+$PORTHOP_IO_URING_BIN}" \
        --arg shape "$SHAPE" \
        '{kind: "meta", kernel: $kernel, cpu: $cpu, nproc: $nproc, mem: $mem, load_before: $load, date: $date,
          commit: ($commit + (if $dirty != "" then " (with local changes)" else "" end)), porthop: $porthop,
          nginx: $nginx, socat: $socat, udptunnel: $udptunnel, liburing: $liburing, short: ($short == 1), d_max: $d_max,
          d_lat: $d_lat, cpus: $cpus, uring_bin: $uring, agent_shape: $shape}'
} >>"$RESULTS"

IFS=, read -ra SIZE_LIST <<<"$SIZES"
for size in "${SIZE_LIST[@]}"; do
    run kernel "$size" 0 "$D_MAX" "kernel-$size-max"
    kmax=$(jq .sink.pps <<<"$LAST")
    (($(jq '.sink.received' <<<"$LAST") > 0)) || die "kernel forwarding moved no traffic at $size B"
    L=$(awk -v p="$kmax" 'BEGIN { printf "%d", p / 2 }')
    # The short mode runs the paced 50 % load runs at the first size only: they check the paced
    # generator and the latency columns, which one size does; the maximum-rate runs at every
    # size check that each path moves traffic (a quarter of bench.short's time saved).
    lat_runs=1
    [[ $SHORT == 1 && $size != "${SIZE_LIST[0]}" ]] && lat_runs=0
    ((lat_runs)) && run kernel "$size" "$L" "$D_LAT" "kernel-$size-lat" 1 "$(paced_batch "$L")"
    for path in "${PATHS[@]}"; do
        selected "$path" || continue
        # The short mode checks that every relay moves traffic: one uring_forward row does.
        [[ $SHORT == 1 && -z $ONLY && $path == uring-forward-nogso ]] && continue
        # Each TCP-rung run waits about 2 s for the agent's fallback: the short mode checks
        # that they move traffic at one size (the last, 1400 B by default: TLS records holding
        # several frames) unless they are named.
        [[ $SHORT == 1 && -z $ONLY && ($path == porthop-agent-tcp || $path == porthop-agent-tls) &&
            $size != "${SIZE_LIST[-1]}" ]] && continue
        if [[ $path == porthop-uring && -z $PORTHOP_IO_URING_BIN ]]; then
            jq -cn --argjson size "$size" '{path: "porthop-uring", size: $size, not_built: true}' >>"$RESULTS"
            continue
        fi
        if [[ $path == porthop-agent-full && -n $PORTHOP_AGENT_FULL_WHY ]]; then
            jq -cn --argjson size "$size" --arg why "$PORTHOP_AGENT_FULL_WHY" \
                '{path: "porthop-agent-full", size: $size, not_built: true, why: $why}' >>"$RESULTS"
            continue
        fi
        if [[ ($path == porthop-agent-tcp || $path == porthop-agent-tls) && -n $AGENT_TCP_WHY ]]; then
            jq -cn --arg path "$path" --argjson size "$size" --arg why "$AGENT_TCP_WHY" \
                '{path: $path, size: $size, not_built: true, why: $why}' >>"$RESULTS"
            continue
        fi
        if [[ $path == uring-forward* && -n $URING_FORWARD_WHY ]]; then
            [[ $size == "${SIZE_LIST[0]}" ]] && log "$path: skipped: $URING_FORWARD_WHY"
            jq -cn --arg path "$path" --argjson size "$size" --arg why "$URING_FORWARD_WHY" \
                '{path: $path, size: $size, not_built: true, why: $why}' >>"$RESULTS"
            continue
        fi
        if [[ $path == porthop-agent* ]]; then
            # Not a flood: the generator would spend the agent's CPU on loopback receive work
            # for datagrams the agent's socket then drops (softirq, which no priority holds
            # back). It offers what the native path delivered at its maximum in this run (the
            # kernel path's maximum without it), times BENCH_AGENT_OFFER (default 1).
            # Batches of 64, as the maximum-rate runs (BENCH_AGENT_BATCH).
            offer=$(jq -rs --argjson s "$size" --argjson k "$kmax" --argjson f "${BENCH_AGENT_OFFER:-1}" '
                [.[] | select(.path == "porthop" and .size == $s and (.tag // "" | endswith("-max"))) | .sink.pps]
                | (if length > 0 then max else $k end) * $f | floor | if . < 1000 then 1000 else . end' "$RESULTS")
            run "$path" "$size" "$offer" "$D_MAX" "$path-$size-max" 1 "${BENCH_AGENT_BATCH:-64}"
        else
            run "$path" "$size" 0 "$D_MAX" "$path-$size-max"
        fi
        ((lat_runs)) || continue
        # The short mode checks that the full mask mode and the agent's TCP rung (each run
        # waits for the agent's fallback) move traffic: the maximum rate does.
        [[ $SHORT == 1 && ($path == porthop-agent-full || $path == porthop-agent-tcp || $path == porthop-agent-tls) ]] && continue
        # Latency, loss and CPU at 50 % load: half the kernel path's maximum, or half this
        # path's own maximum if that is lower (a saturated relay measures only its queue).
        pmax=$(jq .sink.pps <<<"$LAST")
        R=$(awk -v l="$L" -v p="$pmax" 'BEGIN { r = p / 2; if (r > l) r = l; if (r < 1000) r = 1000; printf "%d", r }')
        run "$path" "$size" "$R" "$D_LAT" "$path-$size-lat" 1 "$(paced_batch "$R")"
        # The kernel at the same rate, for the added latency (the short mode compares with the
        # kernel at half its maximum instead).
        if ((KERNEL_REFS)) && [[ $R != "$L" ]] &&
            ! jq -e --argjson r "$R" --argjson s "$size" 'select(.path == "kernel" and .rate == $r and .size == $s)' "$RESULTS" >/dev/null; then
            run kernel "$size" "$R" "$D_LAT" "kernel-$size-ref$R" 1 "$(paced_batch "$R")"
        fi
    done
    # The machine may have been busier during the first kernel run: measure it again; the
    # report takes the higher of the two as the reference.
    ((SHORT)) || run kernel "$size" 0 "$D_MAX" "kernel-$size-max-again"
done
if selected memory; then
    for flows in $MEM_FLOWS; do mem porthop "$flows"; done
    ((MEM_NGINX)) && mem nginx 10000
fi

# ---- report ----------------------------------------------------------------------------------
cmd="sudo bench/throughput.sh"
((SHORT)) && cmd+=" --short"
[[ -n $ONLY ]] && cmd+=" --paths $ONLY"
[[ $SIZES != 64,1400 ]] && cmd+=" --sizes $SIZES"
# The raw results, kept, are the report's input: bench/report.py redraws tables and charts from them.
report_in=$RESULTS report_args=(--command "$cmd")
if [[ -n $RAW ]]; then
    mkdir -p "$(dirname "$RAW")"
    cp "$RESULTS" "$RAW"
    report_in=$RAW
    [[ -n $OUT ]] && report_args+=(--link-results)
    log "kept the raw results in $RAW"
fi
[[ -n $OUT ]] && report_args+=(--markdown "$OUT")
[[ -n $CHARTS ]] && report_args+=(--charts "$CHARTS")
"$REPORT_PYTHON" "$REPO/bench/report.py" "$report_in" "${report_args[@]}"
[[ -n $OUT ]] && log "wrote $OUT${CHARTS:+ and its charts in $CHARTS}"
[[ ${BENCH_KEEP_TMP:-0} == 1 ]] && cp "$RESULTS" "$TMP/results.keep.jsonl"

# Pass only if every path that ran moved traffic (no speed is asserted).
failed=$(jq -r 'select(.sink and .sink.received == 0) | .tag' "$RESULTS")
[[ -z $failed ]] || die "moved no traffic: ${failed//$'\n'/ }"
log "every path moved traffic"
