#!/usr/bin/env python3
"""Renders bench/throughput.sh's raw results (one JSON object per line) as markdown tables.

    report.py RESULTS.jsonl --command CMD [--markdown FILE] [--charts DIR] [--link-results]

Prints the tables. With --markdown, writes them into FILE between the lines
"<!-- bench:begin -->" and "<!-- bench:end -->", keeping the rest of the file (the method,
written by hand); a file without the markers gets them appended. The tables need the standard
library only.

With --charts, also draws the results as SVG files in DIR (bench/report_charts.py, with
matplotlib: throughput and CPU per datagram at each size, porthop next to its peers), the same
bytes each time for the same results; with --markdown the block shows them first, linked
relative to FILE. Without matplotlib, --charts is an error before anything is written.
--link-results names RESULTS.jsonl in the block (for a results file kept in the repository).

A line that is not a JSON object, a run without the figures the tables use, or a file
without its "meta" line is an error naming the file and line (exit status 2).
"""
import argparse
import json
import os
import sys

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"

NAMES = {
    "kernel": "kernel forwarding (the limit)",
    "nft": "nftables DNAT",
    "socat": "socat (UDP4-LISTEN, fork)",
    "nginx": "nginx stream UDP proxy",
    "porthop": "**porthop (epoll)**",
    "porthop-agent": "**porthop fed by its agent (hop link, default mask mode)**",
    "porthop-agent-full": "**porthop fed by its agent (hop link, full mask mode)**",
    "porthop-agent-tcp": "**porthop fed by its agent over TCP (plain records)**",
    "porthop-agent-tls": "**porthop fed by its agent over TLS**",
    "porthop-uring": "**porthop (io_uring)**",
    "uring-forward": "io_uring forwarder, hand-written (GSO)",
    "uring-forward-nogso": "io_uring forwarder, hand-written, no GSO",
    "udptunnel-tcp": "udptunnel, TCP in, UDP out",
    "porthop-tcp": "**porthop, TCP in, UDP out**",
}
ORDER = list(NAMES)
# The charts' shorter names (a path without one gets its table name).
LABELS = {
    "kernel": "kernel forwarding",
    "nft": "nftables DNAT",
    "socat": "socat (fork)",
    "nginx": "nginx stream",
    "porthop": "porthop (epoll)",
    "porthop-agent": "porthop via its agent",
    "porthop-agent-full": "porthop via its agent, full mask",
    "porthop-agent-tcp": "porthop via its agent, TCP",
    "porthop-agent-tls": "porthop via its agent, TLS",
    "porthop-uring": "porthop (io_uring)",
    "uring-forward": "io_uring forwarder (GSO)",
    "uring-forward-nogso": "io_uring forwarder, no GSO",
    "udptunnel-tcp": "udptunnel, TCP in",
    "porthop-tcp": "porthop, TCP in",
}
AGENT_PATHS = ("porthop-agent", "porthop-agent-full", "porthop-agent-tcp", "porthop-agent-tls")


class InputError(Exception):
    """A results file report.py cannot read: the message names the file and the line."""


# What a run's line must hold: the figures every table reads.
RUN_FIELDS = ("path", "tag", "size", "rate", "send.sent", "send.pps", "sink.received", "sink.pps",
              "sink.mbps", "sink.lat_us.p50", "sink.lat_us.p99", "sink.lat_us.max", "relay_softirq_s",
              "relay_rcvbuf_errors", "sink_rcvbuf_errors", "softnet_drops")
META_FIELDS = ("date", "cpu", "nproc", "mem", "kernel", "commit", "porthop", "nginx", "socat",
               "udptunnel", "cpus", "load_before", "d_max", "d_lat", "short")


def _lacks(obj, fields):
    """The dotted fields obj does not have."""
    missing = []
    for field in fields:
        v = obj
        for key in field.split("."):
            v = v.get(key) if isinstance(v, dict) else None
        if v is None:
            missing.append(field)
    return missing


def load(path):
    """The lines of a results file, parsed and checked (InputError if one is not usable)."""
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read: {e}") from None
    rows, meta = [], None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as e:
            raise InputError(f"{path}:{n}: not JSON ({e}): {line[:60]!r}") from None
        if not isinstance(row, dict):
            raise InputError(f"{path}:{n}: not a JSON object: {line[:60]!r}")
        what, missing = None, []
        if row.get("kind") == "meta":
            what, missing, meta = "the meta line", _lacks(row, META_FIELDS), row
        elif "tag" in row:
            what, missing = f"run {row.get('tag')!r}", _lacks(row, RUN_FIELDS)
        elif row.get("kind") == "memory":
            what, missing = "a memory line", _lacks(row, ("path", "flows"))
        elif row.get("not_built"):
            what, missing = "a not-built line", _lacks(row, ("path", "size"))
        if missing:
            raise InputError(f"{path}:{n}: {what} lacks {', '.join(missing)}")
        rows.append(row)
    if meta is None:
        raise InputError(f"{path}: no meta line ({{\"kind\": \"meta\", ...}}): not bench/throughput.sh's results")
    return rows


def best(runs, path, size, kind):
    """The best of a path's runs of one kind ("-max", "-lat") at one size, or None. (The kernel's
    maximum is measured before and after the relays: the higher one is the reference.)"""
    found = [r for r in runs if r["path"] == path and r["size"] == size and kind in r["tag"]]
    return max(found, key=lambda r: r["sink"]["pps"]) if found else None


def si(v, unit=""):
    if v is None:
        return "—"
    for div, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if abs(v) >= div:
            return f"{v / div:.3g}{suffix}{unit}"
    return f"{v:.3g}{' ' + unit if unit else ''}"


def ratio(v, ref):
    if v is None or not ref:
        return ""
    return f" ({v / ref:.2f}×)"


def pct(lost, sent):
    if not sent:
        return "—"
    p = 100.0 * lost / sent
    if p <= 0:
        return "0 %"
    return f"{p:.2g} %" if p < 10 else f"{p:.0f} %"


def loss(r):
    return max(0, r["send"]["sent"] - r["sink"]["received"])


def per_mpkt(seconds, r):
    received = r["sink"]["received"]
    if seconds is None or not received:
        return None
    return seconds / received * 1e6


def relay_cpu(r):
    """The relay CPU's time per datagram (process + softirq, µs), from a run (None without one)."""
    if not r or r.get("relay_proc_s") is None:
        return None
    return per_mpkt(r["relay_proc_s"] + r["relay_softirq_s"], r)


def agent_name(path, r):
    """An agent row's name; a run whose datagrams the agent could not take for WireGuard data
    (an udpload without --shape) measured the full mask mode, whatever the server's setting."""
    name = NAMES[path]
    if r and r.get("shape") == "plain":
        name += " (udpload without --shape: every datagram in full mode)"
    return name


def bound_by(r):
    """Where the agent path's maximum-rate run lost its datagrams."""
    sent = r["send"]["sent"]
    if loss(r) < 0.01 * sent:
        return "nothing: it delivered what was offered"
    at_agent, at_server = r.get("agent_rcvbuf_errors", 0), r["relay_rcvbuf_errors"]
    if at_agent >= at_server:
        return f"the agent's side ({at_agent} dropped at the agent's socket, {at_server} at the server's)"
    return f"the server ({at_server} dropped at its socket, {at_agent} at the agent's)"


def agent_us(r):
    """The agent's process CPU per datagram it sent to the server (µs), or None."""
    return r["agent_proc_s"] / r["agent_to_server"] * 1e6 if r and r.get("agent_to_server") else None


def tls_table(runs, short):
    """TLS against plain TCP records on the agent's TCP rung (porthop-agent-tls against
    porthop-agent-tcp at each size), with notes on runs that left TCP or had frames dropped:
    markdown lines, none when the two paths were not both run."""
    tcp_path, tls_path = "porthop-agent-tcp", "porthop-agent-tls"

    def pair(a, b):
        return f"{a:.2f} / {b:.2f}" if a is not None and b is not None else "—"

    lines, notes = [], []
    for size in sorted({r["size"] for r in runs}):
        tcp, tls = best(runs, tcp_path, size, "-max"), best(runs, tls_path, size, "-max")
        if not (tcp and tls):
            continue
        if not lines:
            lines += ["", "TLS against plain TCP records on the agent's TCP rung (issue 15's target: TLS at ≥ 0.7× "
                      "plain TCP at 1400 B" + ("; not judged in the short mode" if short else "") + "):", "",
                      "| size | offered | plain TCP records | TLS | TLS / plain TCP | agent CPU µs/datagram, TCP / TLS "
                      "| server relay CPU µs/datagram at 50 % load, TCP / TLS | agent's fallback to TCP took, TCP / TLS |",
                      "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        r = tls["sink"]["pps"] / tcp["sink"]["pps"] if tcp["sink"]["pps"] else None
        offered = si(tcp["rate"], "pps")
        if tcp["rate"] != tls["rate"]:
            offered += " / " + si(tls["rate"], "pps")
        server = pair(relay_cpu(best(runs, tcp_path, size, "-lat")), relay_cpu(best(runs, tls_path, size, "-lat")))
        ratio_cell = f"**{r:.2f}×**" if r is not None else "—"
        lines.append(f"| {size} B | {offered} | {si(tcp['sink']['pps'], 'pps')} "
                     f"| {si(tls['sink']['pps'], 'pps')} | {ratio_cell} | {pair(agent_us(tcp), agent_us(tls))} "
                     f"| {server} | {tcp.get('agent_fallback_s', '?')} s / {tls.get('agent_fallback_s', '?')} s |")
        for run in (tcp, tls):
            if run.get("agent_path_end") and not run["agent_path_end"].startswith("tcp/"):
                notes.append(f"{run['tag']}: the agent ended the run on {run['agent_path_end']}, not on TCP")
            if run.get("agent_path_changes", "").strip():
                notes.append(f"{run['tag']}: the agent's path changed during the run ({run['agent_path_changes'].strip()})")
            if "bad_hop_frame" in run.get("porthop_drops", ""):
                notes.append(f"{run['tag']}: the server dropped frames from the agent that did not open "
                             f"({run['porthop_drops'].strip()}; the agent sent {run.get('agent_to_server', '?')})")
        if size == 1400 and r is not None and r < 0.7 and not short:
            notes.append(f"at 1400 B TLS carried {r:.2f}× plain TCP's rate, below issue 15's 0.7×")
    for n in notes:
        lines += ["", f"**Note:** {n}."]
    return lines


def chart_data(runs, not_built, sizes):
    """What bench/report_charts.py draws: {size: [entry, ...]}, one entry per path in the tables'
    order. An entry has path and label, and either missing (why it did not run) or the maximum-
    rate run's pps, mbps, ratio (to kernel forwarding), at_least (it delivered (almost) all it
    was offered: a lower bound), paced (an agent path: offered porthop's rate), and from the
    50 % load run (None without one) proc_us and softirq_us (relay CPU per datagram), loss_pct
    and lat_pps (its offered rate); agent_bound: the agent, not the server, bound the rate."""
    data = {}
    for size in sizes:
        kmax = best(runs, "kernel", size, "-max")
        if not kmax:
            continue
        entries = []
        for path in ORDER:
            label = LABELS.get(path) or NAMES[path].replace("**", "")
            if (path, size) in not_built:
                entries.append({"path": path, "label": label, "missing": not_built[(path, size)]})
                continue
            mx, lat = best(runs, path, size, "-max"), best(runs, path, size, "-lat")
            if not mx:
                continue
            kept_up = loss(mx) < 0.01 * mx["send"]["sent"]
            if path == "kernel":  # bounded by the generator (the tables' note)
                kept_up = mx["sink"]["pps"] > 0.9 * mx["send"]["pps"]
            elif path.endswith("-tcp") and path not in AGENT_PATHS:
                kept_up = False  # the tables do not mark the TCP paths: their generator is other
            entry = {"path": path, "label": label, "pps": mx["sink"]["pps"], "mbps": mx["sink"]["mbps"],
                     "ratio": mx["sink"]["pps"] / kmax["sink"]["pps"] if kmax["sink"]["pps"] else None,
                     "at_least": kept_up, "paced": path in AGENT_PATHS,
                     "agent_bound": path in AGENT_PATHS and "agent's side" in bound_by(mx),
                     "proc_us": None, "softirq_us": None, "loss_pct": None, "lat_pps": None}
            if lat:
                entry["proc_us"] = per_mpkt(lat["relay_proc_s"], lat)
                entry["softirq_us"] = per_mpkt(lat["relay_softirq_s"], lat)
                entry["loss_pct"] = 100.0 * loss(lat) / lat["send"]["sent"] if lat["send"]["sent"] else 0.0
                entry["lat_pps"] = lat["rate"]
            entries.append(entry)
        data[size] = entries
    return data


def chart_subtitle(meta):
    return (f"Measured {meta['date']} on {meta['cpu']}, {meta['nproc']} CPUs, Linux {meta['kernel']}; "
            f"porthop {meta['commit']}; load average before: {meta['load_before']}"
            + ("; short mode: indicative only" if meta["short"] else ""))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--command", required=True)
    ap.add_argument("--markdown")
    ap.add_argument("--charts", metavar="DIR")
    ap.add_argument("--link-results", action="store_true")
    args = ap.parse_args()
    charts = None
    if args.charts:
        sys.dont_write_bytecode = True  # no __pycache__ in the source tree
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import report_charts as charts
        try:
            charts.require()
        except charts.MissingMatplotlib as e:
            print(f"report.py: {e}", file=sys.stderr)
            return 2

    try:
        rows = load(args.results)
    except InputError as e:
        print(f"report.py: {e}", file=sys.stderr)
        return 2
    meta = next(r for r in rows if r.get("kind") == "meta")
    runs = [r for r in rows if "tag" in r]
    memory = [r for r in rows if r.get("kind") == "memory"]
    not_built = {(r["path"], r["size"]): r.get("why", "not built") for r in rows if r.get("not_built")}
    sizes = sorted({r["size"] for r in runs})

    def find(path, size, kind):
        return best(runs, path, size, kind)

    def kernel_at(size, rate):
        for r in runs:
            if r["path"] == "kernel" and r["size"] == size and r["rate"] == rate:
                return r
        return find("kernel", size, "-lat")

    out = []
    w = out.append
    w(f"Measured {meta['date']} on {meta['cpu']}, {meta['nproc']} CPUs, {meta['mem']}, Linux "
      f"{meta['kernel']}; porthop {meta['commit']} ({meta['porthop']}), nginx {meta['nginx']}, "
      f"socat {meta['socat']}, udptunnel {meta['udptunnel']}"
      + (f", liburing {meta['liburing']}" if "liburing" in meta else "")
      + f". CPUs used: {meta['cpus']}. "
      f"Load average before the run: {meta['load_before']}. Each maximum-rate run lasted "
      f"{meta['d_max']} s, each 50 %-load run {meta['d_lat']} s"
      + (" (short mode: indicative only)" if meta["short"] else "") + ".")
    w("")
    w(f"Reproduce: `{args.command}` (as root, from a build; see above).")
    base = os.path.dirname(os.path.abspath(args.markdown)) if args.markdown else os.getcwd()
    if args.link_results:
        rel = os.path.relpath(os.path.abspath(args.results), base)
        w("")
        w(f"Raw results: [{os.path.basename(args.results)}]({rel}) (bench/report.py redraws this block "
          "and the charts from them).")
    if charts:
        written = charts.write(args.charts, chart_data(runs, not_built, sizes), chart_subtitle(meta))
        for name, alt in written:
            w("")
            w(f"![{alt}]({os.path.relpath(os.path.join(os.path.abspath(args.charts), name), base)})")
    warnings = []
    for size in sizes:
        kmax, klat = find("kernel", size, "-max"), find("kernel", size, "-lat")
        if not kmax:
            continue
        kpps = kmax["sink"]["pps"]
        ksoft = per_mpkt(klat["relay_softirq_s"], klat) if klat else None
        w("")
        w(f"### {size}-byte datagrams (UDP payload)")
        w("")
        w("| path | max rate: received | Mbit/s | loss | 50 % load: rate | loss | added p50 latency "
          "| added p99 latency | relay process CPU s/Mpkt | softirq on the relay CPU s/Mpkt |")
        w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        fastest = 0.0
        for path in ORDER:
            if (path, size) in not_built:
                w(f"| {NAMES[path]} | {not_built[(path, size)]} | | | | | | | | |")
                continue
            mx, lat = find(path, size, "-max"), find(path, size, "-lat")
            if not mx:
                continue
            pps, mbps = mx["sink"]["pps"], mx["sink"]["mbps"]
            if path != "kernel" and not path.endswith("-tcp"):
                fastest = max(fastest, pps)
            # A relay that lost (almost) nothing kept up with the generator: at least this fast.
            at_least = "≥ " if path != "kernel" and not path.endswith("-tcp") and loss(mx) < 0.01 * mx["send"]["sent"] else ""
            rate_cell = f"{at_least}{si(pps, 'pps')}{ratio(pps, kpps)}"
            native = find("porthop", size, "-max")
            if path in AGENT_PATHS and native:
                rate_cell += f", {pps / native['sink']['pps']:.2f}× porthop"
            cells = [agent_name(path, mx) if path in AGENT_PATHS else NAMES[path], rate_cell,
                     f"{mbps:.0f}{ratio(mbps, kmax['sink']['mbps'])}", pct(loss(mx), mx["send"]["sent"])]
            if lat:
                ref = kernel_at(size, lat["rate"])
                lu, ru = lat["sink"]["lat_us"], ref["sink"]["lat_us"]
                if path == "kernel":
                    p50 = f"{lu['p50']:.1f} µs (itself)"
                    p99 = f"{lu['p99']:.1f} µs (itself)"
                else:
                    p50 = f"{lu['p50'] - ru['p50']:+.1f} µs{ratio(lu['p50'], ru['p50'])}"
                    p99 = f"{lu['p99'] - ru['p99']:+.1f} µs{ratio(lu['p99'], ru['p99'])}"
                soft = per_mpkt(lat["relay_softirq_s"], lat)
                proc = per_mpkt(lat["relay_proc_s"], lat)
                cells += [si(lat["rate"], "pps"), pct(loss(lat), lat["send"]["sent"]), p50, p99,
                          f"{proc:.2f}" if proc is not None else "n/a (kernel)",
                          f"{soft:.2f}{ratio(soft, ksoft)}" if soft is not None else "—"]
            else:
                cells += ["—"] * 6
            w("| " + " | ".join(cells) + " |")
        agent_rows = [(p, find(p, size, "-max"), find(p, size, "-lat")) for p in AGENT_PATHS]
        agent_rows = [(p, mx, lat) for p, mx, lat in agent_rows if mx]
        native, native_lat = find("porthop", size, "-max"), find("porthop", size, "-lat")
        if agent_rows:
            w("")
            w(f"Fed by the agent, against the native path at {size} B (the server is the relay under test; "
              "see [the agent paths](#the-agent-paths)):")
            w("")
            w("| path | offered | received | × native porthop | bound by | agent process CPU µs/datagram "
              "| the agent's ceiling on one CPU | server: relay CPU µs/datagram, 50 % load (× native) |")
            w("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |")
            for path, mx, lat in agent_rows:
                pps = mx["sink"]["pps"]
                name = agent_name(path, mx)
                vs = f"{pps / native['sink']['pps']:.2f}×" if native else "— (porthop not run)"
                agent_us = (mx["agent_proc_s"] / mx["agent_to_server"] * 1e6
                            if mx.get("agent_to_server") else None)
                ceiling = si(1e6 / agent_us, "pps") if agent_us else "—"
                srv, nat = relay_cpu(lat), relay_cpu(native_lat)
                srv_cell = "—"
                if srv is not None:
                    srv_cell = f"{srv:.2f}" + (f" ({srv / nat:.2f}×)" if nat else "")
                w(f"| {name} | {si(mx['rate'], 'pps')} | {si(pps, 'pps')} | {vs} | {bound_by(mx)} "
                  f"| {f'{agent_us:.2f}' if agent_us else '—'} | {ceiling} | {srv_cell} |")
                if native and "agent's side" in bound_by(mx):
                    warnings.append(f"at {size} B the agent, not the server, bound {path} "
                                    f"({pps / native['sink']['pps']:.2f}× porthop): that ratio is a lower bound "
                                    "of the server's; the server's CPU per datagram says more")
        if fastest and fastest > 0.8 * kpps:
            warnings.append(f"at {size} B a relay reached {fastest / kpps:.0%} of the kernel path: the "
                            "generator or the sink may have been the limit, not the kernel")
        gen = kmax["send"]["pps"]
        if kpps > 0.9 * gen:
            warnings.append(f"at {size} B the kernel path delivered {kpps / gen:.0%} of what the "
                            "generator sent: it is bounded by the generator, a lower bound of the kernel's own rate")
    if memory:
        w("")
        w("### Userspace memory per session")
        w("")
        w("| relay | sessions | RSS idle | RSS with the sessions | per session |")
        w("| --- | ---: | ---: | ---: | ---: |")
        for m in memory:
            if m.get("skipped"):
                w(f"| {NAMES.get(m['path'], m['path'])} | {m['flows']} | skipped ({m['skipped']}) | | |")
                continue
            note = "" if m["sessions"] == m["flows"] else f" of {m['flows']} clients"
            w(f"| {NAMES.get(m['path'], m['path'])} | {m['sessions']}{note} | {m['rss_idle_kb'] / 1024:.1f} MiB "
              f"| {m['rss_loaded_kb'] / 1024:.1f} MiB | {m['bytes_per_session']} B |")
    w("")
    w("<details><summary>Where the datagrams went (every run)</summary>")
    w("")
    w("| run | offered rate | sent | received | relay socket drops | sink socket drops | backlog drops "
      "| p50 / p99 / max µs (max at) | relay counters |")
    w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for r in runs:
        lu = r["sink"]["lat_us"]
        counters = (r.get("porthop_summary") or "").replace("|", "/")
        if "agent_proc_s" in r:
            counters += (f"; agent: to the server {r.get('agent_to_server', '?')}, dropped at its socket "
                         f"{r['agent_rcvbuf_errors']}, CPU {r['agent_proc_s']:.2f} s"
                         + (f", {r['agent_drops'].strip()}" if r.get("agent_drops") else "")
                         + f", datagrams {r.get('shape', 'plain')}")
        w(f"| {r['tag']} | {si(r['rate'], 'pps') if r['rate'] else 'max'} | {r['send']['sent']} "
          f"| {r['sink']['received']} | {r['relay_rcvbuf_errors']} | {r['sink_rcvbuf_errors']} "
          f"| {r['softnet_drops']} | {lu['p50']:.0f} / {lu['p99']:.0f} / {lu['max']:.0f}"
          + (f" ({lu['max_at_s']:.1f} s)" if "max_at_s" in lu else "") + " "
          f"| {counters} |")
    w("")
    w("</details>")
    for text in warnings:
        w("")
        w(f"**Note:** {text}.")
    out += tls_table(runs, meta["short"])
    table = "\n".join(out)
    print(table)

    if args.markdown:
        try:
            doc = open(args.markdown).read()
        except FileNotFoundError:
            doc = "# Benchmarks\n"
        block = f"{BEGIN}\n{table}\n{END}"
        if BEGIN in doc and END in doc:
            head, rest = doc.split(BEGIN, 1)
            doc = head + block + rest.split(END, 1)[1]
        else:
            doc = doc.rstrip("\n") + "\n\n" + block + "\n"
        with open(args.markdown, "w") as f:
            f.write(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
