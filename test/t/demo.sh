#!/usr/bin/env bash
# The demo's report (test/demo.sql) at a small size (3,000 items), checked
# against direct SQL over the same tables: the attached views read plainly
# and the raw spans and records, never the report's own queries.  Per
# workflow the cost per solved item and the items counted; the losing
# segments; the waste classes adding up to each workflow's spend, exactly;
# the routing intervals; the allocation within its budget; before and after
# the cut-over (the agent's share as the system of record counts it); the
# last month before the current one from the attached source's rollups
# against the calls view; the
# rows left out by reason; a time for every step; the HTML report's figures
# written; and the headings and columns of the README's excerpts are what
# the demo prints.
source "$(dirname "$0")/../lib.sh"
suite_start
out=$BUILD/demo.out
json=$(scratch_dir demo)/report.json
if psql_run -v items=3000 -v budget=600 -v burn_budget=60 -v json="$json" -f "$TOP/test/demo.sql" > "$out" 2>&1; then
	echo "ok demo report runs"
else
	echo "not ok demo report runs"; tail -20 "$out"; exit 1
fi
q() { psql_run -At -F '|' -c "$1"; }

# Independent figures, one line each: KIND|KEY|VALUE...
{
	# cost per solved item: AI cost plus the human fix of the unsolved, over the solved, per workflow
	q "SELECT 'cps', workflow, count(*), count(*) FILTER (WHERE solved),
			  round((sum(ai_cost) + sum(human_fix_cost)) / count(*) FILTER (WHERE solved), 4)
		 FROM acme_ai.items WHERE ai_cost IS NOT NULL AND solved IS NOT NULL GROUP BY workflow"
	# every agent item of the system of record is counted or left out
	q "SELECT 'agent_items', '', (SELECT count(*) FROM acme.work_items WHERE handler = 'ai_agent')"
	q "SELECT 'items_left_out', '', count(*) FROM acme_ai.items WHERE ai_cost IS NULL OR solved IS NULL"
	# the segments whose items cost more with the agent than at the BPO
	q "SELECT 'loses', workflow || ', ' || segment FROM acme_ai.items WHERE ai_cost IS NOT NULL AND solved IS NOT NULL
		GROUP BY workflow, segment HAVING sum(ai_cost + human_fix_cost) > sum(bpo_unit_price)"
	# every dollar of the spans, per workflow
	q "SELECT 'spend', workflow, sum(cost) FROM acme_ai.spans GROUP BY workflow"
	# rows left out: the problems view counted, and the faults the generator plants (20 + 15 + 10 calls)
	q "SELECT 'problems', '', count(*) FROM acme_ai.problems"
	# items whose calls are left out: the items of the traces holding a planted fault, from the raw spans
	# before and after: the agent's share after each cut-over, from the system of record directly
	q "SELECT 'agent_share', i.workflow, avg((i.handler = 'ai_agent')::int)
		 FROM acme.work_items i JOIN acme.workflows w USING (workflow) WHERE i.opened_at >= w.cutover GROUP BY i.workflow"
	q "SELECT 'view_agent_share', workflow, after FROM acme_ops.before_after WHERE segment IS NULL AND measure = 'agent_share'"
	# the last month's calls and their exact cost per workflow, from the calls view
	q "WITH d AS (SELECT min(started_at AT TIME ZONE 'UTC') AS lo, date_trunc('month', max(started_at AT TIME ZONE 'UTC')) AS hi FROM acme_ai.calls),
	   m AS (SELECT CASE WHEN lo < hi THEN hi - interval '1 month' ELSE hi END AS m FROM d)
	   SELECT 'month_calls', coalesce(workflow, ''), count(*), sum(cost) FROM acme_ai.calls, m
		WHERE started_at AT TIME ZONE 'UTC' >= m.m AND started_at AT TIME ZONE 'UTC' < m.m + interval '1 month' GROUP BY workflow"
	q "SELECT 'fault_items', '', count(DISTINCT r.\"SpanAttributes\" ->> 'app.item_id')
		 FROM acme.otel_traces c JOIN acme.otel_traces r ON r.\"TraceId\" = c.\"TraceId\" AND r.\"ParentSpanId\" = ''
		WHERE c.\"SpanAttributes\" ->> 'gen_ai.usage.input_tokens' = 'NaN'
		   OR c.\"SpanAttributes\" ->> 'gen_ai.usage.cache_read.input_tokens' = '999999'
		   OR c.\"SpanAttributes\" ->> 'gen_ai.request.model' LIKE 'ft:%'"
} > "$BUILD/demo.direct"

/usr/bin/python3 - "$out" "$BUILD/demo.direct" "$json" "$TOP/README.md" <<'PY'
import json, re, sys
from decimal import Decimal as D
out = open(sys.argv[1]).read()
lines = [l.rstrip() for l in out.split("\n")]
direct = [l.split("|") for l in open(sys.argv[2]).read().split("\n") if l]
fail = 0
def check(name, cond):
    global fail
    print(("ok " if cond else "not ok ") + name)
    fail |= not cond

def section(prefix):
    """The rows of the psql tables printed after the header line starting with prefix."""
    i = next(k for k, l in enumerate(lines) if l.startswith(prefix))
    tables, cur, head = [], None, None
    for l in lines[i + 1:]:
        if l.startswith("-- ") and not l.startswith("--    "):
            break
        if re.match(r"^-+(\+-+)*$", l):
            cur = []
            tables.append((head, cur))
        elif cur is not None and l.strip() == "":
            cur = None
        elif cur is not None:
            cur.append([c.strip() for c in l.split("|")])
        else:
            head = [c.strip() for c in l.split("|")]
    return [[dict(zip(h, r)) for r in rows] for h, rows in tables]

def sentences_of(prefix):
    """The lines printed after the header lines starting with prefix (a list of sentences)."""
    i = next(k for k, l in enumerate(lines) if l.startswith(prefix))
    res = []
    for l in lines[i + 1:]:
        if l.startswith("-- ") and not l.startswith("--    "):
            break
        if l.strip() and not l.startswith("--"):
            res.append(l)
    return res

econ = {r["workflow"]: r for r in section("-- 2.")[0]}
cps = {d[1]: d for d in direct if d[0] == "cps"}
check("four workflows in the economics", sorted(econ) == sorted(cps) and len(cps) == 4)
for wf, d in sorted(cps.items()):
    r = econ.get(wf, {})
    check("%s: items %s, solved %s, cost per solved item %s, as counted directly" % (wf, d[2], d[3], d[4]),
          r.get("items") == d[2] and r.get("solved") == d[3] and D(r.get("cost_per_solved", "0")) == D(d[4]))
    check("%s: saving per solved item is the BPO price less the cost per solved item (to the cent)" % wf,
          abs(D(r["bpo_price"]) - D(d[4]) - D(r["saving_per_solved"])) <= D("0.006"))
agent = int(next(d[2] for d in direct if d[0] == "agent_items"))
left = int(next(d[2] for d in direct if d[0] == "items_left_out"))
check("every agent item of the system of record counted (%d) or left out (%d)" % (agent - left, left),
      sum(int(r["items"]) for r in econ.values()) == agent - left and left > 0)

sentences = sentences_of("-- 5.")
losing = sorted(s.split(":")[0] for s in sentences if " saves " not in s)
want = sorted(d[1] for d in direct if d[0] == "loses")
check("the losing segments are those whose items cost more than the BPO's, counted directly: %s" % want,
      losing == want and "claims_triage, with exception document" in want)
check("a sentence per segment (%d)" % len(sentences), len(sentences) == 12)

waste = {r["workflow"]: r for r in section("-- 3.")[0]}
spend = {d[1]: D(d[2]) for d in direct if d[0] == "spend"}
classes = ["essential", "failed_attempt", "error_call", "abandoned_branch", "stuck_loop", "duplicate_tool_call"]
for wf in sorted(spend):
    r = waste.get(wf)
    check("waste of %s: the total is the spans' spend (%s), and the classes add up to it, exactly" % (wf, spend[wf]),
          r is not None and D(r["total"]) == spend[wf] and sum(D(r[c] or "0") for c in classes) == spend[wf])

routing = section("-- 4.")[0]
ok = all(float(m.group(1)) <= float(r["success"]) <= float(m.group(2))
         for r in routing for m in [re.match(r"\[(.*), (.*)\]", r["interval_95"])])
check("routing: %d options, each success rate inside its 95%% interval" % len(routing), ok and len(routing) >= 8)

plan, summary = section("-- 8.")
s = summary[0]
check("allocation: the plan spends the budget (%s) and no more, shadow price %s" % (s["budget"], s["shadow_price"]),
      D(s["spend"]) <= D(s["budget"]) and (D(s["shadow_price"]) == 0 or abs(D(s["spend"]) - D(s["budget"])) <= D("0.01"))
      and abs(sum(D(r["spend"]) for r in plan) - D(s["spend"])) <= D("0.05") and D(s["shadow_price"]) > 0)
decisions = sentences_of("-- 9.")
check("decisions in words: the allocation's, and keeping the losing segment with the BPO",
      any(d.startswith("claims_triage, with exception document: keep it with the BPO") for d in decisions) and len(decisions) >= 4)

month = {r["workflow"]: r for r in section("-- 10.")[0]}
direct_month = {d[1]: d for d in direct if d[0] == "month_calls"}
check("the month from the rollups: per workflow the calls and their exact cost, as the calls view gives them (%d workflows)" % len(direct_month),
      len(direct_month) == 4 and sorted(month) == sorted(direct_month)
      and all(month[w]["calls"] == d[2] and D(month[w]["cost"]) == D(d[3]) for w, d in direct_month.items())
      and all(D(r["p95_call_cost"]) > 0 for r in month.values()))

left_out = section("-- 11.")[0]
by = {(r["source"], r["reason"]): int(r["rows"]) for r in left_out}
check("rows left out: the problems view's %s rows, by reason" % next(d[2] for d in direct if d[0] == "problems"),
      sum(v for (src, _), v in by.items() if src == "acme_ai") == int(next(d[2] for d in direct if d[0] == "problems")))
check("rows left out: the 20 token counts that are not numbers, 15 calls of an unpriced fine-tune, 10 cache reads above input",
      by.get(("acme_ai", "input tokens not a whole number")) == 20 and by.get(("acme_ai", "no catalog price for provider")) == 15
      and by.get(("acme_ai", "cache tokens")) == 10)
fi = int(next(d[2] for d in direct if d[0] == "fault_items"))
check("rows left out: the %d records whose traces hold a planted fault" % fi,
      by.get(("acme_ops", "calls of the item left out of its AI cost (see the trace source's problems view)")) == fi)

befores = sentences_of("-- 7.")
direct_share = {d[1]: float(d[2]) for d in direct if d[0] == "agent_share"}
view_share = {d[1]: float(d[2]) for d in direct if d[0] == "view_agent_share"}
check("before and after: a sentence per workflow with its net saving, the agent's share after each cut-over as counted in the system of record",
      len(befores) == 4 and all(" since " in b and "net saving" in b for b in befores)
      and sorted(direct_share) == sorted(view_share) and len(direct_share) == 4
      and all(abs(direct_share[w] - view_share[w]) < 1e-9 for w in direct_share)
      and all("agent share 0%% -> %d%%" % round(100 * direct_share[b.split(" since")[0]]) in b for b in befores))

steps = section("-- How long")[0]
check("a time for each of the %d steps, and the total" % len(steps),
      len(steps) >= 15 and all(re.match(r"^\d+(\.\d)?$", r["seconds"]) for r in steps) and "total_seconds" in out)
check("the last section ends with SQL to explore further", "SELECT * FROM acme_ai.segments WHERE agent_loses;" in out)

rep = json.load(open(sys.argv[3]))
check("the HTML report's figures: four workflows' frontiers, the segments, the burn-down",
      len(rep["frontier"]) == 4 and len(rep["segments"]) >= 12 and rep["burn"]["days"])

# README excerpts: each ``` block right after a '<!-- demo output -->' line
# quotes the full-size report; at this size its headings (the "--" lines)
# must be printed as they are (but for the budget's amount), in order, and
# its tables' column names too.
readme = open(sys.argv[4]).read().split("\n")
cols = lambda l: [c.strip() for c in l.split("|")]
n = 0
for i, line in enumerate(readme):
    if line.strip() == "<!-- demo output -->":
        j = i + 2
        block = []
        while readme[j].strip() != "```":
            block.append(readme[j].rstrip())
            j += 1
        n += 1
        heads = [l for l in block if l.startswith("--") and not re.match(r"^-+(\+-+)*$", l)]
        amount = lambda ls: [re.sub(r"\$[0-9,]+", "$N", l) for l in ls]	# the budget stated in a heading
        printed_heads = iter(amount(lines))
        in_order = all(h in printed_heads for h in amount(heads))	# a subsequence of the printed lines
        names = [cols(block[x - 1]) for x in range(1, len(block)) if re.match(r"^-+(\+-+)+$", block[x])]
        printed = [cols(lines[x - 1]) for x in range(1, len(lines)) if re.match(r"^-+(\+-+)+$", lines[x])]
        check("README demo excerpt at line %d: its headings and columns are what the demo prints" % (i + 1),
              heads and in_order and all(c in printed for c in names))
check("the README quotes the demo (%d excerpts)" % n, n > 0)
sys.exit(fail)
PY
