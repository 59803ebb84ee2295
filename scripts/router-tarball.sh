#!/bin/bash
# A tarball for a router (OpenWrt or any Linux without a package for porthop), per architecture:
#   scripts/router-tarball.sh ARCH [BINARY]     ARCH: arm64, armhf or mipsel
# Builds the static binary with scripts/cross-build.sh ARCH unless BINARY (an already built
# one, e.g. that script's output) is given. The tarball's paths are relative to / and it has no
# directory entries, so `tar -xzf porthop-...tar.gz -C /` on the router installs it without
# touching existing directories' modes:
#   usr/bin/porthop                       the static binary
#   etc/init.d/porthop                    procd init script (packaging/openwrt/porthop.init)
#   etc/porthop/client.toml.example       router samples (packaging/openwrt/); copy to *.toml
#   etc/porthop/server.toml.example
#   usr/share/doc/porthop/README.router.md    README's "Running on a router"
#   usr/share/doc/porthop/client.toml.example, server.toml.example   every key (conf/)
# Examples, never the live files: extracting a newer tarball keeps the router's configuration.
# The last line printed is the tarball's path (in PORTHOP_TARBALL_DIR, default the binary's
# directory, e.g. build-ARCH/).
set -euo pipefail
arch=${1:-}
case "$arch" in
    arm64 | armhf | mipsel) ;;
    *) echo "usage: $0 arm64|armhf|mipsel [BINARY]" >&2; exit 2 ;;
esac
src=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^project(porthop VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[[ -n $version ]] || { echo "router-tarball: no version in CMakeLists.txt" >&2; exit 1; }
if [[ -n ${2:-} ]]; then
    bin=$2
else
    bin=$("$src/scripts/cross-build.sh" "$arch" | tail -n 1)
fi
[[ -f $bin ]] || { echo "router-tarball: $bin: no such binary" >&2; exit 1; }
# The binary must be for ARCH: a host binary in a router tarball would not run there.
declare -A machine=([arm64]=AArch64 [armhf]=ARM [mipsel]="MIPS R3000")
if ! readelf -h "$bin" | grep -q "Machine: *${machine[$arch]}"; then
    echo "router-tarball: $bin is not an $arch binary: $(readelf -h "$bin" | grep Machine)" >&2
    exit 1
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
install -D -m 0755 "$bin" "$stage/usr/bin/porthop"
install -D -m 0755 "$src/packaging/openwrt/porthop.init" "$stage/etc/init.d/porthop"
for role in client server; do
    install -D -m 0644 "$src/packaging/openwrt/$role.toml" "$stage/etc/porthop/$role.toml.example"
    install -D -m 0644 "$src/conf/$role.toml" "$stage/usr/share/doc/porthop/$role.toml.example"
done
# The README's section, from its heading to the next one of the same level.
awk '/^## Running on a router/ { on = 1; print; next } on && /^## / { exit } on' "$src/README.md" \
    >"$stage/README.router.md"
[[ -s $stage/README.router.md ]] || { echo "router-tarball: README.md has no '## Running on a router'" >&2; exit 1; }
install -D -m 0644 "$stage/README.router.md" "$stage/usr/share/doc/porthop/README.router.md"
rm "$stage/README.router.md"

out_dir=${PORTHOP_TARBALL_DIR:-$(dirname "$bin")}
mkdir -p "$out_dir"
out=$(cd "$out_dir" && pwd)/porthop-$version-$arch.tar.gz
# Reproducible: fixed owner, order and time (the last commit's, or SOURCE_DATE_EPOCH).
mtime=${SOURCE_DATE_EPOCH:-$(git -C "$src" log -1 --format=%ct 2>/dev/null || echo 0)}
(cd "$stage" && find . -type f | sed 's|^\./||' | LC_ALL=C sort) >"$stage.list"
tar -C "$stage" --owner=0 --group=0 --numeric-owner --mtime="@$mtime" --no-recursion \
    -T "$stage.list" -cf - | gzip -n -9 >"$out"
rm -f "$stage.list"
echo "$out"
