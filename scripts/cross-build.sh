#!/bin/bash
# Builds a static porthop for a router with Debian 12's cross toolchain:
#   scripts/cross-build.sh ARCH [--tests]      ARCH: arm64, armhf or mipsel
# The last line printed is the path of the stripped binary (BUILD_DIR/porthop-ARCH).
# --tests also builds the test binaries that tests/cross runs under qemu (ctest in BUILD_DIR).
# Needs scripts/install-deps.sh --test (the cross toolchains and the targets' libraries).
# Environment: PORTHOP_CROSS_BUILD_DIR (default build-ARCH in the checkout), JOBS (default 2).
#
# The event backend is epoll only: io_uring needs liburing for the target and a kernel that
# allows it, and router kernels (OpenWrt's among them) are often built without it; qemu-user
# does not emulate io_uring at all, so such a build could not be tested here either.
set -euo pipefail

usage() { echo "usage: $0 arm64|armhf|mipsel [--tests]" >&2; exit 2; }
arch=${1:-}
case "$arch" in
    arm64) triplet=aarch64-linux-gnu ;;
    armhf) triplet=arm-linux-gnueabihf ;;
    mipsel) triplet=mipsel-linux-gnu ;;
    *) usage ;;
esac
tests=OFF
case "${2:-}" in
    --tests) tests=ON ;;
    "") ;;
    *) usage ;;
esac
src=$(cd "$(dirname "$0")/.." && pwd)
build=${PORTHOP_CROSS_BUILD_DIR:-$src/build-$arch}

if ! command -v "$triplet-g++" >/dev/null; then
    echo "cross-build: $triplet-g++ missing: run scripts/install-deps.sh --test (crossbuild-essential-$arch)" >&2
    exit 1
fi
# Ninja where it is installed and the tree is new (a tree keeps the generator it was made
# with). With unity builds each layer's library is one to three translation units, and Make
# starts a library only once the libraries it links are built, so the layers would compile
# nearly one at a time; Ninja compiles the sources of every library at once and waits only to
# link.
generator=()
[[ ! -f $build/CMakeCache.txt ]] && command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$src" -B "$build" "${generator[@]}" -DCMAKE_TOOLCHAIN_FILE="$src/cmake/toolchain-$arch.cmake" \
    -DCMAKE_BUILD_TYPE=Release -DPORTHOP_BUILD_BENCH=OFF -DPORTHOP_BUILD_TESTS="$tests" >"$build.configure.log" 2>&1 \
    || { cat "$build.configure.log" >&2; exit 1; }
mv "$build.configure.log" "$build/configure.log"
targets=(porthop)
[[ $tests == ON ]] && targets+=(unit_tests resolve_tests)
# The link's warnings are kept: they are how a static glibc binary says it would need NSS or
# dlopen at run time.
if ! nice -n 10 cmake --build "$build" -j"${JOBS:-2}" --target "${targets[@]}" >"$build/build.log" 2>&1; then
    tail -n 40 "$build/build.log" >&2
    exit 1
fi

bin=$build/porthop
# Static: no program interpreter, no shared libraries.
if readelf -l "$bin" | grep -q INTERP || readelf -d "$bin" 2>/dev/null | grep -q NEEDED; then
    echo "cross-build: $bin is not static:" >&2
    readelf -d "$bin" >&2 || true
    exit 1
fi
# glibc's static link warns for every function that would load NSS or other shared objects at
# run time (getaddrinfo, getpwnam, dlopen...): such a call fails where there is no glibc. The
# link names the archive member that references each one. These are allowed, because porthop
# never reaches them (net/resolve passes c-ares no service name and calls no ares_getnameinfo;
# porthop uses no OpenSSL BIO sockets, and OpenSSL loads a module with dlopen only when an
# openssl.cnf asks for one, which a router does not have):
allowed='libcrypto-lib-dso_dlfcn.o:dlopen
libcrypto-lib-bio_addr.o:getaddrinfo
libcrypto-lib-bio_sock.o:gethostbyname
libcares_la-ares_getaddrinfo.o:getservbyname
libcares_la-ares_getnameinfo.o:getservbyport_r'
# Anything else, above all a porthop object using getaddrinfo, fails the build.
# "...libcares.a(libcares_la-ares_getaddrinfo.o): in function `ares_getaddrinfo':" then
# "(.text+0xa34): warning: Using 'getservbyname' in statically linked ..." -> member:symbol
found=$(awk '/: in function `/ { m = $0; sub(/.*\(/, "", m); sub(/\):.*/, "", m); if (m == $0) m = $0 }
             /warning: Using .* in statically linked/ { s = $0; sub(/.*Using \047/, "", s); sub(/\047.*/, "", s); print m ":" s }' \
        "$build/build.log" | sort -u)
unexpected=$(comm -23 <(echo "$found" | sed '/^$/d') <(echo "$allowed" | sort))
if [[ -n $unexpected ]]; then
    echo "cross-build: the static binary would need glibc's shared objects at run time for:" >&2
    echo "$unexpected" >&2
    exit 1
fi
"$triplet-strip" -o "$build/porthop-$arch" "$bin"
echo "$build/porthop-$arch"
