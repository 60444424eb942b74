"""Render tokacct's report as one self-contained HTML page.

usage: python3 report_html.py REPORT.json OUT.html

REPORT.json is what test/report_data.sql prints: the figures of the report
as one JSON document.  The page has no scripts, no fonts or images from the
network and no libraries: every chart is inline SVG drawn here.  Each chart
is an <svg> with an id (chart-frontier-<workflow>, chart-waste,
chart-quantiles, chart-segments, chart-burndown) so a test can find it.
"""
import html
import json
import math
import sys

PALETTE = {
    "essential": "#4c9a6a",
    "failed_attempt": "#d9822b",
    "error_call": "#c23030",
    "abandoned_branch": "#a66fb5",
    "stuck_loop": "#6b8fd6",
    "duplicate_tool_call": "#2b95a6",
}
CLASS_LABEL = {
    "essential": "essential",
    "failed_attempt": "failed attempt",
    "error_call": "error call",
    "abandoned_branch": "abandoned branch",
    "stuck_loop": "stuck loop",
    "duplicate_tool_call": "duplicate tool call",
}
INK = "#1f2933"
MUTED = "#7b8794"
GRID = "#e4e7eb"
AGENT = "#3867d6"
BPO = "#8e9aaf"
LOSS = "#c23030"


def esc(s):
    return html.escape(str(s), quote=True)


def money(x, digits=2):
    if x is None:
        return "n/a"
    x = float(x)
    if x == 0:
        return "$0"
    if abs(x) >= 1000:
        return "${:,.0f}".format(x)
    if abs(x) >= 1:
        return "${:,.{d}f}".format(x, d=digits)
    return "${:,.4f}".format(x)


def text(x, y, s, size=12, anchor="start", color=INK, weight="normal", extra=""):
    return ('<text x="{:.1f}" y="{:.1f}" font-size="{}" text-anchor="{}" fill="{}" font-weight="{}"{}>{}</text>'
            .format(x, y, size, anchor, color, weight, extra, esc(s)))


def nice_ticks(lo, hi, n=5):
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=mag * 10)
    start = math.floor(lo / step) * step
    ticks, t = [], start
    while not ticks or ticks[-1] < hi - step * 0.001:
        ticks.append(round(t, 10))
        t += step
    return ticks


def frontier_chart(workflow, options):
    """Mean cost (x, log scale) against mean value (y) per item; the frontier joined."""
    w, h, ml, mr, mt, mb = 420, 300, 64, 24, 34, 44
    pw, ph = w - ml - mr, h - mt - mb
    xs = [float(o["mean_cost"]) for o in options if float(o["mean_cost"]) > 0]
    ys = [float(o["mean_value"]) for o in options]
    lo = math.floor(math.log10(min(xs))) if xs else -3
    hi = math.ceil(math.log10(max(xs))) if xs else 0
    if hi <= lo:
        hi = lo + 1
    ylo, yhi = min(0.0, min(ys)), max(ys) * 1.15 or 1
    yt = nice_ticks(ylo, yhi)
    ylo, yhi = min(yt), max(yt)

    def px(v):
        return ml + pw * (math.log10(max(v, 10 ** lo)) - lo) / (hi - lo)

    def py(v):
        return mt + ph * (1 - (v - ylo) / (yhi - ylo))

    out = ['<svg id="chart-frontier-{}" class="chart" viewBox="0 0 {} {}" width="{}" height="{}" role="img">'
           .format(esc(workflow), w, h, w, h),
           '<title>{}: the utility frontier</title>'.format(esc(workflow)),
           text(ml, 20, workflow, 14, weight="bold")]
    for t in yt:
        out.append('<line x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" stroke="{}"/>'.format(ml, ml + pw, py(t), py(t), GRID))
        out.append(text(ml - 6, py(t) + 4, money(t), 10, "end", MUTED))
    for e in range(lo, hi + 1):
        out.append(text(px(10 ** e), mt + ph + 16, money(10 ** e), 10, "middle", MUTED))
    out.append(text(ml + pw / 2, h - 6, "cost per item, log scale (AI, retries and human fixes)", 11, "middle", MUTED))
    out.append(text(14, mt + ph / 2, "value per item", 11, "middle", MUTED,
                    extra=' transform="rotate(-90 14 {:.1f})"'.format(mt + ph / 2)))
    front = sorted((o for o in options if o["on_frontier"]), key=lambda o: float(o["mean_cost"]))
    if len(front) > 1:
        pts = " ".join("{:.1f},{:.1f}".format(px(float(o["mean_cost"])), py(float(o["mean_value"]))) for o in front)
        out.append('<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>'.format(pts, AGENT))
    placed = []
    for o in sorted(options, key=lambda o: -float(o["mean_value"])):
        x, y = px(float(o["mean_cost"])), py(float(o["mean_value"]))
        is_bpo = o["option"] == "BPO"
        color = BPO if is_bpo else (AGENT if o["on_frontier"] else MUTED)
        shape = ('<rect x="{:.1f}" y="{:.1f}" width="10" height="10" fill="{}"/>'.format(x - 5, y - 5, color) if is_bpo
                 else '<circle cx="{:.1f}" cy="{:.1f}" r="{}" fill="{}"/>'.format(x, y, 6 if o["on_frontier"] else 4.5, color))
        out.append(shape)
        anchor = "end" if x > ml + pw * 0.6 else "start"
        ly = y - 8
        while any(abs(ly - py_) < 13 and abs(x - px_) < 150 for px_, py_ in placed):
            ly += 13
        placed.append((x, ly))
        out.append(text(x + (-9 if anchor == "end" else 9), ly, o["option"], 11, anchor, INK))
    out.append("</svg>")
    return "\n".join(out)


def waste_chart(rows):
    """Per workflow, the trace spend split into classes (100% bars)."""
    workflows = sorted({r["workflow"] for r in rows})
    classes = [c for c in PALETTE if any(r["class"] == c and float(r["cost"]) > 0 for r in rows)]
    w, bar, gap, ml, mt = 860, 26, 16, 150, 40
    h = mt + len(workflows) * (bar + gap) + 50
    pw = w - ml - 110
    out = ['<svg id="chart-waste" class="chart" viewBox="0 0 {} {}" width="{}" height="{}" role="img">'.format(w, h, w, h),
           '<title>Waste by class</title>']
    x = ml
    for c in classes:
        out.append('<rect x="{}" y="10" width="12" height="12" fill="{}"/>'.format(x, PALETTE[c]))
        out.append(text(x + 16, 20, CLASS_LABEL[c], 11))
        x += 30 + 7 * len(CLASS_LABEL[c])
    for i, wf in enumerate(workflows):
        y = mt + i * (bar + gap)
        parts = {r["class"]: float(r["cost"]) for r in rows if r["workflow"] == wf}
        total = sum(parts.values()) or 1
        out.append(text(ml - 8, y + bar * 0.68, wf, 12, "end"))
        x = ml
        for c in PALETTE:
            v = parts.get(c, 0)
            if v <= 0:
                continue
            bw = pw * v / total
            out.append('<rect x="{:.1f}" y="{}" width="{:.1f}" height="{}" fill="{}"><title>{}: {} ({:.1%})</title></rect>'
                       .format(x, y, bw, bar, PALETTE[c], esc(CLASS_LABEL[c]), esc(money(v)), v / total))
            x += bw
        waste = 1 - parts.get("essential", 0) / total
        out.append(text(ml + pw + 8, y + bar * 0.68, "{:.0%} waste".format(waste), 12, weight="bold"))
    out.append("</svg>")
    return "\n".join(out)


def quantile_chart(rows):
    """Per workflow, the spread of cost per item on a log scale."""
    by = {}
    for r in rows:
        by.setdefault(r["workflow"], {})[float(r["q"])] = float(r["cost"])
    workflows = sorted(by)
    w, row, ml, mt = 860, 40, 150, 30
    h = mt + len(workflows) * row + 40
    pw = w - ml - 40
    vals = [v for d in by.values() for v in d.values() if v > 0]
    lo, hi = math.floor(math.log10(min(vals))), math.ceil(math.log10(max(vals)))
    if hi == lo:
        hi += 1

    def px(v):
        return ml + pw * (math.log10(max(v, 10 ** lo)) - lo) / (hi - lo)

    out = ['<svg id="chart-quantiles" class="chart" viewBox="0 0 {} {}" width="{}" height="{}" role="img">'.format(w, h, w, h),
           '<title>Cost per item: p5, p25, p50, p75, p95 and p99</title>']
    for e in range(lo, hi + 1):
        x = px(10 ** e)
        out.append('<line x1="{:.1f}" x2="{:.1f}" y1="{}" y2="{}" stroke="{}"/>'.format(x, x, mt - 6, h - 30, GRID))
        out.append(text(x, h - 14, money(10 ** e), 10, "middle", MUTED))
    for i, wf in enumerate(workflows):
        d = by[wf]
        y = mt + i * row + row / 2
        out.append(text(ml - 8, y + 4, wf, 12, "end"))
        g = lambda q: d.get(q)
        if g(0.05) is not None and g(0.99) is not None:
            out.append('<line x1="{:.1f}" x2="{:.1f}" y1="{:.1f}" y2="{:.1f}" stroke="{}" stroke-width="1.5"/>'
                       .format(px(g(0.05)), px(g(0.99)), y, y, MUTED))
        if g(0.25) is not None and g(0.75) is not None:
            out.append('<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="16" fill="{}" opacity="0.35"/>'
                       .format(px(g(0.25)), y - 8, max(1.5, px(g(0.75)) - px(g(0.25))), AGENT))
        if g(0.5) is not None:
            out.append('<line x1="{:.1f}" x2="{:.1f}" y1="{:.1f}" y2="{:.1f}" stroke="{}" stroke-width="3"/>'
                       .format(px(g(0.5)), px(g(0.5)), y - 10, y + 10, AGENT))
        if g(0.95) is not None:
            out.append('<circle cx="{:.1f}" cy="{:.1f}" r="4" fill="{}"><title>p95 {}</title></circle>'
                       .format(px(g(0.95)), y, LOSS, esc(money(g(0.95)))))
    out.append("</svg>")
    return "\n".join(out)


def segment_chart(rows):
    """Cost per solved item with the agent against the BPO's price, per segment."""
    w, bar, ml, mt = 860, 12, 300, 30
    h = mt + len(rows) * (2 * bar + 14) + 30
    pw = w - ml - 90
    top = max(max(float(r["agent_per_solved"]), float(r["bpo_price"])) for r in rows) or 1
    out = ['<svg id="chart-segments" class="chart" viewBox="0 0 {} {}" width="{}" height="{}" role="img">'.format(w, h, w, h),
           '<title>Cost per solved item with the agent against the BPO</title>',
           '<rect x="{}" y="8" width="12" height="12" fill="{}"/>'.format(ml, AGENT), text(ml + 16, 18, "agent, per solved item", 11),
           '<rect x="{}" y="8" width="12" height="12" fill="{}"/>'.format(ml + 170, BPO), text(ml + 186, 18, "BPO price", 11),
           '<rect x="{}" y="8" width="12" height="12" fill="{}"/>'.format(ml + 270, LOSS), text(ml + 286, 18, "agent loses", 11)]
    for i, r in enumerate(rows):
        y = mt + i * (2 * bar + 14)
        a, b = float(r["agent_per_solved"]), float(r["bpo_price"])
        out.append(text(ml - 8, y + bar + 4, "{} / {}".format(r["workflow"], r["segment"]), 12, "end"))
        out.append('<rect x="{}" y="{}" width="{:.1f}" height="{}" fill="{}"/>'.format(ml, y, max(1, pw * a / top), bar,
                                                                                       LOSS if a > b else AGENT))
        out.append(text(ml + max(1, pw * a / top) + 6, y + bar - 2, money(a), 10))
        out.append('<rect x="{}" y="{}" width="{:.1f}" height="{}" fill="{}"/>'.format(ml, y + bar, max(1, pw * b / top), bar, BPO))
        out.append(text(ml + max(1, pw * b / top) + 6, y + 2 * bar - 2, money(b), 10, color=MUTED))
    out.append("</svg>")
    return "\n".join(out)


def burndown_chart(burn):
    """Cumulative AI spend in the month against the budget, with the projection."""
    days = burn["days"]
    budget = float(burn["budget"])
    ndays = int(burn["days_in_month"])
    w, h, ml, mr, mt, mb = 860, 300, 80, 30, 30, 40
    pw, ph = w - ml - mr, h - mt - mb
    spent = [float(d["spent"]) for d in days]
    rate = spent[-1] / len(spent) if spent else 0
    projected = rate * ndays
    top = max(budget, projected, max(spent) if spent else 0) * 1.1 or 1
    yt = nice_ticks(0, top)
    top = max(yt)

    def px(day):
        return ml + pw * (day - 1) / max(1, ndays - 1)

    def py(v):
        return mt + ph * (1 - v / top)

    out = ['<svg id="chart-burndown" class="chart" viewBox="0 0 {} {}" width="{}" height="{}" role="img">'.format(w, h, w, h),
           '<title>Budget burn-down: {}</title>'.format(esc(burn["month"]))]
    for t in yt:
        out.append('<line x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" stroke="{}"/>'.format(ml, ml + pw, py(t), py(t), GRID))
        out.append(text(ml - 6, py(t) + 4, money(t), 10, "end", MUTED))
    for day in (1, 8, 15, 22, ndays):
        out.append(text(px(day), mt + ph + 16, "day {}".format(day), 10, "middle", MUTED))
    out.append('<line x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" stroke="{}" stroke-width="2"/>'
               .format(ml, ml + pw, py(budget), py(budget), LOSS))
    out.append(text(ml + pw, py(budget) - 6, "budget " + money(budget), 11, "end", LOSS))
    if spent:
        pts = " ".join("{:.1f},{:.1f}".format(px(i + 1), py(v)) for i, v in enumerate(spent))
        out.append('<polyline points="{}" fill="none" stroke="{}" stroke-width="2.5"/>'.format(pts, AGENT))
        out.append('<line x1="{:.1f}" x2="{:.1f}" y1="{:.1f}" y2="{:.1f}" stroke="{}" stroke-dasharray="6 4" stroke-width="2"/>'
                   .format(px(len(spent)), px(ndays), py(spent[-1]), py(projected), AGENT))
        out.append(text(px(ndays), py(projected) - 6, "at this rate " + money(projected), 11, "end", AGENT))
    out.append("</svg>")
    return "\n".join(out)


def table(headers, rows):
    head = "".join("<th>{}</th>".format(esc(h)) for h in headers)
    body = "".join("<tr>{}</tr>".format("".join("<td>{}</td>".format(esc(c)) for c in r)) for r in rows)
    return "<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>".format(head, body)


def main():
    data = json.load(open(sys.argv[1], encoding="utf-8"))
    parts = []
    parts.append("<h1>{}</h1><p class=\"sub\">{}</p>".format(esc(data["title"]), esc(data["subtitle"])))
    if data.get("decisions"):
        parts.append("<h2>Decisions</h2><ul>{}</ul>".format("".join("<li>{}</li>".format(esc(d)) for d in data["decisions"])))
    if data.get("economics"):
        parts.append("<h2>What a solved item costs</h2>")
        parts.append(table(["workflow", "items", "solved", "first-try success", "AI + fixes per solved item", "BPO price", "saving per item"],
                           [[e["workflow"], "{:,}".format(e["items"]), "{:,}".format(e["solved"]), "{:.0%}".format(e["p1"]),
                             money(e["per_solved"]), money(e["bpo_price"]), money(e["saving"])] for e in data["economics"]]))
    parts.append("<h2>Where the economics break</h2><p>Cost per solved item, AI spend with retries plus the people who finish what "
                 "the agent gives up on, against what the BPO charges, per segment of items.</p>")
    parts.append(segment_chart(data["segments"]))
    parts.append("<h2>The frontier of each workflow</h2><p>Each model and the BPO: mean cost and value per item. "
                 "Options on the frontier are joined; the others cost more for less.</p><div class=\"grid\">")
    for wf in sorted(data["frontier"]):
        parts.append(frontier_chart(wf, data["frontier"][wf]))
    parts.append("</div>")
    parts.append("<h2>Where the money went</h2><p>Every dollar of every trace in one class.</p>")
    parts.append(waste_chart(data["waste"]))
    parts.append("<h2>The spread of cost per item</h2><p>p5 to p99 (line), p25 to p75 (box), the median (bar) and p95 (dot); "
                 "log scale.</p>")
    parts.append(quantile_chart(data["quantiles"]))
    parts.append("<h2>Budget burn-down</h2>")
    parts.append(burndown_chart(data["burn"]))
    if data.get("left_out"):
        parts.append("<h2>Rows left out</h2>")
        parts.append(table(["reason", "rows"], [[r["reason"], "{:,}".format(r["rows"])] for r in data["left_out"]]))
    page = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: {ink}; margin: 32px auto; max-width: 900px; }}
h1 {{ margin-bottom: 0; }} .sub {{ color: {muted}; margin-top: 4px; }}
h2 {{ margin-top: 36px; border-bottom: 1px solid {grid}; padding-bottom: 4px; }}
table {{ border-collapse: collapse; font-size: 13px; }} th, td {{ padding: 4px 10px; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }} thead th {{ border-bottom: 1px solid {muted}; }}
.grid {{ display: flex; flex-wrap: wrap; gap: 8px; }} svg.chart {{ font-family: inherit; }}
</style></head><body>
{body}
</body></html>
""".format(title=esc(data["title"]), ink=INK, muted=MUTED, grid=GRID, body="\n".join(parts))
    open(sys.argv[2], "w", encoding="utf-8").write(page)


if __name__ == "__main__":
    main()
