#!/usr/bin/env bash
# The HTML report (test/report_data.sql + test/report_html.py) over the
# generated workload at 2,000 items, attached with attach_otel: the page is
# self-contained (no script, no link, no address it would fetch), each chart
# is an inline SVG with its marks drawn (options, bars, lines), the segment
# meant to lose to the BPO is drawn as losing, and headless Chromium renders
# it to a screenshot that is not blank (most of it white, but thousands of
# pixels of the charts' colours).
source "$(dirname "$0")/../lib.sh"
ensure_build_deps chromium python3-pil fonts-dejavu-core
suite_start
out=$(scratch_dir report)
psql_run -q -v seed=3 -v items=2000 -f "$TOP/test/acme_workload.sql" >/dev/null
psql_run -q -c "SELECT 1 FROM tokacct.load_prices_genai(pg_read_file('$SHARED_DATA/genai-prices/data.json')::jsonb, '2026-01-01')" \
	-c "SELECT 1 FROM tokacct.attach_otel('acme_ai', 'acme.otel_traces', options => '{\"item\": \"attr:app.item_id\"}')" >/dev/null
psql_run -At -v source=acme_ai -v records=acme.work_items -v workflows=acme.workflows -v budget=300 \
	-v month=2026-10-01 -f "$TOP/test/report_data.sql" > "$out/report.json"
/usr/bin/python3 "$TOP/test/report_html.py" "$out/report.json" "$out/report.html"
timeout 180 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=960,3600 \
	--screenshot="$out/report.png" "file://$out/report.html" >/dev/null 2>&1 || true
/usr/bin/python3 - "$out/report.html" "$out/report.png" "$out/report.json" <<'PY'
import json, re, sys
from PIL import Image
page = open(sys.argv[1], encoding="utf-8").read()
fail = 0
def check(name, cond):
    global fail
    print(("ok " if cond else "not ok ") + name)
    fail |= not cond
check("the page is self-contained: no script, no stylesheet link, no http address",
      "<script" not in page and "<link" not in page and not re.search(r"(src|href)=\"?https?:", page))
svgs = dict(re.findall(r'<svg id="([^"]+)"(.*?)</svg>', page, re.S))
def marks(body, kinds):
    return sum(len(re.findall("<" + k + r"\b", body)) for k in kinds)
frontier = json.load(open(sys.argv[3]))["frontier"]
check("a frontier for each of the four workflows", sorted(frontier) == ["claims_triage", "contract_review", "invoice_matching", "ticket_resolution"])
for wf, opts in sorted(frontier.items()):
    body = svgs.get("chart-frontier-" + wf, "")
    on = sum(1 for o in opts if o["on_frontier"])
    check("frontier of %s: a mark per option (%d models and the BPO), the line through its %d frontier options"
          % (wf, len(opts) - 1, on),
          marks(body, ["circle"]) == len(opts) - 1 and marks(body, ["rect"]) == 1
          and ("<polyline" in body) == (on > 1))
check("waste by class: a bar segment per workflow and class with spend",
      marks(svgs.get("chart-waste", ""), ["rect"]) >= 4 * 3)
check("cost spread: p25-p75 boxes and p95 dots for four workflows",
      marks(svgs.get("chart-quantiles", ""), ["rect"]) >= 4 and marks(svgs.get("chart-quantiles", ""), ["circle"]) >= 4)
seg = svgs.get("chart-segments", "")
check("segments: two bars per segment, and claims with an exception document drawn as losing (red)",
      marks(seg, ["rect"]) >= 2 * 12 and re.search(r'with exception document</text>\s*<rect [^>]*fill="#c23030"', seg) is not None)
check("burn-down: the spend line, the projection and the budget line",
      "<polyline" in svgs.get("chart-burndown", "") and svgs.get("chart-burndown", "").count("<line") >= 3)
try:
    im = Image.open(sys.argv[2]).convert("RGB")
    w, h = im.size
    px = im.resize((w // 4, h // 4)).getdata()
    white = sum(1 for p in px if min(p) > 245)
    colours = {p for p in px if not (max(p) - min(p) < 12)}
    check("Chromium renders the page: %dx%d, %.0f%% white, %d distinct chart colours" % (w, h, 100.0 * white / len(px), len(colours)),
          w == 960 and 0.5 < white / len(px) < 0.99 and len(colours) > 50)
except Exception as e:
    check("Chromium renders the page (%s)" % e, False)
sys.exit(fail)
PY
