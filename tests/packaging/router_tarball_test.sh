#!/bin/bash
# scripts/router-tarball.sh ARCH BINARY: the tarball's files, modes and owners, and that it
# refuses a binary for another architecture. Usage: router_tarball_test.sh ARCH BINARY [SOURCE_DIR]
set -u
ARCH=${1:?usage: $0 ARCH BINARY [SOURCE_DIR]}
BIN=${2:?usage: $0 ARCH BINARY [SOURCE_DIR]}
SRC=${3:-$(cd "$(dirname "$0")/../.." && pwd)}
WORK=$(mktemp -d /tmp/porthop-tarball-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
passed=0
failed=0
ok() { echo "PASS: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1"; [[ -n ${2:-} ]] && sed 's/^/  /' <<<"$2" | head -20; failed=$((failed + 1)); }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
finish() { echo "$passed passed, $failed failed"; [[ $failed -eq 0 ]]; exit; }

if out=$(PORTHOP_TARBALL_DIR=$WORK/out "$SRC/scripts/router-tarball.sh" "$ARCH" "$BIN" 2>&1); then
    ok "router-tarball.sh $ARCH"
else
    bad "router-tarball.sh $ARCH" "$out"
    finish
fi
TGZ=$(tail -n 1 <<<"$out")
version=$(sed -n 's/^project(porthop VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
check "named porthop-$version-$ARCH.tar.gz, in PORTHOP_TARBALL_DIR" test "$TGZ" = "$WORK/out/porthop-$version-$ARCH.tar.gz"

tar -tvzf "$TGZ" >"$WORK/list" || bad "tar -tzf"
expected="etc/init.d/porthop
etc/porthop/client.toml.example
etc/porthop/server.toml.example
usr/bin/porthop
usr/share/doc/porthop/README.router.md
usr/share/doc/porthop/client.toml.example
usr/share/doc/porthop/server.toml.example"
files=$(awk '{ print $6 }' "$WORK/list")
if [[ $files == "$expected" ]]; then ok "exactly the expected files, no directory entries"
else bad "exactly the expected files, no directory entries" "$(diff <(echo "$expected") <(echo "$files"))"; fi
check "everything owned by 0/0" test -z "$(awk '$2 != "0/0"' "$WORK/list")"
check "usr/bin/porthop is -rwxr-xr-x" grep -qE '^-rwxr-xr-x .* usr/bin/porthop$' "$WORK/list"
check "etc/init.d/porthop is -rwxr-xr-x" grep -qE '^-rwxr-xr-x .* etc/init.d/porthop$' "$WORK/list"
check "the examples are -rw-r--r--" test "$(grep -c '^-rw-r--r-- .*\.example$' "$WORK/list")" = 4

mkdir "$WORK/x"
tar -xzf "$TGZ" -C "$WORK/x"
check "the binary is the one given" cmp -s "$WORK/x/usr/bin/porthop" "$BIN"
check "the init script is packaging/openwrt/porthop.init" cmp -s "$WORK/x/etc/init.d/porthop" "$SRC/packaging/openwrt/porthop.init"
for role in client server; do
    check "etc/porthop/$role.toml.example is packaging/openwrt/$role.toml" \
        cmp -s "$WORK/x/etc/porthop/$role.toml.example" "$SRC/packaging/openwrt/$role.toml"
    check "usr/share/doc/porthop/$role.toml.example is conf/$role.toml" \
        cmp -s "$WORK/x/usr/share/doc/porthop/$role.toml.example" "$SRC/conf/$role.toml"
done
readme=$WORK/x/usr/share/doc/porthop/README.router.md
check "README.router.md is the README's router section" test "$(head -1 "$readme")" = "## Running on a router"
check "... and only that section" test "$(grep -c '^## ' "$readme")" = 1

cp "$TGZ" "$WORK/first.tar.gz"
PORTHOP_TARBALL_DIR=$WORK/out "$SRC/scripts/router-tarball.sh" "$ARCH" "$BIN" >/dev/null 2>&1
check "made twice, the tarball is byte for byte the same" cmp -s "$TGZ" "$WORK/first.tar.gz"

# A binary for another machine (the host's /bin/sh) must not go into a router tarball.
if out=$(PORTHOP_TARBALL_DIR=$WORK/other "$SRC/scripts/router-tarball.sh" "$ARCH" /bin/sh 2>&1); then
    bad "a host binary is refused" "$out"
else
    check "a host binary is refused, saying why" grep -q "is not an $ARCH binary" <<<"$out"
fi
check "... and no tarball is left" test ! -e "$WORK/other/porthop-$version-$ARCH.tar.gz"
finish
