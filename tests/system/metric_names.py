#!/usr/bin/env python3
"""The metric names a Grafana dashboard and a Prometheus rules file use, checked against scrapes
(issue 17). Standard library only.

    metric_names.py FILE...                           print each name used, with where
    metric_names.py --metrics SCRAPE [--metrics SCRAPE...] FILE...
                                                      every name used must be a family in a scrape
    metric_names.py --rules-out OUT FILE...           also write the dashboard's queries as a
                                                      Prometheus rules file (for promtool)
    metric_names.py --self-test

FILE is a dashboard (.json: every `expr` anywhere in it, and the template variables' queries)
or a rules file (.yml/.yaml: every `expr:` of its rules). A dashboard is also checked for shape:
it parses as JSON, has panels, and every panel other than a row has a datasource and at least
one target, each target with a non-empty expr. A problem there is printed as "panel ...:" and
fails the run.

SCRAPE is the text of a /metrics endpoint. A name is found when a scrape has a sample or a
`# TYPE` of that name, or when it ends in _bucket, _sum or _count and its base is a histogram or
summary family there. `up` and the other series Prometheus makes itself (scrape_*, ALERTS) need
no scrape. Each missing name is printed as "missing: NAME (used by ...)"; exit status 1 if any
is missing or a dashboard is malformed, 2 on bad usage, else 0.

--rules-out writes every dashboard expr as a recording rule, Grafana's variables replaced
($__rate_interval and $__interval by 5m, $__range by 1h, any other $var by a word), so that
`promtool check rules OUT` proves the queries are PromQL.

Names are found with a small PromQL scanner, not a parser: string literals, label matchers
{...}, ranges [...] and the label lists of by/without/on/ignoring/group_left/group_right are
removed, then every identifier that is not a keyword, an aggregation or a function call is a
metric name ({__name__="..."} counts too). The rules file is read with a small reader for what
rules files hold (`expr:` as a plain, quoted or block scalar), so PyYAML is not needed.
"""
import argparse
import json
import os
import re
import sys
import tempfile

# Series Prometheus adds itself: no exporter serves them.
SYNTHETIC = {"up", "scrape_duration_seconds", "scrape_samples_scraped",
             "scrape_samples_post_metric_relabeling", "scrape_series_added", "ALERTS",
             "ALERTS_FOR_STATE"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
            "bool", "offset", "inf", "nan", "atan2",
            # aggregations: may be followed by a clause instead of "("
            "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
            "bottomk", "topk", "quantile", "limitk", "limit_ratio"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")

STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
NAME_MATCHER = re.compile(r'__name__\s*=\s*"((?:[^"\\]|\\.)*)"')
GRAFANA_VAR = re.compile(r"\$\{[^}]*\}|\$\w+|\[\[\w+\]\]")
CLAUSE = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
TOKEN = re.compile(r"(\d[\w.]*)|([A-Za-z_:][\w:]*)")


def names_in_expr(expr):
    """The metric names one PromQL expression (possibly with Grafana variables) selects."""
    found = set(NAME_MATCHER.findall(expr))
    text = STRING.sub('""', expr)
    text = GRAFANA_VAR.sub(" ", text)
    text = re.sub(r"\{[^{}]*\}", "{}", text)
    text = re.sub(r"\[[^\[\]]*\]", "[]", text)
    text = CLAUSE.sub(r"\1", text)
    for m in TOKEN.finditer(text):
        ident = m.group(2)
        if not ident or ident in KEYWORDS:
            continue
        rest = text[m.end():].lstrip()
        if rest.startswith("("):  # a function call
            continue
        found.add(ident)
    return found


def template_query_expr(query):
    """The series selector inside a Grafana Prometheus variable query, or None."""
    if isinstance(query, dict):
        query = query.get("query", "")
    if not isinstance(query, str):
        return None
    query = query.strip()
    m = re.fullmatch(r"label_values\((.*),\s*[A-Za-z_]\w*\s*\)", query, re.S)
    if m:
        return m.group(1)
    if re.fullmatch(r"label_values\(\s*[A-Za-z_]\w*\s*\)|label_names\(\s*\)|metrics\(.*\)", query, re.S):
        return None
    m = re.fullmatch(r"query_result\((.*)\)", query, re.S)
    if m:
        return m.group(1)
    return query or None


# ---- dashboards ---------------------------------------------------------------------------------

def dashboard_panels(panels):
    for p in panels or []:
        yield p
        yield from dashboard_panels(p.get("panels"))  # a collapsed row keeps its panels inside


def read_dashboard(path):
    """(exprs as [(where, expr)], problems as [str])"""
    try:
        with open(path) as f:
            d = json.load(f)
    except (OSError, ValueError) as e:
        return [], [f"{path}: not a JSON dashboard: {e}"]
    if isinstance(d, dict) and isinstance(d.get("dashboard"), dict):  # the HTTP API's wrapper
        d = d["dashboard"]
    exprs, problems = [], []
    panels = list(dashboard_panels(d.get("panels"))) if isinstance(d, dict) else []
    if not panels:
        problems.append(f"{path}: no panels")
    for p in panels:
        where = f"panel {p.get('id')} '{p.get('title', '')}'"
        if p.get("type") == "row":
            continue
        if not p.get("datasource"):
            problems.append(f"{where}: no datasource")
        targets = p.get("targets") or []
        if not targets:
            problems.append(f"{where}: no targets")
        for t in targets:
            expr = t.get("expr")
            if not isinstance(expr, str) or not expr.strip():
                problems.append(f"{where} target {t.get('refId')}: no expr")
            else:
                exprs.append((where, expr))
    for v in (d.get("templating") or {}).get("list", []) if isinstance(d, dict) else []:
        if v.get("type") == "query":
            expr = template_query_expr(v.get("query"))
            if expr:
                exprs.append((f"variable ${v.get('name')}", expr))
    for a in (d.get("annotations") or {}).get("list", []) if isinstance(d, dict) else []:
        if isinstance(a.get("expr"), str) and a["expr"].strip():
            exprs.append((f"annotation '{a.get('name')}'", a["expr"]))
    return exprs, problems


# ---- rules files --------------------------------------------------------------------------------

def yaml_scalar(first, lines, i, key_indent):
    """The value of a key whose text after the colon is `first`; lines[i:] follow it.
    Returns (value, next index)."""
    first = first.strip()
    if first and first[0] in "|>":
        folded = first[0] == ">"
        block, j = [], i
        while j < len(lines):
            line = lines[j]
            if line.strip() and len(line) - len(line.lstrip()) <= key_indent:
                break
            block.append(line)
            j += 1
        while block and not block[-1].strip():
            block.pop()
        indent = min((len(l) - len(l.lstrip()) for l in block if l.strip()), default=0)
        body = [l[indent:] for l in block]
        return (" ".join(body) if folded else "\n".join(body)), j
    if first.startswith('"'):
        return json.loads(first[:first.rindex('"') + 1]), i
    if first.startswith("'"):
        return first[1:first.rindex("'")].replace("''", "'"), i
    value, j = re.sub(r"\s+#.*$", "", first), i
    while j < len(lines):  # a plain scalar may go on, more indented
        line = lines[j]
        if not line.strip() or len(line) - len(line.lstrip()) <= key_indent:
            break
        value += " " + line.strip()
        j += 1
    return value, j


def read_rules(path):
    try:
        with open(path) as f:
            lines = f.read().split("\n")
    except OSError as e:
        return [], [f"{path}: {e}"]
    items, i = [], 0  # each rule: [name, [exprs]]; a "- " before alert/record/expr starts one
    key = re.compile(r"^(\s*)(-\s+)?(alert|record|expr):(.*)$")
    while i < len(lines):
        m = key.match(lines[i])
        i += 1
        if not m:
            continue
        if m.group(2) or not items:
            items.append(["?", []])
        indent = len(m.group(1)) + len(m.group(2) or "")
        value, i = yaml_scalar(m.group(4), lines, i, indent)
        if m.group(3) == "expr":
            items[-1][1].append(value)
        else:
            items[-1][0] = value.strip()
    exprs = [(f"rule {name}", e) for name, es in items for e in es]
    if not exprs:
        return [], [f"{path}: no expr found"]
    return exprs, []


def read_file(path):
    return read_dashboard(path) if path.endswith(".json") else read_rules(path)


# ---- scrapes ------------------------------------------------------------------------------------

def read_scrape(text):
    """{name: type} for every family and sample name in a text exposition."""
    families = {}
    for line in text.splitlines():
        m = re.match(r"#\s*TYPE\s+(\S+)\s+(\S+)", line)
        if m:
            families[m.group(1)] = m.group(2)
        elif line and not line.startswith("#"):
            m = re.match(r"[A-Za-z_:][\w:]*", line)
            if m:
                families.setdefault(m.group(0), "sample")
    return families


def is_served(name, families):
    if name in SYNTHETIC or name in families:
        return True
    for suffix in HISTOGRAM_SUFFIXES:
        if name.endswith(suffix) and families.get(name[:-len(suffix)]) in ("histogram", "summary"):
            return True
    return False


def rules_for_promtool(exprs):
    """A rules file with each expr as a recording rule, Grafana's variables replaced."""
    out = ["groups:", "  - name: dashboard", "    rules:"]
    for k, (where, expr) in enumerate(exprs):
        e = expr.replace("$__rate_interval", "5m").replace("${__rate_interval}", "5m")
        e = e.replace("$__interval", "5m").replace("${__interval}", "5m")
        e = e.replace("$__range", "1h").replace("${__range}", "1h")
        e = GRAFANA_VAR.sub("var", e)
        out.append(f"      - record: dashboard:expr_{k}")
        out.append(f"        # {where}")
        out.append("        expr: " + json.dumps(e))
    return "\n".join(out) + "\n"


def run(files, scrapes, rules_out=None, out=sys.stdout):
    """Returns the exit status; prints names, missing names and problems to out."""
    uses, problems, dashboard_exprs = {}, [], []
    for path in files:
        exprs, probs = read_file(path)
        problems += probs
        if path.endswith(".json"):
            dashboard_exprs += exprs
        for where, expr in exprs:
            for name in names_in_expr(expr):
                uses.setdefault(name, []).append(f"{os.path.basename(path)}: {where}")
    for p in problems:
        print(p, file=out)
    if rules_out:
        with open(rules_out, "w") as f:
            f.write(rules_for_promtool(dashboard_exprs))
    if not scrapes:
        for name in sorted(uses):
            print(f"{name}\t{len(uses[name])} use(s)", file=out)
        return 1 if problems else 0
    families = {}
    for text in scrapes:
        families.update(read_scrape(text))
    missing = {}  # family -> (the names used, where); a histogram's series under its family
    for name in sorted(uses):
        if is_served(name, families):
            continue
        family = name
        for suffix in HISTOGRAM_SUFFIXES:
            if name.endswith(suffix):
                family = name[:-len(suffix)]
        names, where = missing.setdefault(family, (set(), set()))
        names.add(name)
        where.update(uses[name])
    for family, (names, where) in sorted(missing.items()):
        as_series = "" if names == {family} else " as " + ", ".join(sorted(names))
        where = sorted(where)
        more = f", +{len(where) - 3} more" if len(where) > 3 else ""
        print(f"missing: {family}{as_series} (used by {'; '.join(where[:3])}{more})", file=out)
    print(f"{len(uses)} names used, {len(missing)} families missing", file=out)
    return 1 if missing or problems else 0


# ---- self-test ----------------------------------------------------------------------------------

def self_test():
    failures = []

    def check(name, got, want):
        if got != want:
            failures.append(name)
            print(f"FAIL {name}: got {got!r}, want {want!r}")

    cases = [
        ('sum by (direction) (rate(porthop_datagrams_total{job=~"$job",instance=~"$instance"}[$__rate_interval]))',
         {"porthop_datagrams_total"}),
        ("histogram_quantile(0.9, sum by (le) (rate(x_seconds_bucket{a=\"b\"}[1h])))", {"x_seconds_bucket"}),
        ("porthop_sessions / porthop_sessions_limit > 0.9", {"porthop_sessions", "porthop_sessions_limit"}),
        ("sum by (instance, job, reason) (rate(d[5m])) > on (instance, job) group_left 0.01 * "
         "sum by (instance, job) (rate(t[5m]))", {"d", "t"}),
        ("a > on(instance) group_left(reason, kind) b", {"a", "b"}),
        ('up{job=~"porthop.*"} == 0', {"up"}),
        ("rate(a[5m] offset 1h) and b offset 30m", {"a", "b"}),
        ('label_replace(foo, "dst", "$1", "src", "(.*)")', {"foo"}),
        ('count_values("value", foo) or vector(0)', {"foo"}),
        ('{__name__="bar", job="x"}', {"bar"}),
        ("1e3 * foo + 0x1f - 2.5", {"foo"}),
        ("topk(3, foo) unless bar", {"foo", "bar"}),
        ("foo @ end()", {"foo"}),
        ("sum(x) without (a, b)", {"x"}),
        ("time() - start_seconds and on (instance, job) limit", {"start_seconds", "limit"}),
        ("max_over_time(x[1h:5m])", {"x"}),
        ("sum(rate(a_sum[1h])) / sum(rate(a_count[1h]))", {"a_sum", "a_count"}),
        ('count by (le) (x) > bool 2', {"x"}),
        ("${var} * 2 + foo{a=\"${v}\"}", {"foo"}),
    ]
    for k, (expr, want) in enumerate(cases):
        check(f"expr {k}: {expr}", names_in_expr(expr), want)

    check("label_values(selector, label)",
          template_query_expr({"query": 'label_values(porthop_sessions_limit{job=~"$job"}, instance)'}),
          'porthop_sessions_limit{job=~"$job"}')
    check("label_values(label)", template_query_expr("label_values(job)"), None)
    check("query_result", template_query_expr("query_result(up == 1)"), "up == 1")

    scrape = "\n".join([
        "# HELP h seconds", "# TYPE h histogram", 'h_bucket{le="1"} 0', "h_sum 0", "h_count 0",
        "# TYPE c_total counter", "c_total 1", "# TYPE g gauge", "g 1", "untyped_sample 3", ""])
    fam = read_scrape(scrape)
    for name, want in [("h_bucket", True), ("h_sum", True), ("h_count", True), ("h", True),
                       ("c_total", True), ("c_total_bucket", False), ("g_count", False), ("g", True),
                       ("untyped_sample", True), ("up", True), ("ALERTS", True), ("nope", False)]:
        check(f"is_served {name}", is_served(name, fam), want)

    rules = "\n".join([
        "groups:",
        "  - name: g",
        "    rules:",
        "      - alert: One",
        "        expr: a > 1  # a comment",
        "        for: 5m",
        "      - alert: Two",
        "        expr: |",
        "          sum(rate(b[5m]))",
        "            > 0",
        "        labels:",
        "          severity: warning",
        "      - alert: Three",
        '        expr: "c == 0"',
        "      - expr: >-",
        "          d",
        "          > 2",
        "        record: four",
        "      - alert: Five",
        "        expr: e",
        "          > 3",
        ""])
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "rules.yml")
        with open(path, "w") as f:
            f.write(rules)
        exprs, probs = read_rules(path)
        check("rules exprs", [e for _, e in exprs],
              ["a > 1", "sum(rate(b[5m]))\n  > 0", "c == 0", "d > 2", "e > 3"])
        check("rules names", [w for w, _ in exprs],
              ["rule One", "rule Two", "rule Three", "rule four", "rule Five"])
        check("rules problems", probs, [])

        ds = {"type": "prometheus", "uid": "${datasource}"}
        good = {"panels": [
            {"id": 1, "type": "row", "title": "R", "panels": []},
            {"id": 2, "type": "timeseries", "title": "T", "datasource": ds,
             "targets": [{"refId": "A", "expr": "rate(h_count[5m])"}]},
            {"id": 3, "type": "row", "title": "Collapsed", "collapsed": True, "panels": [
                {"id": 4, "type": "stat", "title": "S", "datasource": ds,
                 "targets": [{"refId": "A", "expr": "g"}]}]}],
            "templating": {"list": [{"name": "job", "type": "query",
                                     "query": {"query": "label_values(c_total, job)"}},
                                    {"name": "datasource", "type": "datasource", "query": "prometheus"}]}}
        dpath = os.path.join(tmp, "d.json")

        def write(d):
            with open(dpath, "w") as f:
                json.dump(d, f)

        write(good)
        exprs, probs = read_dashboard(dpath)
        check("dashboard exprs", sorted(e for _, e in exprs), ["c_total", "g", "rate(h_count[5m])"])
        check("dashboard problems", probs, [])
        spath = os.path.join(tmp, "scrape")
        with open(spath, "w") as f:
            f.write(scrape)
        import io
        buf = io.StringIO()
        check("run: all found", run([dpath, path], [scrape], out=buf), 1)  # rules use a..e: missing
        check("run: rules names missing", [l.split()[1] for l in buf.getvalue().splitlines()
                                           if l.startswith("missing:")], ["a", "b", "c", "d", "e"])
        buf = io.StringIO()
        check("run: dashboard alone passes", run([dpath], [scrape], out=buf), 0)
        bogus = json.loads(json.dumps(good))
        bogus["panels"][2]["panels"][0]["targets"][0]["expr"] = "g_renamed"
        write(bogus)
        buf = io.StringIO()
        check("run: a renamed metric fails", run([dpath], [scrape], out=buf), 1)
        check("run: the renamed metric is named", "missing: g_renamed" in buf.getvalue(), True)
        buf = io.StringIO()
        run([dpath], ["# TYPE g gauge\ng 1\n"], out=buf)
        check("run: a missing histogram is named by its family",
              [l for l in buf.getvalue().splitlines() if l.startswith("missing:")],
              ["missing: c_total (used by d.json: variable $job)",
               "missing: g_renamed (used by d.json: panel 4 'S')",
               "missing: h as h_count (used by d.json: panel 2 'T')"])

        for label, mutate, want in [
            ("no datasource", lambda d: d["panels"][1].pop("datasource"), "panel 2 'T': no datasource"),
            ("empty targets", lambda d: d["panels"][1].update(targets=[]), "panel 2 'T': no targets"),
            ("empty expr", lambda d: d["panels"][2]["panels"][0]["targets"][0].update(expr=" "),
             "panel 4 'S' target A: no expr"),
            ("no panels", lambda d: d.update(panels=[]), f"{dpath}: no panels"),
        ]:
            bad = json.loads(json.dumps(good))
            mutate(bad)
            write(bad)
            _, probs = read_dashboard(dpath)
            check(f"dashboard {label}", probs, [want])
            buf = io.StringIO()
            check(f"run: dashboard {label} fails", run([dpath], [scrape], out=buf), 1)
        with open(dpath, "w") as f:
            f.write('{"panels": [')
        _, probs = read_dashboard(dpath)
        check("dashboard not JSON", len(probs) == 1 and "not a JSON dashboard" in probs[0], True)

        write(good)
        rpath = os.path.join(tmp, "out.yml")
        run([dpath], [], rules_out=rpath, out=io.StringIO())
        exprs, _ = read_rules(rpath)
        check("rules-out round trip", sorted(e for _, e in exprs), ["c_total", "g", "rate(h_count[5m])"])
        check("rules-out replaces variables",
              rules_for_promtool([("x", 'rate(a{j=~"$job"}[$__rate_interval]) + b[${__range}]')]).splitlines()[-1],
              '        expr: "rate(a{j=~\\"var\\"}[5m]) + b[1h]"')

    if failures:
        print(f"self-test FAILED: {len(failures)} case(s)")
        return 1
    print("self-test passed")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*")
    ap.add_argument("--metrics", action="append", default=[], metavar="SCRAPE")
    ap.add_argument("--rules-out", metavar="OUT")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if args.self_test:
        return self_test()
    if not args.files:
        ap.print_usage(sys.stderr)
        return 2
    scrapes = []
    for path in args.metrics:
        with open(path) as f:
            scrapes.append(f.read())
    return run(args.files, scrapes, rules_out=args.rules_out)


if __name__ == "__main__":
    sys.exit(main())
