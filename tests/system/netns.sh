# shellcheck shell=bash
# Runs the sourcing system test inside a network namespace of its own (phsys-<pid>), so that its
# loads (thousands of loopback sources, thousands of connections) never touch the host's
# loopback or collide with another test. Source this FIRST, before lib.sh:
#
#   source "$(dirname "$0")/netns.sh"   # re-executes the script inside the namespace
#   source "$(dirname "$0")/lib.sh"
#
# The outer run creates the namespace, runs the script again inside it (PORTHOP_NETNS set) and
# deletes the namespace on every exit path (trap), killing whatever is still inside. A run
# killed with SIGKILL cannot clean up; the next run removes namespaces whose owner is gone.
# Needs root; exits 77 (skipped) without it.
if [[ -z ${PORTHOP_NETNS:-} ]]; then
    PATH=$PATH:/usr/sbin:/sbin
    if [[ $(id -u) -ne 0 ]]; then echo "SKIP: needs root (network namespace)"; exit 77; fi
    for _ns in $(ip netns list | awk '{print $1}' | grep -E '^phsys-[0-9]+$' || true); do
        [[ -d /proc/${_ns#phsys-} ]] && continue
        ip netns pids "$_ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
        ip netns del "$_ns" 2>/dev/null || true
    done
    _PH_SYS_NS=phsys-$$
    _ph_sys_ns_cleanup() {
        local rc=$?
        trap - EXIT INT TERM
        ip netns pids "$_PH_SYS_NS" 2>/dev/null | xargs -r kill -TERM 2>/dev/null || true
        # Up to 3 s for the inner run's own cleanup (lib.sh's trap), then SIGKILL for the rest.
        local _i
        for _i in $(seq 30); do
            [[ -z $(ip netns pids "$_PH_SYS_NS" 2>/dev/null) ]] && break
            sleep 0.1
        done
        ip netns pids "$_PH_SYS_NS" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
        ip netns del "$_PH_SYS_NS" 2>/dev/null || echo "could not delete namespace $_PH_SYS_NS"
        exit "$rc"
    }
    trap _ph_sys_ns_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    ip netns add "$_PH_SYS_NS"
    ip -n "$_PH_SYS_NS" link set lo up
    # Not exec: this shell stays to delete the namespace. The inner run is waited for in the
    # background so that a signal to this shell runs the trap at once.
    PORTHOP_NETNS=$_PH_SYS_NS ip netns exec "$_PH_SYS_NS" bash "$0" "$@" &
    _ph_inner=$!
    _ph_rc=0
    wait "$_ph_inner" || _ph_rc=$?
    exit "$_ph_rc"
fi
# Inside: the loads below need more descriptors than a default shell allows.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
