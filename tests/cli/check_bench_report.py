#!/usr/bin/env python3
"""Checks bench/report.py on a small synthetic results file (bench/throughput.sh's JSON lines:
a meta line, runs of every kind of path at 64 and 1400 B, a not-built path, memory lines):

- the tables: printed and written between the markers of a markdown file, the rest kept;
- with --charts: the SVG files are written, each is well-formed XML with an <svg> root, names
  every path that ran (as text), and a second run gives the same bytes; the markdown links
  them relative to the markdown file;
- the negative paths: a line that is not JSON, a run without its figures and a file without its
  meta line each give a one-line error naming the file and line (exit status 2), and nothing
  is written.

    check_bench_report.py [bench/report.py]

Without matplotlib (for this Python), checks that --charts says so in one line, then exits 77
(skipped) after the table checks. Prints what is wrong and exits 1, or exits 0.
"""
import filecmp
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
REPORT = os.path.normpath(os.path.join(HERE, "..", "..", "bench", "report.py"))

PATHS = ["nft", "socat", "nginx", "porthop", "porthop-agent", "porthop-agent-tcp", "porthop-agent-tls",
         "uring-forward", "udptunnel-tcp", "porthop-tcp"]
# porthop-uring is "not built" in this file; uring-forward-nogso and porthop-agent-full absent.
LABELS = {"kernel": "kernel forwarding", "nft": "nftables DNAT", "socat": "socat (fork)",
          "nginx": "nginx stream", "porthop": "porthop (epoll)", "porthop-agent": "porthop via its agent",
          "porthop-agent-tcp": "porthop via its agent, TCP", "porthop-agent-tls": "porthop via its agent, TLS",
          "uring-forward": "io_uring forwarder (GSO)", "udptunnel-tcp": "udptunnel, TCP in",
          "porthop-tcp": "porthop, TCP in", "porthop-uring": "porthop (io_uring)"}


def run_line(path, size, rate, kind, sent, received, k):
    """One run as bench/throughput.sh writes it (the figures made up but consistent)."""
    secs = 10 if kind == "max" else 5
    pps = received / secs
    r = {"path": path, "tag": f"{path}-{size}-{kind}", "size": size, "rate": rate,
         "send": {"sent": sent, "pps": sent / secs},
         "sink": {"received": received, "pps": pps, "mbps": pps * size * 8 / 1e6,
                  "lat_us": {"p50": 100.0 + 7 * k, "p99": 900.0 + 31 * k, "max": 5000.0 + k, "max_at_s": 1.5}},
         "relay_proc_s": None if path == "kernel" or path == "nft" else 0.5 + 0.1 * k,
         "relay_softirq_s": 0.3 + 0.05 * k, "relay_rcvbuf_errors": sent - received, "sink_rcvbuf_errors": 0,
         "softnet_drops": 0, "porthop_drops": "", "porthop_summary": "stopped sessions_opened=1" if "porthop" in path else ""}
    if path.startswith("porthop-agent"):
        r.update({"agent_proc_s": 1.2, "agent_rcvbuf_errors": 0, "agent_drops": "", "agent_to_server": received,
                  "shape": "wg", "agent_path_end": "tcp/9001" if path != "porthop-agent" else "udp/9000",
                  "agent_path_changes": "", "server_tls_handshakes": {"ok": int(path.endswith("tls")), "failed": 0}})
        if path != "porthop-agent":
            r["agent_fallback_s"] = 2.1
    return r


def synthetic():
    rows = [{"kind": "meta", "kernel": "6.1.0-test", "cpu": "Test CPU", "nproc": 2, "mem": "4 GiB",
             "load_before": "0.10 0.20 0.30", "date": "2026-01-02 03:04 UTC", "commit": "abc1234",
             "porthop": "porthop 0.1.0", "nginx": "1.22.1", "socat": "1.7.4.4", "udptunnel": "1.1-9",
             "liburing": "2.3-3", "short": False, "d_max": 10, "d_lat": 5,
             "cpus": "generator 0, sink 0, relay 1, agent (agent paths) 0", "uring_bin": "", "agent_shape": "wg"}]
    for size in (64, 1400):
        kmax = 150000 if size == 64 else 130000
        rows.append(run_line("kernel", size, 0, "max", kmax * 10, kmax * 10, 0))
        rows.append(run_line("kernel", size, kmax // 2, "lat", kmax // 2 * 5, kmax // 2 * 5, 1))
        for k, path in enumerate(PATHS, 2):
            got = int(kmax * 10 * (0.2 + 0.07 * k))
            rows.append(run_line(path, size, 0, "max", kmax * 12, got, k))
            rows.append(run_line(path, size, kmax // 2, "lat", kmax // 2 * 5, kmax // 2 * 5 - k, k))
        rows.append({"path": "porthop-uring", "size": size, "not_built": True})
        rows.append(run_line("kernel", size, 0, "max-again", kmax * 9, kmax * 9, 0))
    rows.append({"kind": "memory", "path": "porthop", "flows": 10000, "rss_idle_kb": 15000, "rss_loaded_kb": 24000,
                 "sink_flows": 10000, "sessions": 10000, "bytes_per_session": 921})
    return "".join(json.dumps(r) + "\n" for r in rows)


def report(*args):
    return subprocess.run([sys.executable, REPORT, *args], capture_output=True, text=True, timeout=120)


def has_matplotlib():
    try:
        import matplotlib  # noqa: F401
        return True
    except ImportError:
        return False


def main():
    global REPORT
    if len(sys.argv) > 1:
        REPORT = os.path.abspath(sys.argv[1])
    problems = []
    skip = False
    tmp = tempfile.mkdtemp(prefix="check-bench-report-")
    results = os.path.join(tmp, "results.jsonl")
    with open(results, "w") as f:
        f.write(synthetic())
    docs = os.path.join(tmp, "docs")
    os.makedirs(docs)
    md = os.path.join(docs, "BENCHMARKS.md")
    with open(md, "w") as f:
        f.write("# Benchmarks\n\nmethod, by hand\n\n<!-- bench:begin -->\nold\n<!-- bench:end -->\n\nafter\n")

    # The tables, without charts (the standard library only).
    p = report(results, "--command", "bench/throughput.sh", "--markdown", md)
    if p.returncode != 0:
        problems.append(f"tables: exit {p.returncode}: {p.stderr.strip()}")
    doc = open(md).read()
    for want in ("method, by hand", "after", "### 64-byte datagrams", "### 1400-byte datagrams",
                 "**porthop (epoll)**", "| **porthop (io_uring)** | not built |", "TLS against plain TCP records"):
        if want not in doc:
            problems.append(f"tables: the markdown lacks {want!r}")
    if "old" in doc.split("<!-- bench:begin -->")[1]:
        problems.append("tables: the old block was not replaced")
    if "![" in doc:
        problems.append("tables: image links without --charts")

    # Negative paths: a clear one-line error naming the line, exit 2, nothing written.
    lines = synthetic().splitlines()
    bad_run = json.loads(lines[3])
    del bad_run["sink"]["pps"]
    cases = {
        "not JSON": (lines[:4] + ['{"path": "nginx", "tag": "nginx-64-max", '] + lines[4:], "results.jsonl:5: not JSON"),
        "a run without its figures": (lines[:3] + [json.dumps(bad_run)] + lines[4:], "results.jsonl:4: run 'nft-64-max' lacks sink.pps"),
        "no meta line": (lines[1:], "no meta line"),
    }
    for name, (content, want) in cases.items():
        bad = os.path.join(tmp, "results.jsonl")
        with open(bad, "w") as f:
            f.write("\n".join(content) + "\n")
        before = open(md).read()
        charts = os.path.join(tmp, "neg-charts")
        p = report(bad, "--command", "x", "--markdown", md, *(["--charts", charts] if has_matplotlib() else []))
        err = p.stderr.strip()
        if p.returncode != 2 or want not in err or len(err.splitlines()) != 1 or "Traceback" in err:
            problems.append(f"{name}: want exit 2 and one line with {want!r}, got exit {p.returncode}: {err!r}")
        if p.stdout or open(md).read() != before or os.path.exists(charts):
            problems.append(f"{name}: something was printed or written")
    with open(results, "w") as f:
        f.write(synthetic())

    if not has_matplotlib():
        p = report(results, "--command", "x", "--charts", os.path.join(tmp, "charts"))
        err = p.stderr.strip()
        if p.returncode != 2 or "matplotlib" not in err or len(err.splitlines()) != 1 or p.stdout:
            problems.append(f"--charts without matplotlib: want one line naming it, exit 2; got {p.returncode}: {err!r}")
        skip = True
    else:
        charts = os.path.join(docs, "bench")
        p = report(results, "--command", "bench/throughput.sh", "--markdown", md, "--charts", charts)
        if p.returncode != 0:
            problems.append(f"charts: exit {p.returncode}: {p.stderr.strip()}")
        names = sorted(os.listdir(charts)) if os.path.isdir(charts) else []
        want_names = sorted(f"{kind}-{size}.svg" for kind in ("throughput", "cpu") for size in (64, 1400))
        if names != want_names:
            problems.append(f"charts: files {names}, want {want_names}")
        doc = open(md).read()
        for name in want_names:
            if f"](bench/{name})" not in doc:
                problems.append(f"charts: the markdown does not link bench/{name}")
        for name in names:
            f = os.path.join(charts, name)
            try:
                root = ET.parse(f).getroot()
            except ET.ParseError as e:
                problems.append(f"{name}: not well-formed XML: {e}")
                continue
            if root.tag != "{http://www.w3.org/2000/svg}svg":
                problems.append(f"{name}: root element {root.tag}, not svg")
            text = " ".join("".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text"))
            for path, label in LABELS.items():
                if label not in text:
                    problems.append(f"{name}: does not name {path} ({label!r})")
            if "2026-01-02 03:04 UTC" not in text:
                problems.append(f"{name}: does not say when it was measured")
        # The same bytes again, into another directory.
        again = os.path.join(tmp, "again")
        p = report(results, "--command", "bench/throughput.sh", "--charts", again)
        for name in names:
            if not os.path.exists(os.path.join(again, name)) or not filecmp.cmp(
                    os.path.join(charts, name), os.path.join(again, name), shallow=False):
                problems.append(f"{name}: a second run wrote other bytes")

    for p in problems:
        print(p)
    if not problems:
        print("bench/report.py: tables, charts and errors as expected" + (" (charts skipped: no matplotlib)" if skip else ""))
        import shutil
        shutil.rmtree(tmp)
    else:
        print(f"(files kept in {tmp})")
    return 1 if problems else 77 if skip else 0


if __name__ == "__main__":
    sys.exit(main())
