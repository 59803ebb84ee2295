#!/usr/bin/env bash
# `porthop bench` as a user runs it, short (--seconds 1: six cases of one second): the JSON
# has the six cases with positive figures (check_bench_json.py, whose rejections are tested
# here too), the table has a row per case, and bad options are usage errors (exit 2).
#
# Usage: bench_test.sh PORTHOP_BINARY
set -u

PORTHOP=${1:?usage: bench_test.sh PORTHOP_BINARY}
HERE=$(cd "$(dirname "$0")" && pwd)
CHECK="python3 $HERE/check_bench_json.py"
WORK=$(mktemp -d /tmp/porthop-bench-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
passed=0
failed=0

ok() { echo "PASS: $1"; passed=$((passed + 1)); }
bad() {
    echo "FAIL: $1"
    echo "  stdout: $(head -c 3000 "$WORK/out")"
    echo "  stderr: $(head -c 2000 "$WORK/err")"
    failed=$((failed + 1))
}
# run ARGS...: porthop bounded by a timeout; keeps the status.
run() {
    timeout 50 "$PORTHOP" "$@" >"$WORK/out" 2>"$WORK/err" </dev/null
    status=$?
}

# ---- the checker rejects what it must ----------------------------------------------------

good='[{"path":"native-udp","size":64,"pps":1000,"mbps":0.512,"cpu_us_per_packet":2},
{"path":"native-udp","size":1400,"pps":1000,"mbps":11.2,"cpu_us_per_packet":2},
{"path":"hoplink-udp","size":64,"pps":1000,"mbps":0.512,"cpu_us_per_packet":2},
{"path":"hoplink-udp","size":1400,"pps":1000,"mbps":11.2,"cpu_us_per_packet":2},
{"path":"native-tcp","size":64,"pps":1000,"mbps":0.512,"cpu_us_per_packet":2},
{"path":"native-tcp","size":1400,"pps":1000,"mbps":11.2,"cpu_us_per_packet":2}]'
if $CHECK <<<"$good" >/dev/null; then ok "checker accepts a well-formed document"; else bad "checker rejects a good document"; fi
reject() {  # reject NAME SED_EXPRESSION: the good document, edited, must be rejected
    if sed -e "$2" <<<"$good" | $CHECK >/dev/null; then bad "checker accepts $1"; else ok "checker rejects $1"; fi
}
reject "a zero pps" '1s/"pps":1000/"pps":0/'
reject "a negative cpu figure" '2s/"cpu_us_per_packet":2/"cpu_us_per_packet":-2/'
reject "a missing key" '3s/"mbps":0.512,//'
reject "a string for a number" '4s/"pps":1000/"pps":"1000"/'
reject "five objects" '6d;5s/},$/}]/'
reject "a duplicated case" '6s/native-tcp/native-udp/'
reject "mbps that does not match pps and size" '1s/"mbps":0.512/"mbps":5/'
reject "text that is not JSON" 's/\[/(/'

# ---- the benchmark -------------------------------------------------------------------------

start=$(date +%s)
run bench --seconds 1 --json
took=$(($(date +%s) - start))
if [[ $status -eq 0 ]] && $CHECK <"$WORK/out"; then
    ok "bench --seconds 1 --json: six cases with positive pps, mbps, cpu_us_per_packet (${took} s)"
else
    bad "bench --seconds 1 --json (exit $status)"
fi
# Six one-second cases and the set-up: well under the 50 s bound above.
if ((took <= 20)); then ok "bench --seconds 1 took $took s"; else bad "bench --seconds 1 took $took s"; fi

run bench --seconds=1
rows=$(grep -cE '^(native-udp|hoplink-udp|native-tcp) +(64|1400) ' "$WORK/out")
if [[ $status -eq 0 && $rows -eq 6 ]] && grep -q "datagrams/s" "$WORK/out"; then
    ok "bench --seconds=1: a table with a row per case"
else
    bad "bench --seconds=1: table (exit $status, $rows rows)"
fi

# ---- usage errors --------------------------------------------------------------------------

for args in "--seconds 0" "--seconds 61" "--seconds x" "--seconds" "--verbose"; do
    # shellcheck disable=SC2086
    run bench $args
    if [[ $status -eq 2 && ! -s $WORK/out ]] && grep -q "porthop: .*\(--seconds\|unknown argument\)" "$WORK/err"; then
        ok "bench $args: exit 2 with the reason"
    else
        bad "bench $args: exit $status"
    fi
done

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
