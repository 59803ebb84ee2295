#!/usr/bin/env bash
# Runs the integration cases that need IPv6 addresses in many /64s ([.ipv6_netns]) in a network
# namespace of their own: `unshare --net` gives this process a fresh namespace (loopback only,
# no route anywhere else) that disappears with it, so there is nothing to clean up. Root only.
# Usage: integration_ipv6.sh INTEGRATION_TESTS_BINARY
set -euo pipefail
binary=${1:?usage: integration_ipv6.sh INTEGRATION_TESTS_BINARY}
if ((EUID != 0)); then
    echo "integration_ipv6: needs root (a network namespace of its own); skipped" >&2
    exit 77
fi
# shellcheck disable=SC2016 # expanded by the inner shell
exec unshare --net bash -c '
set -euo pipefail
ip link set lo up
sysctl -qw net.ipv6.conf.lo.disable_ipv6=0
for prefix in $(seq 1 12); do
    # The hosts workers_test.cpp binds to: two per /64, differing in the interface identifier.
    ip -6 addr add "fd00:7068:0:$prefix::2/128" dev lo
    ip -6 addr add "fd00:7068:0:$prefix:a11:b22:c33:d44/128" dev lo
done
exec "$1" "[.ipv6_netns]"
' integration_ipv6 "$binary"
