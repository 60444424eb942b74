#!/usr/bin/env bash
# The generated workload (test/acme_workload.sql) is what it says it is,
# checked with plain SQL over its tables at a small size (4,000 items):
# the same seed gives the same rows and another seed other rows; the traces
# hold every kind of behaviour the demo reports on (retries in traces of
# their own, context that grows turn by turn, repeated tool calls, stuck
# loops, billed rate limits, escalations) and the faults it promises, in the
# numbers it promises; the system of record agrees with the traces; and the
# segment meant to lose to the BPO does, priced by the catalog.
source "$(dirname "$0")/../lib.sh"
suite_start

fail=0
check() {	# check NAME SQL: the SQL prints t
	local got
	got=$(psql_run -At -c "$2" 2>&1) || true
	if [ "$got" = "t" ]; then echo "ok $1"; else echo "not ok $1 (got: $got)"; fail=1; fi
}
gen() {	# gen SEED ITEMS
	psql_run -q -v seed="$1" -v items="$2" -f "$TOP/test/acme_workload.sql" >/dev/null
}
digest="SELECT md5(string_agg(md5(t::text), '' ORDER BY t::text)) FROM acme.otel_traces t"
records="SELECT md5(string_agg(md5(w::text), '' ORDER BY w.item_key)) FROM acme.work_items w"

gen 7 4000
a=$(psql_run -At -c "$digest"); ar=$(psql_run -At -c "$records")
gen 8 4000
b=$(psql_run -At -c "$digest")
gen 7 4000
c=$(psql_run -At -c "$digest"); cr=$(psql_run -At -c "$records")
if [ "$a" = "$c" ] && [ "$ar" = "$cr" ]; then echo "ok the same seed gives the same spans and records"; else echo "not ok the same seed gives other rows"; fail=1; fi
if [ "$a" != "$b" ]; then echo "ok another seed gives other spans"; else echo "not ok another seed gives the same spans"; fail=1; fi

check "four workflows, every item in the system of record once" \
	"SELECT count(DISTINCT workflow) = 4 AND count(*) = 4000 FROM acme.work_items"
check "agent items (after each cut-over) and only they have traces" \
	"SELECT bool_and((handler = 'ai_agent') = (t.item IS NOT NULL)) AND bool_and(handler <> 'ai_agent' OR opened_at >= w.cutover)
	   FROM acme.work_items i JOIN acme.workflows w USING (workflow)
	   LEFT JOIN (SELECT DISTINCT \"SpanAttributes\" ->> 'app.item_id' AS item FROM acme.otel_traces
				   WHERE \"ParentSpanId\" = '') t ON t.item = i.item_key"
check "each trace has one root, an agent span naming its item" \
	"SELECT bool_and(roots = 1) FROM (SELECT \"TraceId\", count(DISTINCT \"SpanId\") FILTER (WHERE \"ParentSpanId\" = '') AS roots
	   FROM acme.otel_traces GROUP BY 1) t"
check "a retry is a trace of its own: attempts per item match the record, each but the last failed, the last failed only when escalated" \
	"SELECT bool_and(t.n = i.attempts AND t.failed_before_last = t.n - 1 AND t.last_failed = (i.outcome = 'escalated'))
			AND count(*) = (SELECT count(*) FROM acme.work_items WHERE handler = 'ai_agent')
	   FROM acme.work_items i
	   JOIN (SELECT item, count(*) AS n, count(*) FILTER (WHERE failed AND rk < cnt) AS failed_before_last,
					bool_or(failed AND rk = cnt) AS last_failed
			   FROM (SELECT item, failed, row_number() OVER (PARTITION BY item ORDER BY ts) AS rk,
							count(*) OVER (PARTITION BY item) AS cnt
					   FROM (SELECT DISTINCT \"TraceId\", \"SpanAttributes\" ->> 'app.item_id' AS item,
									\"StatusCode\" = 'Error' AS failed, \"Timestamp\" AS ts
							   FROM acme.otel_traces WHERE \"ParentSpanId\" = '') r) s GROUP BY item) t ON t.item = i.item_key"
check "retries, failed attempts and escalations are all there" \
	"SELECT count(*) FILTER (WHERE attempts > 1) > 50 AND count(*) FILTER (WHERE outcome = 'escalated') > 10
	   FROM acme.work_items WHERE handler = 'ai_agent'"
check "the context grows: each successful chat reads more input than the one before it in its trace" \
	"SELECT bool_and(grows) FROM (SELECT (\"SpanAttributes\" ->> 'gen_ai.usage.input_tokens')::bigint
			> lag((\"SpanAttributes\" ->> 'gen_ai.usage.input_tokens')::bigint, 1, 0::bigint) OVER (PARTITION BY \"TraceId\" ORDER BY \"Timestamp\") AS grows
	   FROM (SELECT DISTINCT * FROM acme.otel_traces) s WHERE \"SpanName\" LIKE 'chat %' AND \"StatusCode\" = 'Unset'
		 AND \"SpanAttributes\" ->> 'gen_ai.usage.input_tokens' ~ '^[0-9]+$') t"
check "repeated tool calls: the same tool and arguments as an earlier call of the trace, not next to it, in at least 100 traces" \
	"SELECT count(DISTINCT \"TraceId\") >= 100 FROM (SELECT \"TraceId\", \"SpanName\", \"SpanAttributes\" ->> 'gen_ai.tool.call.arguments' AS args,
			\"Timestamp\" - lag(\"Timestamp\") OVER (PARTITION BY \"TraceId\", \"SpanName\", \"SpanAttributes\" ->> 'gen_ai.tool.call.arguments' ORDER BY \"Timestamp\") AS gap
	   FROM (SELECT DISTINCT * FROM acme.otel_traces) s WHERE \"SpanName\" LIKE 'execute_tool %') t WHERE gap > interval '2 s'"
check "stuck loops: three or four identical tool calls 2 s apart, in at least 20 traces" \
	"SELECT count(*) >= 20 AND bool_and(n BETWEEN 3 AND 4) FROM (SELECT \"TraceId\", count(*) AS n
	   FROM (SELECT DISTINCT * FROM acme.otel_traces) s WHERE \"SpanName\" LIKE 'execute_tool %'
		AND \"SpanAttributes\" ->> 'gen_ai.tool.call.arguments' LIKE '%\"step\": 2}'
		GROUP BY \"TraceId\", \"SpanAttributes\" ->> 'gen_ai.tool.call.arguments'
	   HAVING count(*) >= 3 AND max(\"Timestamp\") - min(\"Timestamp\") <= interval '6 s') t"
check "rate-limited calls: Error with error.type 429, billed for their input, no output" \
	"SELECT count(*) > 100 AND bool_and(\"SpanAttributes\" ->> 'gen_ai.usage.output_tokens' = '0')
	   FROM acme.otel_traces WHERE \"SpanAttributes\" ->> 'error.type' = '429' AND \"StatusCode\" = 'Error'"
check "the faults promised: 20 token counts that are not numbers, 10 cache reads above input, 15 calls on an unpriced fine-tune, 50 spans delivered twice" \
	"SELECT (SELECT count(DISTINCT \"SpanId\") FROM acme.otel_traces WHERE \"SpanAttributes\" ->> 'gen_ai.usage.input_tokens' = 'NaN') = 20
		AND (SELECT count(DISTINCT \"SpanId\") FROM acme.otel_traces WHERE \"SpanAttributes\" ->> 'gen_ai.usage.cache_read.input_tokens' = '999999') = 10
		AND (SELECT count(DISTINCT \"SpanId\") FROM acme.otel_traces WHERE \"SpanAttributes\" ->> 'gen_ai.request.model' LIKE 'ft:%') = 15
		AND (SELECT count(*) - count(DISTINCT (\"TraceId\", \"SpanId\")) FROM acme.otel_traces) = 50"
check "the system of record: handlers spelled several ways, cycle times positive, BPO charges only on BPO items" \
	"SELECT count(DISTINCT handler) = 5 AND bool_and(resolved_at > opened_at)
		AND bool_and((bpo_charge > 0) = (handler IN ('BPO', 'bpo_vendor'))) FROM acme.work_items"

# The losing segment: claims with an exception document cost more per
# solved claim than the BPO's price (AI spend at list price plus the staff
# minutes spent finishing escalated claims), while claims as a whole cost
# far less.  Priced here call by call with tokacct.cost over the raw
# attributes, summed per segment with plain SQL.
psql_run -q -c "SELECT 1 FROM tokacct.load_prices_genai(pg_read_file('$SHARED_DATA/genai-prices/data.json')::jsonb, '2026-01-01')" >/dev/null
check "claims with an exception document lose to the BPO; claims as a whole win" \
	"WITH spend AS (
	   SELECT r.\"SpanAttributes\" ->> 'app.item_id' AS item, sum(tokacct.cost(c.\"SpanAttributes\" ->> 'gen_ai.provider.name',
				c.\"SpanAttributes\" ->> 'gen_ai.request.model', (c.\"SpanAttributes\" ->> 'gen_ai.usage.input_tokens')::bigint,
				(c.\"SpanAttributes\" ->> 'gen_ai.usage.output_tokens')::bigint,
				coalesce((c.\"SpanAttributes\" ->> 'gen_ai.usage.cache_read.input_tokens')::bigint, 0), 0, 0, c.\"Timestamp\")) AS ai
		 FROM (SELECT DISTINCT * FROM acme.otel_traces) c
		 JOIN acme.otel_traces r ON r.\"TraceId\" = c.\"TraceId\" AND r.\"ParentSpanId\" = ''
		WHERE c.\"SpanName\" LIKE 'chat %' AND c.\"SpanAttributes\" ->> 'gen_ai.usage.input_tokens' ~ '^[0-9]+$'
		  AND c.\"SpanAttributes\" ->> 'gen_ai.request.model' NOT LIKE 'ft:%'
		  AND (c.\"SpanAttributes\" ->> 'gen_ai.usage.cache_read.input_tokens') IS DISTINCT FROM '999999'
		GROUP BY 1),
	 seg AS (
	   SELECT i.segment, sum(s.ai + CASE WHEN i.outcome = 'escalated' THEN i.human_minutes / 60 * w.human_cost_per_hour ELSE 0 END)
				/ count(*) FILTER (WHERE i.outcome = 'resolved') AS per_solved, max(w.bpo_unit_price) AS bpo
		 FROM acme.work_items i JOIN spend s ON s.item = i.item_key JOIN acme.workflows w USING (workflow)
		WHERE i.workflow = 'claims_triage' GROUP BY ROLLUP (i.segment))
	 SELECT bool_and(CASE segment WHEN 'with exception document' THEN per_solved > bpo WHEN 'standard' THEN per_solved < bpo / 10
							 ELSE per_solved < bpo / 2 END)
			AND count(*) = 3 FROM seg"

exit $fail
