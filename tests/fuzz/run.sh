#!/usr/bin/env bash
# Builds the libFuzzer targets and runs each for a while from the checked-in seed corpus.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]      default: 60 s each, all targets
#
# Needs clang and libclang-rt-14-dev (libFuzzer and the sanitizer runtimes); llvm-14 gives
# llvm-symbolizer for readable stack traces. The build goes to build-fuzz/ (override with
# PORTHOP_FUZZ_BUILD=DIR), configured with clang and -DPORTHOP_FUZZ=ON, which instruments the
# whole build with ASan + UBSan + coverage; tests and benchmarks are not built there (they
# have their own build). It is also the one tree CI compiles file by file
# (-DPORTHOP_UNITY_BUILD=OFF): every other build batches sources, which would hide a source
# that compiles only because another in its batch included what it needs. New inputs land in
# DIR/fuzz-corpus/TARGET and crashes in DIR/fuzz-artifacts/TARGET; the checked-in
# tests/fuzz/corpus is only read. PORTHOP_FUZZ_JOBS: fuzzers run at once (default: CPUs).
#
# Exit status: 0 if every target ran clean, 1 if any found a crash (its input is named).
set -euo pipefail

seconds=${1:-60}
shift || true
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${PORTHOP_FUZZ_BUILD:-$root/build-fuzz}
all_targets=(wg_classify ovpn_classify framing record_lengths mac1 config hoplink hoplink_v2 native_guard stream_start http_head share_link status)
targets=("$@")
((${#targets[@]})) || targets=("${all_targets[@]}")
[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || { echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2; }
parallel=${PORTHOP_FUZZ_JOBS:-$(nproc)}
[[ $parallel =~ ^[0-9]+$ && $parallel -gt 0 ]] || { echo "run.sh: PORTHOP_FUZZ_JOBS must be a positive number" >&2; exit 2; }
for t in "${targets[@]}"; do
    [[ " ${all_targets[*]} " == *" $t "* ]] || { echo "run.sh: unknown target '$t' (${all_targets[*]})" >&2; exit 2; }
done
command -v clang++ >/dev/null || { echo "run.sh: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }

generator=()
[[ ! -f $build/CMakeCache.txt ]] && command -v ninja >/dev/null && generator=(-G Ninja)
# PORTHOP_FUZZ_CMAKE_ARGS: extra configure arguments (word-split), e.g. -DCMAKE_CXX_COMPILER=clang++-14.
# -O1 with line tables only, as OSS-Fuzz builds fuzzers: symbolized stack traces still name file
# and line, and the build costs about a quarter less CPU than -O2 -g (full debug info).
# shellcheck disable=SC2086
CC=clang CXX=clang++ cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
    -DPORTHOP_FUZZ=ON -DPORTHOP_UNITY_BUILD=OFF -DPORTHOP_BUILD_TESTS=OFF -DPORTHOP_BUILD_BENCH=OFF ${PORTHOP_FUZZ_CMAKE_ARGS:-} \
    >"$build.configure.log" 2>&1 || { cat "$build.configure.log" >&2; exit 1; }
[[ -d $build/tests/fuzz ]] || {
    echo "run.sh: the top-level CMakeLists.txt does not add tests/fuzz when PORTHOP_FUZZ=ON" >&2
    exit 1
}
cmake --build "$build" --target fuzz_targets -j"$(nproc)"

# Leaks are reported by LeakSanitizer at exit; UBSan findings abort (-fno-sanitize-recover).
# Symbolized stack traces need llvm-symbolizer (package llvm-14 installs it with a suffix).
if ! command -v llvm-symbolizer >/dev/null && command -v llvm-symbolizer-14 >/dev/null; then
    export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer-14)}
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# One fuzzer per CPU at a time (each runs single-threaded): the wall time is about
# SECONDS x targets / CPUs, not SECONDS x targets. PORTHOP_FUZZ_JOBS overrides the count.
fuzz_one() {  # TARGET: runs it; its exit status is the fuzzer's
    local t=$1
    mkdir -p "$build/fuzz-corpus/$t" "$build/fuzz-artifacts/$t/"
    # The first corpus directory receives new inputs; the checked-in seeds are read only.
    "$build/tests/fuzz/${t}_fuzz" -max_total_time="$seconds" -timeout=10 -max_len=4096 \
        -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/$t/" \
        "$build/fuzz-corpus/$t" "$root/tests/fuzz/corpus/$t" >"$build/fuzz-$t.log" 2>&1
}
declare -A pid_of=()
for t in "${targets[@]}"; do
    while (($(jobs -rp | wc -l) >= parallel)); do wait -n || true; done
    echo "== $t: ${seconds}s" >&2
    fuzz_one "$t" &
    pid_of[$t]=$!
done
failed=()
summary=()
for t in "${targets[@]}"; do
    log=$build/fuzz-$t.log
    if wait "${pid_of[$t]}"; then
        status=ok
    else
        status=FAILED
        failed+=("$t")
        grep -E 'ERROR|SUMMARY|Test unit written|deadly signal' "$log" >&2 || tail -n 30 "$log" >&2
    fi
    runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log" | tail -n 1)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1 || true)
    summary+=("$(printf '%-14s %-6s %12s execs  %s  corpus %s files' "$t" "$status" "${runs:-?}" "${cov:-}" \
        "$(find "$build/fuzz-corpus/$t" -type f | wc -l)")")
done

echo
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
    echo "run.sh: crashes in: ${failed[*]} (inputs under $build/fuzz-artifacts/, logs $build/fuzz-*.log)" >&2
    exit 1
fi
