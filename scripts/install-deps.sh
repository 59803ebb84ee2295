#!/bin/bash
# Installs what porthop needs on Debian 12 (run as root). Only Debian packages; nothing else
# is downloaded at build time.
#   scripts/install-deps.sh          build dependencies
#   scripts/install-deps.sh --test   plus what the test suite runs (wireguard-go, openvpn, ...)
set -euo pipefail

build=(build-essential cmake pkg-config libboost1.81-dev libtomlplusplus-dev libssl-dev libsodium-dev catch2 libbenchmark-dev)
# The test build also builds the io_uring backend (liburing). e2e tests: real WireGuard
# (userspace) and OpenVPN in network namespaces, iperf3 for traffic, nftables for the censor router, openssl for throwaway OpenVPN certificates, jq
# for iperf3 results, promtool (prometheus) to check the metrics endpoint, dpkg-dev (cpack
# DEB: dpkg-shlibdeps) and systemd (systemd-analyze verify/security) for the packaging test.
test=(liburing-dev wireguard-go wireguard-tools openvpn iperf3 nftables iproute2 iputils-ping openssl procps python3 jq prometheus
      dpkg-dev systemd clang libclang-rt-14-dev llvm nginx libnginx-mod-stream socat udptunnel)
# clang + libclang-rt-14-dev (libFuzzer, sanitizer runtimes) + llvm (llvm-symbolizer): the
# fuzz targets, which the test suite runs for a bounded time (tests/fuzz/run.sh). nginx with
# its stream module, socat and udptunnel: the relays bench/throughput.sh compares against.

packages=("${build[@]}")
case "${1:-}" in
    --test) packages+=("${test[@]}") ;;
    "") ;;
    *) echo "usage: $0 [--test]" >&2; exit 2 ;;
esac

if [[ $(id -u) != 0 ]]; then
    echo "install-deps: run as root (apt-get install)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "install-deps: ${#packages[@]} packages present"
