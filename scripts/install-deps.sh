#!/bin/bash
# Installs what porthop needs on Debian 12 (run as root). Only Debian packages; nothing else
# is downloaded at build time.
#   scripts/install-deps.sh          build dependencies
#   scripts/install-deps.sh --test   plus what the test suite runs (wireguard-go, openvpn, ...)
set -euo pipefail

build=(build-essential cmake pkg-config libboost1.81-dev libtomlplusplus-dev libssl-dev libsodium-dev libc-ares-dev catch2 libbenchmark-dev libqrencode-dev)
# libqrencode-dev: the QR code `porthop invite` draws in the terminal (optional in the build: the
# static router builds, which have no libqrencode, print the link alone).
# libc-ares-dev: host-name resolution (net/resolve) without glibc's NSS, so that the static
# router builds resolve names where there is no glibc.
# The test build also builds the io_uring backend (liburing). e2e tests: real WireGuard
# (userspace) and OpenVPN in network namespaces, iperf3 for traffic, nftables for the censor router, openssl for throwaway OpenVPN certificates, jq
# for iperf3 results, promtool (prometheus) to check the metrics endpoint, dpkg-dev (cpack
# DEB: dpkg-shlibdeps) and systemd (systemd-analyze verify/security) for the packaging test.
test=(liburing-dev wireguard-go wireguard-tools openvpn iperf3 nftables iproute2 iputils-ping openssl procps python3 jq prometheus
      dpkg-dev systemd clang libclang-rt-14-dev llvm nginx libnginx-mod-stream socat udptunnel
      tcpdump libndpi-bin python3-matplotlib tmux zbar-tools)
# clang + libclang-rt-14-dev (libFuzzer, sanitizer runtimes) + llvm (llvm-symbolizer): the
# fuzz targets, which the test suite runs for a bounded time (tests/fuzz/run.sh). nginx with
# its stream module, socat and udptunnel: the relays bench/throughput.sh compares against.
# tcpdump and libndpi-bin (ndpiReader): what a DPI classifier sees of a capture
# (tests/e2e/dpi_visibility.sh). python3-matplotlib: bench/report.py's SVG charts. tmux: the
# terminal `porthop status --watch` is tested in. zbar-tools (zbarimg): decodes the QR code
# `porthop invite` draws (tests/system/invite_test.sh).

# Router builds (scripts/cross-build.sh ARCH) and their tests under qemu-user: Debian's cross
# toolchains and qemu-user-static, plus each target's static libraries (below).
cross_arches=(arm64 armhf mipsel)
# ninja-build: cross-build.sh builds with Ninja where it is installed (it says why).
cross_host=(qemu-user-static ninja-build "${cross_arches[@]/#/crossbuild-essential-}")
# The target's -dev packages are downloaded with apt and extracted under $CROSS_ROOT/ARCH, not
# installed: installed beside the host's they would have to be the very same version
# (Multi-Arch: same), and a mirror's foreign architectures may lag the host's security updates.
cross_target=(libssl-dev libsodium-dev libc-ares-dev)
CROSS_ROOT=${PORTHOP_CROSS_ROOT:-/opt/porthop-cross}

packages=("${build[@]}")
case "${1:-}" in
    --test) packages+=("${test[@]}" "${cross_host[@]}") ;;
    "") ;;
    *) echo "usage: $0 [--test]" >&2; exit 2 ;;
esac

if [[ $(id -u) != 0 ]]; then
    echo "install-deps: run as root (apt-get install)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt_get() { apt-get -o DPkg::Lock::Timeout=600 "$@"; }
# The host's package lists only: a missing index of a foreign architecture must not stop this.
apt_get -o APT::Architectures="$(dpkg --print-architecture)" update -qq
apt_get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "install-deps: ${#packages[@]} packages present"
[[ ${1:-} == --test ]] || exit 0

# ---- the router targets' libraries, extracted under $CROSS_ROOT/ARCH (cmake/CrossToolchain.cmake)
for a in "${cross_arches[@]}"; do dpkg --add-architecture "$a"; done
# A foreign index that fails to download (a mirror mid-sync) leaves that architecture's older
# lists or none: each package is then checked by the download below, with its own error.
apt_get update -qq || echo "install-deps: some package lists failed to update; continuing" >&2
debs=$(mktemp -d)
trap 'rm -rf "$debs"' EXIT
chmod 755 "$debs"
for a in "${cross_arches[@]}"; do
    mkdir -p "$debs/$a"
    chown _apt "$debs/$a" 2>/dev/null || true  # apt downloads as _apt where it can
    if ! (cd "$debs/$a" && apt_get download -qq "${cross_target[@]/%/:$a}" >/dev/null); then
        # A mirror mid-sync must not fail the whole install: without $CROSS_ROOT/$a that
        # architecture's cross test is not registered (cmake says so), the rest runs.
        echo "install-deps: WARNING: cannot download ${cross_target[*]} for $a: no $a cross tests" >&2
        rm -rf "${CROSS_ROOT:?}/$a"
        continue
    fi
    rm -rf "${CROSS_ROOT:?}/$a"
    mkdir -p "$CROSS_ROOT/$a/usr/include" "$CROSS_ROOT/$a/usr/lib/cmake"
    for deb in "$debs/$a"/*.deb; do dpkg-deb -x "$deb" "$CROSS_ROOT/$a"; done
    # Header-only libraries are the same for every architecture: the host's, seen from the root.
    ln -s /usr/include/boost /usr/include/toml++ /usr/include/catch2 "$CROSS_ROOT/$a/usr/include/"
    ln -s /usr/lib/cmake/Catch2 "$CROSS_ROOT/$a/usr/lib/cmake/"
    (cd "$debs/$a" && ls *.deb) >"$CROSS_ROOT/$a/PACKAGES"
done
echo "install-deps: target libraries for ${cross_arches[*]} in $CROSS_ROOT"
