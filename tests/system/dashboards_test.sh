#!/bin/bash
# The Grafana dashboard and the Prometheus alerts (issue 17) against the binary: every metric
# docs/grafana/porthop.json and docs/prometheus/alerts.yml name is served by a running server
# or client agent (with a key, traffic through the hop link, both /metrics scraped); the
# dashboard is well formed and its queries are PromQL; the rules pass `promtool check rules`
# and their unit tests (alerts_test.yml). Negatives: a dashboard with one metric renamed, and
# a rules file with a broken expr, must fail the same checks.
source "$(dirname "$0")/lib.sh"

command -v promtool >/dev/null || { echo "FAIL: promtool missing (Debian package prometheus)"; exit 1; }
DOCS=$(cd "$HERE/../../docs" && pwd)
DASHBOARD=$DOCS/grafana/porthop.json
ALERTS=$DOCS/prometheus/alerts.yml
NAMES="python3 $HERE/metric_names.py"

# run NAME COMMAND...: ok when it exits 0, else bad with its output
run() {
    local name=$1; shift
    if "$@" >"$WORK/out" 2>&1; then ok "$name"; else bad "$name:"; sed 's/^/    /' "$WORK/out"; fi
}
# run_fails NAME PATTERN COMMAND...: ok when it exits non-zero and its output has PATTERN
run_fails() {
    local name=$1 pattern=$2; shift 2
    if "$@" >"$WORK/out" 2>&1; then bad "$name (it passed)"; sed 's/^/    /' "$WORK/out"
    elif grep -q -- "$pattern" "$WORK/out"; then ok "$name"
    else bad "$name (no '$pattern' in its output)"; sed 's/^/    /' "$WORK/out"; fi
}

# ---- the files alone --------------------------------------------------------------------------
run "dashboard: JSON, every panel with a datasource and targets" $NAMES "$DASHBOARD"
run "dashboard: every query is PromQL (promtool, Grafana variables replaced)" \
    bash -c "$NAMES --rules-out '$WORK/dashboard_rules.yml' '$DASHBOARD' && promtool check rules '$WORK/dashboard_rules.yml'"
run "promtool check rules alerts.yml" promtool check rules "$ALERTS"
run "promtool test rules alerts_test.yml" promtool test rules "$DOCS/prometheus/alerts_test.yml"

# Negatives: the checks can fail.
python3 - "$DASHBOARD" "$WORK/no_targets.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
panel = next(p for p in d["panels"] if p["type"] != "row")
panel["targets"] = []
json.dump(d, open(sys.argv[2], "w"))
PY
run_fails "a dashboard with a panel without targets is refused" "no targets" $NAMES "$WORK/no_targets.json"
sed '0,/^\(\s*\)expr: porthop_sessions \/ porthop_sessions_limit > 0.9$/s//\1expr: porthop_sessions \/ > 0.9/' \
    "$ALERTS" >"$WORK/broken_alerts.yml"
if cmp -s "$ALERTS" "$WORK/broken_alerts.yml"; then bad "broken copy of alerts.yml: the expr to break is gone"
else run_fails "promtool check rules refuses a broken expr" "parse error" promtool check rules "$WORK/broken_alerts.yml"; fi

# ---- a server and a client agent, scraped -------------------------------------------------------
read -r U T M CM LOCAL BE < <($TOOLS free-ports 6)
KEY=$("$BIN" genkey)
cat >"$WORK/server.toml" <<CONF
[server]
listen = ["127.0.0.1"]
udp = ["$U"]
tcp = ["$T"]
backend = "127.0.0.1:$BE"
key = "$KEY"
[metrics]
listen = "127.0.0.1:$M"
CONF
cat >"$WORK/client.toml" <<CONF
[client]
listen = "127.0.0.1:$LOCAL"
server = "127.0.0.1"
udp = ["$U"]
tcp = ["$T"]
key = "$KEY"
tls = false
[client_metrics]
listen = "127.0.0.1:$CM"
CONF
start_echo "$BE"
start_porthop "$WORK/server.toml"
"$BIN" client --config "$WORK/client.toml" 2>"$WORK/client.log" & PIDS+=($!)

# Datagrams through the agent once it carries them (about 5 s at most), then 5 more: the
# counters have values.
for i in $(seq 25); do
    [[ $($TOOLS udp 1 "$LOCAL" 2>/dev/null) == 1 ]] && break
    sleep 0.2
done
got=$($TOOLS udp 5 "$LOCAL" 100)
expect "5 datagrams through the agent come back" "$got" 5
[[ $got == 5 ]] || { echo "--- client.log"; tail -20 "$WORK/client.log"; }

scrape "$M"
expect "server GET /metrics is 200" "$(cat "$WORK/status")" 200
cp "$WORK/metrics" "$WORK/server.prom"
scrape "$CM"
expect "agent GET /metrics is 200" "$(cat "$WORK/status")" 200
cp "$WORK/metrics" "$WORK/client.prom"
expect "the server counted the agent's session" "$(awk '$1 == "porthop_agent_sessions_opened_total" {print $2}' "$WORK/server.prom")" 1
sent=$(awk '$1 == "porthop_client_datagrams_total{direction=\"to_server\"}" {print $2}' "$WORK/client.prom")
if ((${sent:-0} >= 6)); then ok "the agent counted its datagrams ($sent)"; else bad "the agent counted ${sent:-no} datagrams, not 6 or more"; fi

run "every metric in the dashboard and the alerts is served" \
    $NAMES --metrics "$WORK/server.prom" --metrics "$WORK/client.prom" "$DASHBOARD" "$ALERTS"

# Negative: one query's metric renamed is reported by name.
python3 - "$DASHBOARD" "$WORK/renamed.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
target = next(t for p in d["panels"] for t in p.get("targets", []) if "porthop_sessions{" in t["expr"])
target["expr"] = target["expr"].replace("porthop_sessions{", "porthop_sessions_bogus{", 1)
json.dump(d, open(sys.argv[2], "w"))
PY
run_fails "a dashboard with a renamed metric is refused" "missing: porthop_sessions_bogus" \
    $NAMES --metrics "$WORK/server.prom" --metrics "$WORK/client.prom" "$WORK/renamed.json"

finish
