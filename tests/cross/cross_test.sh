#!/bin/bash
# One router architecture end to end: build it (scripts/cross-build.sh ARCH --tests) into
# BUILD_DIR, then run its tests there under qemu-user (unit tests, resolver, relay smoke test).
# Prints how long each step took. Usage: cross_test.sh ARCH BUILD_DIR
set -euo pipefail
arch=${1:?usage: $0 ARCH BUILD_DIR}
build=${2:?usage: $0 ARCH BUILD_DIR}
src=$(cd "$(dirname "$0")/../.." && pwd)
start=$SECONDS
PORTHOP_CROSS_BUILD_DIR=$build JOBS=${JOBS:-$(nproc)} "$src/scripts/cross-build.sh" "$arch" --tests
built=$SECONDS
echo "cross.$arch: build $((built - start)) s"
status=0
# In parallel: each test works in a directory and on free ports of its own; the unit tests
# under qemu are single-threaded and would leave the other CPUs idle.
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" || status=$?
echo "cross.$arch: tests under qemu $((SECONDS - built)) s"
exit $status
