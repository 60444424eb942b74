#!/usr/bin/env bash
# The demo's report runs end to end on the demo traces, its figures hold
# together exactly, and the excerpts the README quotes are what it prints.
source "$(dirname "$0")/../lib.sh"
suite_start
psql_run -f "$TOP/test/demo_data.sql"
out=$BUILD/demo.out
if psql_run -f "$TOP/test/demo.sql" > "$out" 2>&1; then
	echo "ok demo report runs"
else
	echo "not ok demo report runs"; tail -20 "$out"; exit 1
fi

check() {
	local name=$1 sql=$2 got
	got=$(psql_run -At -c "$sql" 2>&1)
	if [ "$got" = "t" ]; then echo "ok $name"; else echo "not ok $name: $got"; fail=1; fi
}
fail=0
check "every LLM call priced" \
	"SELECT count(*) = 0 FROM demo.spans WHERE kind = 'llm' AND cost IS NULL"
check "waste total per workflow equals the spans' cost, exactly" \
	"SELECT bool_and(w.total = s.total) FROM tokacct.waste_by_workflow('demo.spans', 'self') w
	   JOIN (SELECT workflow, sum(coalesce(cost, 0)) AS total FROM demo.spans GROUP BY 1) s USING (workflow)"
check "waste classes add up to the total, exactly" \
	"SELECT bool_and(essential + error_call + failed_attempt + abandoned_branch + stuck_loop
	                 + duplicate_tool_call = total) FROM tokacct.waste_by_workflow('demo.spans', 'self')"
check "cost per outcome keeps every dollar" \
	"SELECT bool_and(r.ai_cost = x.total) FROM (SELECT workflow, sum(cost) AS total,
	        tokacct.cost_per_outcome(cost, outcome = 'solved_ai', nullif(human_fix_cost, 0)) AS s
	   FROM (SELECT i.workflow, i.item_id, i.outcome, i.human_fix_cost, sum(s.cost) AS cost
	           FROM demo.items i JOIN demo.spans s USING (item_id) GROUP BY 1, 2, 3, 4) c
	  GROUP BY 1) x, tokacct.outcome_report(x.s) r"

# README excerpts: each ``` block right after a '<!-- demo output -->' line
# must appear, line for line, in the report.
/usr/bin/python3 - "$TOP/README.md" "$out" <<'PY' || fail=1
import sys
readme = open(sys.argv[1]).read().split("\n")
out = [l.rstrip() for l in open(sys.argv[2]).read().split("\n")]
text = "\n".join(out)
n = 0
for i, line in enumerate(readme):
    if line.strip() == "<!-- demo output -->":
        j = i + 2
        block = []
        while readme[j].strip() != "```":
            block.append(readme[j].rstrip())
            j += 1
        n += 1
        if "\n".join(block) in text:
            print("ok README demo excerpt at line %d" % (i + 1))
        else:
            print("not ok README demo excerpt at line %d is not what the demo prints" % (i + 1))
            sys.exit(1)
if n == 0:
    print("not ok the README quotes no demo output")
    sys.exit(1)
PY
check "part 9: a sentence per workflow with its net saving, every record of the system of record attached once" \
	"SELECT count(*) = 4 AND bool_and(sentence LIKE workflow || ' since %net saving%')
	        AND (SELECT count(*) FROM acme_ops.records) = (SELECT count(*) FROM acme.work_items)
	   FROM acme_ops.before_after_summary WHERE segment IS NULL"
check "part 9: the agent's share after each cut-over equals the system of record's, counted directly" \
	"SELECT bool_and(abs(b.after - d.share) < 1e-9) FROM acme_ops.before_after b
	   JOIN (SELECT i.workflow, avg((i.handler = 'ai_agent')::int) AS share FROM acme.work_items i
			   JOIN acme.workflows w USING (workflow) WHERE i.opened_at >= w.cutover GROUP BY 1) d USING (workflow)
	  WHERE b.segment IS NULL AND b.measure = 'agent_share'"
exit $fail
