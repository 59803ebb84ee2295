"""SVG charts of bench/throughput.sh's results, drawn for bench/report.py with matplotlib.

report.py works out what to draw (chart_data there: one entry per path and size, in the
tables' order); this module only draws it, one file per chart:

    throughput-SIZE.svg  datagrams/s received at maximum rate (Mbit/s on the top axis), each
                         bar with its ratio to kernel forwarding in the same run
    cpu-SIZE.svg         at 50 % load: the relay CPU's time per datagram (process + softirq)
                         and the loss

porthop's bars are drawn in one colour, its peers' in another, kernel forwarding in grey (and
as a dashed line: the reference). The files are the same bytes for the same input: a fixed
svg.hashsalt (the ids of clip paths), no date in the metadata, text kept as text (so a page
search and a test find the paths' names). matplotlib is imported only here; report.py's tables
do not need it.
"""
import os
import sys
import textwrap

PORTHOP = "#d9480f"        # porthop's bars
PORTHOP_LIGHT = "#ffa94d"  # its softirq share
PEER = "#5c7cfa"           # the other relays
PEER_LIGHT = "#bac8ff"
KERNEL = "#868e96"         # kernel forwarding (and nftables: in the kernel too)
KERNEL_LIGHT = "#ced4da"
TEXT = "#212529"
MUTED = "#495057"

RC = {
    "svg.hashsalt": "porthop-bench",  # clip-path ids from this, not from a random uuid
    "svg.fonttype": "none",           # text as <text>: searchable, smaller
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.spines.right": False,
    "axes.spines.top": False,
    "axes.edgecolor": MUTED,
    "axes.labelcolor": TEXT,
    "xtick.color": MUTED,
    "ytick.color": TEXT,
    "hatch.linewidth": 0.6,
}


class MissingMatplotlib(Exception):
    """matplotlib cannot be imported: the message says how to get it."""


def _matplotlib():
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError as e:
        raise MissingMatplotlib(
            f"--charts needs matplotlib, which this Python ({sys.executable}) "
            f"cannot import ({e}): apt-get install python3-matplotlib, and run report.py with "
            "/usr/bin/python3") from None
    return matplotlib, Figure


def require():
    """Raises MissingMatplotlib now rather than after the tables are printed."""
    _matplotlib()


def _is_porthop(path):
    return path.startswith("porthop")


def _colours(entry):
    if _is_porthop(entry["path"]):
        return PORTHOP, PORTHOP_LIGHT
    if entry["path"] in ("kernel", "nft"):
        return KERNEL, KERNEL_LIGHT
    return PEER, PEER_LIGHT


def _si(v):
    for div, suffix in ((1e6, " M"), (1e3, " k")):
        if abs(v) >= div:
            return f"{v / div:.3g}{suffix}"
    return f"{v:.3g} "


def _subtitle(ax, text):
    ax.set_title(textwrap.fill(text, 105), fontsize=7.5, color=MUTED, loc="left")


COLOURS_NOTE = "Orange: porthop; blue: the other relays; grey: in the kernel (forwarding, nftables)."


def _pct(p):
    return "0 %" if p <= 0 else f"{p:.2g} %" if p < 10 else f"{p:.0f} %"


def _notes(fig, notes):
    """The footnotes, under the chart, each wrapped to the figure's width."""
    fig.supxlabel("\n".join(textwrap.fill(n, 150) for n in notes), fontsize=7, color=MUTED, x=0.01, ha="left")


def _bar_text(ax, x, y, text, colour):
    """A bar's figures beside it, on white (over the reference line)."""
    ax.text(x, y, text, va="center", ha="left", fontsize=7.5, color=colour,
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6})


def _style_labels(ax, entries):
    ax.set_yticks(range(len(entries)), [e["label"] for e in entries])
    for tick, e in zip(ax.get_yticklabels(), entries):
        if _is_porthop(e["path"]):
            tick.set_color(PORTHOP)
            tick.set_fontweight("bold")
    ax.set_ylim(len(entries) - 0.5, -0.5)  # the tables' order, top down
    ax.tick_params(axis="y", length=0)


def _missing(ax, y, entry, text=None):
    ax.text(0, y, "  " + (text or entry["missing"]), va="center", ha="left", color=MUTED,
            fontstyle="italic", fontsize=7.5)


def _throughput(Figure, size, entries, subtitle):
    kernel = next((e for e in entries if e["path"] == "kernel" and "pps" in e), None)
    peak = max((e["pps"] for e in entries if "pps" in e), default=1.0) / 1e3
    fig = Figure(figsize=(8.2, 1.75 + 0.3 * len(entries)), layout="constrained")
    ax = fig.subplots()
    for y, e in enumerate(entries):
        if "pps" not in e:
            _missing(ax, y, e)
            continue
        colour, light = _colours(e)
        kpps = e["pps"] / 1e3
        if e["paced"]:  # offered porthop's own maximum: not a flood, so hatched
            ax.barh(y, kpps, height=0.7, color=light, edgecolor=colour, hatch="////", linewidth=0.8)
        else:
            ax.barh(y, kpps, height=0.7, color=colour)
        label = (f"{'≥ ' if e['at_least'] else ''}{_si(e['pps'])}pps · {e['mbps']:.0f} Mbit/s"
                 + (f" · {e['ratio']:.2f}×" if e.get("ratio") is not None else "")
                 + (" · bound by the agent" if e.get("agent_bound") else ""))
        _bar_text(ax, kpps + peak * 0.01, y, label, PORTHOP if _is_porthop(e["path"]) else TEXT)
    if kernel:
        ax.axvline(kernel["pps"] / 1e3, color=KERNEL, linestyle="--", linewidth=0.8, zorder=0)
    ax.set_xlim(0, peak * 1.42)
    _style_labels(ax, entries)
    ax.set_xlabel("thousand datagrams/s received at maximum rate; ratio to kernel forwarding (dashed)")
    bits = size * 8 / 1e3  # kpps -> Mbit/s (payload)
    top = ax.secondary_xaxis("top", functions=(lambda k: k * bits, lambda m: m / bits))
    top.set_xlabel("Mbit/s of UDP payload")
    top.tick_params(colors=MUTED)
    _subtitle(ax, subtitle)
    fig.suptitle(f"{size}-byte datagrams: throughput, porthop and its peers", fontweight="bold",
                 x=0.01, ha="left")
    notes = [COLOURS_NOTE + " ≥: delivered (almost) all that was offered, so the figure is a lower bound."]
    if any(e.get("paced") for e in entries):
        notes.append("Hatched: fed by porthop's agent, offered porthop's own maximum (paced, not a flood)"
                     + ("; bound by the agent: it dropped the rest at its own socket, before the server "
                        "(the tables: the server's CPU per datagram)." if any(e.get("agent_bound") for e in entries)
                        else "."))
    if any(e["path"].endswith("-tcp") and "pps" in e for e in entries):
        notes.append("TCP in: one segment carries many datagrams, so it can pass kernel forwarding of UDP.")
    _notes(fig, notes)
    return fig


def _cpu(Figure, size, entries, subtitle):
    fig = Figure(figsize=(8.2, 1.75 + 0.3 * len(entries)), layout="constrained")
    ax, lossax = fig.subplots(1, 2, sharey=True, width_ratios=[2.4, 1])
    peak = max((e["proc_us"] or 0) + e["softirq_us"] for e in entries if e.get("softirq_us") is not None) \
        if any(e.get("softirq_us") is not None for e in entries) else 1.0
    peak_loss = max([e["loss_pct"] for e in entries if e.get("loss_pct") is not None] + [1.0])
    for y, e in enumerate(entries):
        if e.get("softirq_us") is None:
            _missing(ax, y, e, e.get("missing") or "no 50 % load run")
            continue
        colour, light = _colours(e)
        proc = e["proc_us"] or 0.0
        ax.barh(y, proc, height=0.7, color=colour)
        ax.barh(y, e["softirq_us"], left=proc, height=0.7, color=light, edgecolor=colour, linewidth=0.5)
        total = proc + e["softirq_us"]
        text = f"{total:.1f} µs" + ("" if e["proc_us"] is not None else " (all in the kernel)")
        _bar_text(ax, total + peak * 0.01, y, text, PORTHOP if _is_porthop(e["path"]) else TEXT)
        lossax.barh(y, e["loss_pct"], height=0.7, color=colour)
        _bar_text(lossax, e["loss_pct"] + peak_loss * 0.02, y,
                  _pct(e["loss_pct"]) + (f" at {_si(e['lat_pps'])}pps" if e.get("lat_pps") else ""), TEXT)
    ax.set_xlim(0, peak * 1.3)
    lossax.set_xlim(0, peak_loss * 2.4)
    _style_labels(ax, entries)
    lossax.tick_params(axis="y", length=0)
    ax.set_xlabel("relay CPU µs per datagram (dark: the relay process; light: softirq on its CPU)")
    lossax.set_xlabel("loss at 50 % load")
    _subtitle(ax, subtitle)
    fig.suptitle(f"{size}-byte datagrams at 50 % load: what each datagram costs the relay's CPU",
                 fontweight="bold", x=0.01, ha="left")
    notes = [COLOURS_NOTE, "50 % load: half kernel forwarding's maximum, or half the path's own when that is lower; "
             "fewer µs is better."]
    if any(e.get("paced") for e in entries):
        notes.append("Agent paths: the server's CPU only (the agent's own is on the client side).")
    _notes(fig, notes)
    return fig


def write(directory, data, subtitle):
    """Draws every chart of data ({size: [entry, ...]}) into directory; returns [(file name,
    alt text)] in the order a reader should see them."""
    matplotlib, Figure = _matplotlib()
    os.makedirs(directory, exist_ok=True)
    written = []
    def names(entries, key):
        return "; ".join(e["label"] for e in entries if e.get(key) is not None)

    charts = [(f"throughput-{size}.svg", _throughput, size, entries,
               f"{size}-byte datagrams: datagrams/s and Mbit/s received at maximum rate by: {names(entries, 'pps')}")
              for size, entries in data.items()]
    charts += [(f"cpu-{size}.svg", _cpu, size, entries,
                f"{size}-byte datagrams at 50 % load: relay CPU per datagram and loss of: {names(entries, 'softirq_us')}")
               for size, entries in data.items() if any(e.get("softirq_us") is not None for e in entries)]
    with matplotlib.rc_context(RC):
        for name, draw, size, entries, alt in charts:  # throughput first, then the CPU
            fig = draw(Figure, size, entries, subtitle)
            fig.savefig(os.path.join(directory, name), format="svg", metadata={"Date": None})
            written.append((name, alt))
    return written
