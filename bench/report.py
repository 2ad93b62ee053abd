#!/usr/bin/env python3
"""Summarises a bench/run.sh results file: the table, the ratios, the
issue's targets, a markdown copy and two SVG charts.

    bench/report.py RESULTS OUTDIR

RESULTS holds one JSON record a line (the format bench/run.sh's
sub-benchmarks append). For each (section, tool, size or consumers or
rate): the median, min and max over the repetitions of msgs/s, MB/s, CPU
seconds and peak RSS (throughput), or p50/p99/p99.9 (latency). Prints the
plain-text report and writes OUTDIR/results.txt, OUTDIR/results.md (for
docs/BENCHMARKS.md), OUTDIR/throughput.svg and OUTDIR/cost-curve.svg.
Python standard library only. Sections without records are "not run".
"""
import json
import os
import statistics
import sys
from collections import defaultdict

THROUGHPUT = ["validate", "produce", "consume", "scale", "pubsub-produce",
              "pubsub-consume", "postgres"]
LATENCY = ["e2e", "gateway"]
ALL = THROUGHPUT + LATENCY + ["gateway-max"]


def med(xs):
    return statistics.median(xs) if xs else None


def load(path):
    recs = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                recs.append(json.loads(line))
            except ValueError:
                print(f"report.py: {path}:{n}: not JSON, skipped",
                      file=sys.stderr)
    return recs


def key_of(r):
    """The group a record belongs to, besides section and tool."""
    for k in ("consumers", "rate", "size"):
        if k in r:
            return k, r[k]
    return "", ""


class Group:
    def __init__(self, section, tool, kname, kval):
        self.section, self.tool, self.kname, self.kval = (section, tool,
                                                          kname, kval)
        self.recs = []

    def stat(self, fn):
        xs = [v for v in (fn(r) for r in self.recs) if v is not None]
        if not xs:
            return None
        return med(xs), min(xs), max(xs)

    def msgs(self):
        return self.stat(lambda r: r["events"] / r["wall_s"]
                         if r.get("wall_s") and "events" in r else None)

    def mbs(self):
        return self.stat(lambda r: r["bytes"] / r["wall_s"] / 1e6
                         if r.get("wall_s") and r.get("bytes") else None)

    def field(self, name, scale=1.0):
        return self.stat(lambda r: r[name] * scale
                         if isinstance(r.get(name), (int, float)) else None)


def groups_of(recs):
    groups = {}
    for r in recs:
        if "section" not in r or "tool" not in r:
            continue
        kname, kval = key_of(r)
        k = (r["section"], r["tool"], kname, kval)
        if k not in groups:
            groups[k] = Group(*k)
        groups[k].recs.append(r)
    return groups


def fmt(x, digits=0):
    if x is None:
        return "-"
    if digits == 0:
        return f"{x:,.0f}"
    return f"{x:,.{digits}f}"


def fmt3(s, digits=0):
    """median [min-max]"""
    if s is None:
        return "-"
    return f"{fmt(s[0], digits)} [{fmt(s[1], digits)}-{fmt(s[2], digits)}]"


def sort_key(g):
    return (ALL.index(g.section) if g.section in ALL else 99, g.section,
            str(g.kname), g.kval if isinstance(g.kval, (int, float)) else 0,
            g.tool)


def table_rows(groups):
    """(header, rows) for the throughput table and for the latency one."""
    thr, lat, gmax = [], [], []
    for g in sorted(groups.values(), key=sort_key):
        reps = len(g.recs)
        what = f"{g.kname}={g.kval}" if g.kname else ""
        if g.section in LATENCY:
            lat.append([g.section, g.tool, what, str(reps),
                        fmt3(g.field("p50_ms"), 2), fmt3(g.field("p99_ms"), 2),
                        fmt3(g.field("p999_ms"), 2),
                        fmt(sum(r.get("errors", 0) for r in g.recs))])
        elif g.section == "gateway-max":
            gmax.append([g.section, g.tool, str(reps),
                         fmt3(g.field("max_rate_per_min"))])
        else:
            thr.append([g.section, g.tool, what, str(reps), fmt3(g.msgs()),
                        fmt3(g.mbs(), 1), fmt3(g.field("cpu_s"), 2),
                        fmt3(g.field("rss_kb", 1 / 1024), 1)])
    return (
        (["section", "tool", "size/consumers", "reps",
          "msgs/s median [min-max]", "MB/s", "CPU s", "peak RSS MB"], thr),
        (["section", "tool", "rate", "reps", "p50 ms", "p99 ms",
          "p99.9 ms", "errors"], lat),
        (["section", "tool", "reps", "max rate/min, zero errors"], gmax))


def text_table(header, rows):
    widths = [max(len(x) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths))
    out = [line(header).rstrip(), line(["-" * w for w in widths])]
    out += [line(r).rstrip() for r in rows]
    return "\n".join(out)


def md_table(header, rows):
    esc = lambda c: c.replace("|", "\\|")
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


class Finder:
    def __init__(self, groups):
        self.groups = groups

    def sizes(self, section, tool):
        return sorted(g.kval for g in self.groups.values()
                      if g.section == section and g.tool == tool
                      and g.kname == "size")

    def get(self, section, tool, kname=None, kval=None):
        """The group; for sized sections the largest size unless given."""
        cands = [g for g in self.groups.values()
                 if g.section == section and g.tool == tool
                 and (kname is None or g.kname == kname)
                 and (kval is None or g.kval == kval)]
        if not cands:
            return None
        return max(cands, key=lambda g: g.kval
                   if isinstance(g.kval, (int, float)) else 0)

    def tool_like(self, section, *words, exclude=()):
        """The first tool of section whose name holds one of words."""
        for g in sorted(self.groups.values(), key=sort_key):
            if g.section != section:
                continue
            name = g.tool.lower()
            if any(w in name for w in words) and \
                    not any(x in name for x in exclude):
                return g.tool
        return None

    def rate(self, section, tool, size=None):
        g = self.get(section, tool, "size" if size else None, size)
        s = g.msgs() if g else None
        return s[0] if s else None


def ratio_line(label, a, b, target=None):
    if a is None or b is None or not b:
        return label, None, "not run", None
    r = a / b
    met = None if target is None else r >= target
    return label, r, f"{r:.2f}x ({fmt(a)} vs {fmt(b)} msgs/s)", met


def analyse(groups):
    f = Finder(groups)
    ratios, targets = [], []
    # Compare at the largest size both sides ran.
    def common_size(s1, t1, s2, t2):
        both = set(f.sizes(s1, t1)) & set(f.sizes(s2, t2))
        return max(both) if both else None

    def cmp(label, s1, t1, s2, t2, target=None):
        if t1 is None or t2 is None:
            return label, None, "not run", None
        size = common_size(s1, t1, s2, t2)
        if size is not None:
            a, b = f.rate(s1, t1, size), f.rate(s2, t2, size)
            label = f"{label} @{size:,}"
        else:
            a, b = f.rate(s1, t1), f.rate(s2, t2)
        return ratio_line(label, a, b, target)

    ec = "event-consumer"
    ratios.append(cmp("event-consumer / validator ceiling", "consume", ec,
                      "validate", "validator", 1.0))
    ratios.append(cmp("event-consumer / json_loadb loop", "consume", ec,
                      "validate", "json_loadb"))
    ratios.append(cmp("event-consumer / python consumer", "consume", ec,
                      "consume", "python", 4.0))
    ratios.append(cmp("event-consumer / kcat -C", "consume", ec,
                      "consume", "kcat"))
    ratios.append(cmp("event-producer / kcat -P", "produce", "event-producer",
                      "produce", "kcat", 1.0))
    ratios.append(cmp("event-producer / python producer", "produce",
                      "event-producer", "produce", "python", 1.0))
    ps_ours = f.tool_like("pubsub-consume", "event-consumer")
    ps_google = f.tool_like("pubsub-consume", "google", "python",
                            exclude=("rest",))
    ps_rest = f.tool_like("pubsub-consume", "rest")
    ratios.append(cmp("pubsub event-consumer / Google python subscriber",
                      "pubsub-consume", ps_ours, "pubsub-consume", ps_google,
                      2.0))
    ratios.append(cmp("pubsub event-consumer / REST pull loop",
                      "pubsub-consume", ps_ours, "pubsub-consume", ps_rest,
                      1.0))
    pp_ours = f.tool_like("pubsub-produce", "event-producer")
    pp_peer = f.tool_like("pubsub-produce", "google", "python")
    ratios.append(cmp("pubsub event-producer / Google python publisher",
                      "pubsub-produce", pp_ours, "pubsub-produce", pp_peer))
    pg_ours = f.tool_like("postgres", "event-consumer", "postgres",
                          exclude=("stdout",))
    pg_copy = f.tool_like("postgres", "copy", "psql")
    ratios.append(cmp("postgres sink / psql \\copy", "postgres", pg_ours,
                      "postgres", pg_copy))
    # Scale-out: k consumers against one.
    one = f.get("scale", ec, "consumers", 1)
    for k in (2, 4):
        g = f.get("scale", ec, "consumers", k)
        a = g.msgs()[0] if g and g.msgs() else None
        b = one.msgs()[0] if one and one.msgs() else None
        ratios.append(ratio_line(f"scale-out {k} / 1 consumers", a, b))

    # Cost curve: per-event time at the smallest size against the largest.
    curve = []
    for sec in ("validate", "produce", "consume"):
        for tool in sorted({g.tool for g in groups.values()
                            if g.section == sec and g.kname == "size"}):
            sizes = f.sizes(sec, tool)
            if len(sizes) < 2:
                continue
            lo, hi = sizes[0], sizes[-1]
            ulo = 1e6 / f.rate(sec, tool, lo)
            uhi = 1e6 / f.rate(sec, tool, hi)
            curve.append((sec, tool, lo, hi, ulo, uhi, uhi / ulo - 1))

    # Targets.
    def target_from(label, r):
        _, val, text, met = r
        targets.append((label, met, text))

    target_from("consumer >= 1.0x single-core validator ceiling", ratios[0])
    target_from("consumer >= 4x python consumer", ratios[2])
    target_from("producer >= 1.0x kcat -P", ratios[4])
    target_from("producer >= 1.0x python producer", ratios[5])
    target_from("pubsub consumer >= 2x Google python subscriber", ratios[6])
    target_from("pubsub consumer >= 1.0x REST pull loop", ratios[7])
    lin = [c for c in curve if c[0] == "consume" and c[1] == ec]
    if lin:
        c = lin[0]
        targets.append((f"consumer linear {c[2]:,} to {c[3]:,} within ±15% "
                        "per event", abs(c[6]) <= 0.15,
                        f"{c[4]:.2f} vs {c[5]:.2f} µs/event ({c[6]:+.0%})"))
    else:
        targets.append(("consumer linear 100k to 1M within ±15% per event",
                        None, "not run"))
    rss = [r["rss_kb"] for g in groups.values()
           if g.section == "consume" and g.tool == ec for r in g.recs
           if "rss_kb" in r]
    targets.append(("consumer peak RSS < 32 MB (defaults)",
                    (max(rss) < 32 * 1024) if rss else None,
                    f"max {max(rss) / 1024:.1f} MB over {len(rss)} runs"
                    if rss else "not run"))
    # Ours first: event-consumer's (or event-gateway's) latency, not a
    # peer's measured beside it.
    ours = lambda g: (not g.tool.startswith("event-"), g.tool)
    e2e = sorted((g for g in groups.values() if g.section == "e2e"
                  and g.kval == 10000), key=ours)
    if e2e and e2e[0].field("p99_ms"):
        p99 = e2e[0].field("p99_ms")[0]
        targets.append(("e2e p99 < 5 ms at 10,000 events/s", p99 < 5,
                        f"{e2e[0].tool}: p99 {p99:.2f} ms (median of "
                        f"{len(e2e[0].recs)})"))
    else:
        targets.append(("e2e p99 < 5 ms at 10,000 events/s", None,
                        "not run"))
    gw = sorted((g for g in groups.values() if g.section == "gateway"
                 and g.kval == 10000), key=ours)
    if gw and gw[0].field("p99_ms"):
        p99 = gw[0].field("p99_ms")[0]
        targets.append(("gateway p99 < 10 ms at 10,000 requests/min",
                        p99 < 10,
                        f"{gw[0].tool}: p99 {p99:.2f} ms (median of "
                        f"{len(gw[0].recs)})"))
    else:
        targets.append(("gateway p99 < 10 ms at 10,000 requests/min", None,
                        "not run"))
    return ratios, curve, targets


def verdict(met):
    return {True: "met", False: "NOT MET", None: "not run"}[met]


def render(groups, recs, md):
    tables = table_rows(groups)
    ratios, curve, targets = analyse(groups)
    tab = md_table if md else text_table
    out = []
    h = (lambda s: f"\n### {s}\n") if md else (lambda s: f"\n== {s} ==")
    out.append(h("Throughput (median [min-max] over the repetitions)"))
    out.append(tab(*tables[0]) if tables[0][1] else "not run")
    out.append(h("Latency"))
    out.append(tab(*tables[1]) if tables[1][1] else "not run")
    if tables[2][1]:
        out.append(tab(*tables[2]))
    seen = {r.get("section") for r in recs}
    missing = [s for s in ALL if s not in seen]
    if missing:
        out.append(("\n" if md else "") +
                   f"Not run: {', '.join(missing)}")
    out.append(h("Ratios (medians)"))
    rows = [[label, text] for label, _, text, _ in ratios]
    out.append(tab(["ratio", "value"], rows))
    out.append(h("Cost curve (µs per event, smallest vs largest size)"))
    rows = [[s, t, f"{lo:,}", f"{hi:,}", f"{a:.2f}", f"{b:.2f}", f"{d:+.0%}"]
            for s, t, lo, hi, a, b, d in curve]
    out.append(tab(["section", "tool", "small", "large", "µs small",
                    "µs large", "change"], rows) if rows else "not run")
    out.append(h("Targets"))
    rows = [[label, verdict(met), text] for label, met, text in targets]
    out.append(tab(["target", "verdict", "numbers"], rows))
    return "\n".join(out) + "\n"


# ------------------------------------------------------------- SVG charts

PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
           "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]


def esc(s):
    return (str(s).replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;"))


def throughput_svg(groups, path):
    """Horizontal bars, one block per section (at its largest size), each
    block on its own scale so the slow peers stay visible."""
    blocks = []
    f = Finder(groups)
    for sec in THROUGHPUT:
        tools = sorted({(g.tool, g.kname, g.kval) for g in groups.values()
                        if g.section == sec}, key=lambda t: (t[1], t[2], t[0]))
        if not tools:
            continue
        if sec == "scale":
            bars = [(f"{t} x{k}", groups[(sec, t, kn, k)].msgs())
                    for t, kn, k in tools]
        else:
            names = sorted({t for t, _, _ in tools})
            bars = []
            for t in names:
                g = f.get(sec, t)
                label = f"{t}" + (f" @{g.kval:,}" if g.kname == "size" else "")
                bars.append((label, g.msgs()))
        bars = [(label, s) for label, s in bars if s]
        if bars:
            blocks.append((sec, bars))
    bar_h, gap, left, width = 18, 4, 250, 460
    height = 30 + sum(28 + len(b) * (bar_h + gap) for _, b in blocks) + 10
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 120}"'
           f' height="{height}" font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="20" font-size="15" font-weight="bold">'
           'Throughput, msgs/s (median; whiskers min-max; each section on '
           'its own scale)</text>']
    y = 40
    for sec, bars in blocks:
        top = max(s[2] for _, s in bars)
        out.append(f'<text x="10" y="{y + 12}" font-weight="bold">'
                   f'{esc(sec)}</text>')
        y += 20
        for i, (label, s) in enumerate(bars):
            w = width * s[0] / top
            color = PALETTE[i % len(PALETTE)]
            out.append(f'<text x="{left - 6}" y="{y + 13}" '
                       f'text-anchor="end">{esc(label)}</text>')
            out.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" '
                       f'height="{bar_h}" fill="{color}"/>')
            x1, x2 = left + width * s[1] / top, left + width * s[2] / top
            out.append(f'<line x1="{x1:.1f}" x2="{x2:.1f}" y1="{y + 9}" '
                       f'y2="{y + 9}" stroke="black"/>')
            out.append(f'<text x="{max(w, x2 - left) + left + 5:.1f}" '
                       f'y="{y + 13}">{fmt(s[0])}</text>')
            y += bar_h + gap
        y += 8
    out.append("</svg>")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(out) + "\n")


def cost_svg(groups, path):
    """Per-event µs against the size (log x), a line per section/tool."""
    f = Finder(groups)
    lines = []
    for sec in ("validate", "produce", "consume"):
        for tool in sorted({g.tool for g in groups.values()
                            if g.section == sec and g.kname == "size"}):
            pts = [(n, 1e6 / f.rate(sec, tool, n))
                   for n in f.sizes(sec, tool) if f.rate(sec, tool, n)]
            if pts:
                lines.append((f"{sec}: {tool}", pts))
    W, H, L, R, T, B = 720, 420, 60, 230, 40, 50
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" '
           f'height="{H}" font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="20" font-size="15" font-weight="bold">'
           'Cost curve: µs per event (median) against events in the run'
           '</text>']
    if not lines:
        out.append('<text x="60" y="80">not run</text></svg>')
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("\n".join(out) + "\n")
        return
    import math
    xs = sorted({n for _, pts in lines for n, _ in pts})
    ymax = max(u for _, pts in lines for _, u in pts) * 1.1
    lx0, lx1 = math.log10(xs[0]), math.log10(xs[-1])
    span = (lx1 - lx0) or 1.0
    px = lambda n: L + (W - L - R) * ((math.log10(n) - lx0) / span
                                      if lx1 > lx0 else 0.5)
    py = lambda u: H - B - (H - T - B) * u / ymax
    out.append(f'<line x1="{L}" y1="{H - B}" x2="{W - R}" y2="{H - B}" '
               'stroke="black"/>')
    out.append(f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H - B}" '
               'stroke="black"/>')
    for n in xs:
        out.append(f'<text x="{px(n):.1f}" y="{H - B + 16}" '
                   f'text-anchor="middle">{n:,}</text>')
    for i in range(6):
        u = ymax * i / 5
        out.append(f'<text x="{L - 5}" y="{py(u) + 4:.1f}" '
                   f'text-anchor="end">{u:.1f}</text>')
        out.append(f'<line x1="{L}" x2="{W - R}" y1="{py(u):.1f}" '
                   f'y2="{py(u):.1f}" stroke="#ddd"/>')
    out.append(f'<text x="{(L + W - R) / 2}" y="{H - 10}" '
               'text-anchor="middle">events (log scale)</text>')
    for i, (label, pts) in enumerate(lines):
        color = PALETTE[i % len(PALETTE)]
        coords = " ".join(f"{px(n):.1f},{py(u):.1f}" for n, u in pts)
        out.append(f'<polyline points="{coords}" fill="none" '
                   f'stroke="{color}" stroke-width="2"/>')
        for n, u in pts:
            out.append(f'<circle cx="{px(n):.1f}" cy="{py(u):.1f}" r="3" '
                       f'fill="{color}"/>')
        out.append(f'<rect x="{W - R + 10}" y="{T + i * 18}" width="12" '
                   f'height="12" fill="{color}"/>')
        out.append(f'<text x="{W - R + 28}" y="{T + i * 18 + 11}">'
                   f'{esc(label)}</text>')
    out.append("</svg>")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(out) + "\n")


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: report.py RESULTS OUTDIR")
    recs = load(argv[1]) if os.path.exists(argv[1]) else []
    os.makedirs(argv[2], exist_ok=True)
    groups = groups_of(recs)
    text = render(groups, recs, md=False)
    with open(os.path.join(argv[2], "results.txt"), "w",
              encoding="utf-8") as fh:
        fh.write(text)
    machine = os.path.join(argv[2], "machine.txt")
    with open(os.path.join(argv[2], "results.md"), "w",
              encoding="utf-8") as fh:
        if os.path.exists(machine):
            with open(machine, encoding="utf-8") as m:
                fh.write("### Machine\n\n" + "".join(
                    f"- {line}" for line in m if line.strip()) + "\n")
        fh.write(render(groups, recs, md=True))
    throughput_svg(groups, os.path.join(argv[2], "throughput.svg"))
    cost_svg(groups, os.path.join(argv[2], "cost-curve.svg"))
    sys.stdout.write(text)


if __name__ == "__main__":
    main(sys.argv)
