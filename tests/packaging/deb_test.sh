#!/usr/bin/env bash
# The Debian package as CPack builds it from a build directory: its files, control fields,
# conffiles, maintainer scripts and systemd unit, and the packaged binary itself. Nothing is
# installed: the package is only listed and extracted into a temporary directory.
#
# Usage: deb_test.sh BUILD_DIR [SOURCE_DIR]
#   BUILD_DIR   a configured and built porthop build directory (it holds CPackConfig.cmake)
#   SOURCE_DIR  the checkout (default: two levels above this script)
# Environment: CPACK (default: cpack from PATH), PORTHOP_VERSION (default: read from
# CPackConfig.cmake). For a router build's package (scripts/cross-build.sh ARCH; a static binary):
# PORTHOP_DEB_ARCH (the expected Architecture, default the host's), PORTHOP_DEB_EMULATOR (runs
# the packaged binary, e.g. "qemu-aarch64-static -L /empty/dir") and PORTHOP_DEB_STATIC=1
# (Depends is then exactly adduser: there are no shared libraries to depend on).
# Needs dpkg-deb (dpkg) and dpkg-shlibdeps (dpkg-dev); systemd-analyze (systemd) is optional:
# without it the unit file checks are skipped.
# Prints one line per check, then "N passed, M failed"; exits non-zero on any failure.
# The check functions below are called through check(), which shellcheck cannot see.
# shellcheck disable=SC2317
set -u

BUILD_DIR=${1:?usage: deb_test.sh BUILD_DIR [SOURCE_DIR]}
SOURCE_DIR=${2:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
CPACK=${CPACK:-cpack}
BUILD_DIR=$(cd "$BUILD_DIR" && pwd) || exit 2

passed=0
failed=0
skipped=0
WORK=$(mktemp -d /tmp/porthop-deb-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

ok() { echo "PASS: $1"; passed=$((passed + 1)); }
bad() {
    echo "FAIL: $1"
    [[ -n ${2:-} ]] && printf '%s\n' "$2" | head -n 40 | sed 's/^/  /'
    failed=$((failed + 1))
}
skip() { echo "SKIP: $1"; skipped=$((skipped + 1)); }
# check NAME CONDITION...: CONDITION is a command; the check passes when it succeeds.
check() {
    local name=$1
    shift
    if "$@"; then ok "$name"; else bad "$name"; fi
}
# expect NAME STATUS DETAIL: passes when STATUS is 0, else prints DETAIL.
expect() { if [[ $2 -eq 0 ]]; then ok "$1"; else bad "$1" "$3"; fi; }
# same NAME FILE_IN_PACKAGE FILE_IN_CHECKOUT
same() { check "$1" cmp -s "$2" "$3"; }
finish() {
    local extra=""
    [[ $skipped -gt 0 ]] && extra=", $skipped skipped"
    echo "$passed passed, $failed failed$extra"
    [[ $failed -eq 0 ]]
    exit
}

DEB_ARCH=${PORTHOP_DEB_ARCH:-$(dpkg --print-architecture 2>/dev/null)}
read -r -a EMULATOR <<<"${PORTHOP_DEB_EMULATOR:-}"
STATIC=${PORTHOP_DEB_STATIC:-0}
tools=("$CPACK" dpkg-deb)
[[ $STATIC == 1 ]] || tools+=(dpkg-shlibdeps)
for tool in "${tools[@]}"; do
    if ! command -v "$tool" >/dev/null; then
        bad "tool present: $tool" "install it (dpkg-shlibdeps: package dpkg-dev; cpack: cmake)"
    fi
done
[[ -f $BUILD_DIR/CPackConfig.cmake ]] || bad "CPackConfig.cmake in $BUILD_DIR" "configure the build first"
[[ $failed -eq 0 ]] || finish

VERSION=${PORTHOP_VERSION:-$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' \
    "$BUILD_DIR/CPackConfig.cmake")}

# ---------------------------------------------------------------- build the package
# -B puts the package and CPack's staging tree (_CPack_Packages) into the temporary directory.
if (cd "$BUILD_DIR" && "$CPACK" -G DEB -B "$WORK/out" --config CPackConfig.cmake) \
    >"$WORK/cpack.log" 2>&1; then
    ok "cpack -G DEB"
else
    bad "cpack -G DEB" "$(tail -n 30 "$WORK/cpack.log")"
    finish
fi
shopt -s nullglob
debs=("$WORK"/out/*.deb)
shopt -u nullglob
if [[ ${#debs[@]} -eq 1 ]]; then
    ok "one package: $(basename "${debs[0]}")"
else
    bad "exactly one .deb produced (found ${#debs[@]})" "$(ls -la "$WORK/out")"
    finish
fi
DEB=${debs[0]}
no_shlibdeps_problem() { ! grep -qiE 'shlibdeps.*(not found|error|warning)' "$WORK/cpack.log"; }
check "cpack reports no dpkg-shlibdeps problem" no_shlibdeps_problem

# ---------------------------------------------------------------- contents
dpkg-deb -c "$DEB" >"$WORK/contents" || bad "dpkg-deb -c"
# "mode owner/group size date time ./path" -> "path" for regular files
awk '$1 ~ /^-/ { sub(/^\.\//, "", $6); print $6 }' "$WORK/contents" | sort >"$WORK/files"
awk '{ sub(/^\.\//, "", $6); print $1, $2, $6 }' "$WORK/contents" >"$WORK/modes"
echo "package contents:"
sed 's/^/  /' "$WORK/files"

UNITS=(porthop.service porthop-client.service)
for path in usr/bin/porthop "${UNITS[@]/#/lib/systemd/system/}" etc/porthop/server.toml etc/porthop/client.toml \
            usr/share/doc/porthop/README.md usr/share/doc/porthop/server.toml.example \
            usr/share/doc/porthop/client.toml.example usr/share/doc/porthop/PROTOCOL.md; do
    check "contains /$path" grep -qxF "$path" "$WORK/files"
done
no_usr_local() { ! grep -q '^usr/local' "$WORK/files"; }
# An io_uring build (-DPORTHOP_IO_URING=ON) ships its epoll fallback beside the binary.
expected_bin=usr/bin/porthop
[[ -x $BUILD_DIR/porthop-epoll ]] && expected_bin+=$'\n'usr/bin/porthop-epoll
only_porthop_in_bin() { [[ $(grep '^usr/bin/' "$WORK/files" | sort) == "$expected_bin" ]]; }
all_root_owned() { ! awk '$2 != "root/root"' "$WORK/modes" | grep -q .; }
check "nothing under /usr/local" no_usr_local
check "only porthop in /usr/bin" only_porthop_in_bin
unwanted='(^|/)(unit_tests|integration_tests|bench_[^/]*|[^/]*_test[^/]*|lib[^/]*\.(a|so[.0-9]*))$'
if grep -qiE "$unwanted" "$WORK/files"; then
    bad "no test or benchmark binaries, no libraries" "$(grep -iE '_test|bench|\.a$|\.so' "$WORK/files")"
else
    ok "no test or benchmark binaries, no libraries"
fi
check "every entry owned by root/root" all_root_owned
check "/usr/bin/porthop is -rwxr-xr-x" grep -qE '^-rwxr-xr-x root/root usr/bin/porthop$' "$WORK/modes"
for path in "${UNITS[@]/#/lib/systemd/system/}" etc/porthop/server.toml etc/porthop/client.toml; do
    check "/$path is -rw-r--r--" grep -qE "^-rw-r--r-- root/root ${path//./\\.}\$" "$WORK/modes"
done

# ---------------------------------------------------------------- control fields
field() { dpkg-deb -f "$DEB" "$1"; }
depends=$(field Depends)
check "Package: porthop" test "$(field Package)" = porthop
check "Version: $VERSION (the project's)" test -n "$VERSION" -a "$(field Version)" = "$VERSION"
if [[ -n $DEB_ARCH ]]; then
    check "Architecture: $DEB_ARCH" test "$(field Architecture)" = "$DEB_ARCH"
fi
check "Section: net" test "$(field Section)" = net
check "Maintainer is set" test -n "$(field Maintainer)"
long_description() { [[ $(field Description | wc -l) -ge 3 ]]; }
check "Description has a summary and a long text" long_description
echo "  Depends: $depends"
check "Depends is not empty" test -n "$depends"
# depends_has NAME: NAME is one comma-separated item of Depends ("name", "name (>= x)", "name | y")
depends_has() { tr ',' '\n' <<<"$depends" | sed 's/^ *//; s/[ |(].*//' | grep -qxF "$1"; }
if [[ $STATIC == 1 ]]; then
    check "Depends is exactly adduser (a static binary)" test "$depends" = adduser
    # Static: no program interpreter, hence no shared library at all.
    static_binary() { ! readelf -l "$WORK/root/usr/bin/porthop" | grep -q INTERP; }
else
    for dep in libtomlplusplus3 libsodium23 libc-ares2 libqrencode4 libc6 libstdc++6 adduser; do
        check "Depends names $dep" depends_has "$dep"
    done
fi

# ---------------------------------------------------------------- control area
mkdir -p "$WORK/control"
dpkg-deb -e "$DEB" "$WORK/control" || bad "dpkg-deb -e"
conffiles_exact() { [[ $(cat "$WORK/control/conffiles") == $'/etc/porthop/server.toml\n/etc/porthop/client.toml' ]]; }
check "conffiles is exactly /etc/porthop/server.toml and client.toml" conffiles_exact
check "md5sums present" test -s "$WORK/control/md5sums"
for script in postinst prerm postrm; do
    check "$script is executable" test -x "$WORK/control/$script"
    check "$script has valid sh syntax" sh -n "$WORK/control/$script"
    same "$script identical to packaging/debian/$script" \
        "$WORK/control/$script" "$SOURCE_DIR/packaging/debian/$script"
done
check "postinst creates the porthop system user" \
    grep -qE '^[[:space:]]*adduser --system' "$WORK/control/postinst"

# ---------------------------------------------------------------- extracted files
X=$WORK/root
dpkg-deb -x "$DEB" "$X" || bad "dpkg-deb -x"
[[ $STATIC == 1 ]] && check "packaged binary is static" static_binary
for unit in "${UNITS[@]}"; do
    same "unit file identical to packaging/$unit" "$X/lib/systemd/system/$unit" "$SOURCE_DIR/packaging/$unit"
done
for conf in server.toml client.toml; do
    same "/etc/porthop/$conf identical to conf/$conf" "$X/etc/porthop/$conf" "$SOURCE_DIR/conf/$conf"
done
same "server.toml.example identical to conf/server.toml" \
    "$X/usr/share/doc/porthop/server.toml.example" "$SOURCE_DIR/conf/server.toml"
same "README.md identical to the checkout's" "$X/usr/share/doc/porthop/README.md" "$SOURCE_DIR/README.md"

out=$("${EMULATOR[@]}" "$X/usr/bin/porthop" --version 2>&1)
check "packaged binary: --version prints 'porthop $VERSION'" test "$out" = "porthop $VERSION"
out=$("${EMULATOR[@]}" "$X/usr/bin/porthop" check-config "$X/etc/porthop/server.toml" 2>&1)
status=$?
expect "packaged binary accepts the packaged server.toml" "$status" "$out"
out=$("${EMULATOR[@]}" "$X/usr/bin/porthop" check-config "$X/etc/porthop/client.toml" 2>&1)
status=$?
expect "packaged binary accepts the packaged client.toml" "$status" "$out"
# Not yet runnable: the client needs the hop-link key, which no package can ship.
out=$(timeout 10 "${EMULATOR[@]}" "$X/usr/bin/porthop" client --config "$X/etc/porthop/client.toml" 2>&1)
status=$?
refuses_keyless() { [[ $status -ne 0 && $out == *"client.key: missing"* ]]; }
check "packaged binary will not run the client on the packaged client.toml (no key)" refuses_keyless
if command -v readelf >/dev/null; then
    stripped() { ! readelf -S "$X/usr/bin/porthop" | grep -qE '\.(symtab|debug_info)'; }
    check "packaged binary is stripped" stripped
fi

# ---------------------------------------------------------------- the units, as systemd reads them
# systemd-analyze verify checks that ExecStart* commands exist: point them at the extracted
# binary. It exits 0 even on unknown keys or bad values, so any output at all is a failure.
# The hardening must not regress: each unit's overall exposure at most what it scores with
# systemd 252 (the relay 1.5: it binds ports below 1024; the client 1.1: no capability, private
# users). Relaxing a setting on purpose means raising its threshold with it.
declare -A EXPOSURE=([porthop.service]=15 [porthop-client.service]=11)
if command -v systemd-analyze >/dev/null; then
    mkdir -p "$WORK/unit"
    for unit in "${UNITS[@]}"; do
        sed "s|/usr/bin/porthop|$X/usr/bin/porthop|g" "$X/lib/systemd/system/$unit" >"$WORK/unit/$unit"
        out=$(systemd-analyze verify --man=no "$WORK/unit/$unit" 2>&1)
        status=$?
        [[ -n $out ]] && status=1
        expect "systemd-analyze verify $unit: no warnings" "$status" "$out"
        out=$(systemd-analyze security --offline=yes --threshold="${EXPOSURE[$unit]}" --no-pager \
            "$WORK/unit/$unit" 2>&1)
        status=$?
        echo "  $(grep -F 'Overall exposure level' <<<"$out")"
        t=${EXPOSURE[$unit]}
        expect "systemd-analyze security $unit: exposure <= $((t / 10)).$((t % 10))" \
            "$status" "$(grep -F '✗' <<<"$out")"
    done
else
    skip "systemd-analyze verify/security (install the systemd package to run them)"
fi

finish
