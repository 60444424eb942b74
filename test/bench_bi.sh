#!/usr/bin/env bash
# Benchmark: the workflow economics view (economics_daily) of an attached
# OpenTelemetry span table against the equivalent hand-written SQL over the
# same table: the calls priced with cost() from the jsonb attributes, summed
# per trace, the traces numbered as attempts of their item, the items
# priced with the baseline, and per workflow and day the figures of the
# view (items, solved, p1, attempts per item, AI and fix cost, cost per
# item, BPO price, saving, retry share, tail ratio by percentile_cont).
# waste_share is left out of both (the view skips its join when it is not
# read).  The design bar: within 2x the hand-written query, one run each.
# The items view alone is timed too: the share of the time spent in the
# attach layer (pricing and structuring every span) rather than in the BI
# view over it.
#
#   bash test/bench_bi.sh [spans]      (default 20000000: 10M calls)
#
# The spans are those of test/bench_attach.sh (8 a trace: an agent span,
# four chat calls, three tool calls; three traces an item); the root of an
# item's first or second attempt fails for one item in four each, so items
# have retries and some are never solved.  The AI cost and the item count
# of the view and of the hand-written query must be equal exactly.
source "$(dirname "$0")/lib.sh"
SPANS=${1:-20000000}
build_and_stage
bench_cluster_start "shared_buffers = 1GB" "work_mem = 256MB" "max_parallel_workers = 4"

psql_run <<SQL
\set ON_ERROR_STOP 1
CREATE EXTENSION tokacct;
\getenv shared SHARED_DATA
SELECT price_sets_added FROM tokacct.load_prices_genai(pg_read_file(:'shared' || '/genai-prices/data.json')::jsonb, '2026-01-01') \gset
CREATE UNLOGGED TABLE otel_traces (
	"Timestamp" timestamptz NOT NULL, "TraceId" text NOT NULL, "SpanId" text NOT NULL, "ParentSpanId" text NOT NULL,
	"TraceState" text, "SpanName" text, "SpanKind" text, "ServiceName" text, "ResourceAttributes" jsonb,
	"ScopeName" text, "ScopeVersion" text, "SpanAttributes" jsonb, "Duration" bigint, "StatusCode" text,
	"StatusMessage" text);
-- span g of trace g / 8: 0 the agent, 1..4 chat calls, 5..7 tool calls
INSERT INTO otel_traces
SELECT '2026-03-01 00:00+00'::timestamptz + (g / 8) * interval '1 second' + (g % 8) * interval '10 ms',
	   md5((g / 8)::text), left(md5(g::text), 16),
	   CASE WHEN g % 8 = 0 THEN '' ELSE left(md5((g / 8 * 8)::text), 16) END, '',
	   CASE WHEN g % 8 = 0 THEN 'invoke_agent triage' WHEN g % 8 <= 4 THEN 'chat' ELSE 'execute_tool lookup' END,
	   CASE WHEN g % 8 BETWEEN 1 AND 4 THEN 'Client' ELSE 'Internal' END, 'agents',
	   '{"service.name": "agents"}', 'bench', '1',
	   CASE WHEN g % 8 = 0 THEN jsonb_build_object('gen_ai.operation.name', 'invoke_agent',
				'gen_ai.workflow.name', 'triage', 'app.item_id', 'item-' || (g / 24))
			WHEN g % 8 <= 4 THEN jsonb_build_object('gen_ai.operation.name', 'chat',
				'gen_ai.provider.name', (ARRAY['openai', 'anthropic', 'gcp.vertex_ai'])[1 + (g / 8) % 3],
				'gen_ai.request.model', (ARRAY['gpt-4o', 'claude-sonnet-4-5', 'gemini-2.5-flash'])[1 + (g / 8) % 3],
				'gen_ai.response.model', (ARRAY['gpt-4o-2024-08-06', 'claude-sonnet-4-5', 'gemini-2.5-flash'])[1 + (g / 8) % 3],
				'gen_ai.usage.input_tokens', (1000 + g % 4000)::text,
				'gen_ai.usage.output_tokens', (50 + g % 500)::text,
				'gen_ai.usage.cache_read.input_tokens', ((g % 8 - 1) * 256)::text,
				'gen_ai.conversation.id', md5((g / 8)::text),
				'gen_ai.response.finish_reasons', '["stop"]')
			ELSE jsonb_build_object('gen_ai.operation.name', 'execute_tool', 'gen_ai.tool.name', 'lookup',
				'gen_ai.tool.call.arguments', '{"q": "' || (g % 97) || '"}') END,
	   1000000,
	   CASE WHEN g % 8 = 0 AND (g / 8) % 3 < 2 AND (g / 24) % 4 = (g / 8) % 3 THEN 'Error' ELSE 'Unset' END, ''
  FROM generate_series(0, $SPANS - 1) g;
ALTER TABLE otel_traces ADD PRIMARY KEY ("TraceId", "SpanId");
VACUUM ANALYZE otel_traces;
SELECT pg_size_pretty(pg_table_size('otel_traces')) AS table_size, count(*) AS spans,
	   count(*) FILTER (WHERE "SpanAttributes" ->> 'gen_ai.operation.name' = 'chat') AS calls FROM otel_traces;
INSERT INTO tokacct.baseline (workflow, bpo_unit_price, human_cost_per_hour, human_minutes_per_item)
VALUES ('triage', 0.50, 40, 5);
SELECT count(*) AS views FROM tokacct.attach_otel('bench', 'otel_traces', options => '{"item": "attr:app.item_id"}');
SET max_parallel_workers_per_gather = 0;
SET jit = off;
CREATE TEMP VIEW hand AS
WITH tr AS (
	SELECT t."TraceId" AS trace_id, min(t."Timestamp") AS started_at,
		   min(t."SpanAttributes" ->> 'gen_ai.workflow.name') FILTER (WHERE t."ParentSpanId" = '') AS workflow,
		   min(t."SpanAttributes" ->> 'app.item_id') FILTER (WHERE t."ParentSpanId" = '') AS item,
		   bool_and(t."StatusCode" <> 'Error') FILTER (WHERE t."ParentSpanId" = '') AS succeeded,
		   sum(tokacct.cost(t."SpanAttributes" ->> 'gen_ai.provider.name',
				coalesce(t."SpanAttributes" ->> 'gen_ai.response.model', t."SpanAttributes" ->> 'gen_ai.request.model'),
				(t."SpanAttributes" ->> 'gen_ai.usage.input_tokens')::bigint, (t."SpanAttributes" ->> 'gen_ai.usage.output_tokens')::bigint,
				coalesce((t."SpanAttributes" ->> 'gen_ai.usage.cache_read.input_tokens')::bigint, 0), 0, 0, t."Timestamp"))
			   FILTER (WHERE t."SpanAttributes" ->> 'gen_ai.operation.name' = 'chat') AS cost
	  FROM otel_traces t GROUP BY 1),
att AS (SELECT tr.*, row_number() OVER (PARTITION BY workflow, item ORDER BY started_at, trace_id) AS attempt FROM tr),
it AS (SELECT workflow, item, count(*) AS attempts, bool_or(succeeded) AS solved, min(started_at) AS started_at,
			  sum(cost) AS ai_cost, coalesce(sum(cost) FILTER (WHERE NOT succeeded), 0) AS failed_cost,
			  bool_or(succeeded) FILTER (WHERE attempt = 1) AS first_ok
		 FROM att GROUP BY 1, 2),
itb AS (SELECT it.*, b.bpo_unit_price,
			   CASE WHEN it.solved THEN 0 ELSE round(b.human_cost_per_hour * b.human_minutes_per_item / 60, 12) END AS fix
		  FROM it LEFT JOIN LATERAL (SELECT * FROM tokacct.baseline bl WHERE bl.workflow = it.workflow AND bl.valid_from <= it.started_at
									 ORDER BY bl.valid_from DESC LIMIT 1) b ON true)
SELECT workflow, date_trunc('day', started_at AT TIME ZONE 'UTC')::date AS period_start,
	   count(*) AS items, count(*) FILTER (WHERE solved) AS solved,
	   count(*) FILTER (WHERE first_ok)::float8 / count(*) AS p1, sum(attempts)::float8 / count(*) AS attempts_per_item,
	   sum(ai_cost) AS ai_cost, sum(fix) AS human_fix_cost, (sum(ai_cost) + sum(fix)) / count(*) AS cost_per_item,
	   avg(bpo_unit_price) AS bpo_unit_price, avg(bpo_unit_price) - (sum(ai_cost) + sum(fix)) / count(*) AS saving_per_unit,
	   (sum(failed_cost) / nullif(sum(ai_cost), 0))::float8 AS retry_share,
	   percentile_cont(0.95) WITHIN GROUP (ORDER BY ai_cost) / nullif(percentile_cont(0.5) WITHIN GROUP (ORDER BY ai_cost), 0) AS tail_ratio
  FROM itb GROUP BY 1, 2;
CREATE TEMP VIEW via_view AS
SELECT workflow, period_start, items, solved, p1, attempts_per_item, ai_cost, human_fix_cost, ai_cost_per_solved,
	   cost_per_solved, cost_per_item, bpo_unit_price, saving_per_unit, break_even_p1, retry_share, tail_ratio,
	   items_left_out, items_left_out_share, calls_left_out, calls_left_out_share
  FROM bench.economics_daily;
CREATE FUNCTION pg_temp.run(q text) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz := clock_timestamp(); BEGIN EXECUTE q; RETURN extract(epoch FROM clock_timestamp() - t0); END \$\$;
CREATE TEMP TABLE t (what text, secs float8);
INSERT INTO t SELECT 'hand-written', pg_temp.run('CREATE TEMP TABLE r_hand AS SELECT * FROM hand');
INSERT INTO t SELECT 'economics_daily view', pg_temp.run('CREATE TEMP TABLE r_view AS SELECT * FROM via_view');
-- where the time goes: the items view alone (the attach layer under the BI view)
INSERT INTO t SELECT 'items view alone', pg_temp.run('SELECT count(*), sum(ai_cost), count(*) FILTER (WHERE solved), sum(attempts) FROM bench.items');
SELECT (SELECT sum(ai_cost) FROM r_hand) = (SELECT sum(ai_cost) FROM r_view) AS ai_cost_equal_exactly,
	   (SELECT sum(items) FROM r_hand) = (SELECT sum(items) FROM r_view) AS items_equal,
	   (SELECT sum(solved) FROM r_hand) = (SELECT sum(solved) FROM r_view) AS solved_equal,
	   (SELECT sum(items) FROM r_view) AS items, (SELECT sum(ai_cost) FROM r_view) AS ai_cost,
	   (SELECT max(abs(h.p1 - v.p1)) FROM r_hand h JOIN r_view v USING (workflow, period_start)) AS p1_max_diff,
	   (SELECT max(abs(h.tail_ratio - v.tail_ratio) / h.tail_ratio) FROM r_hand h JOIN r_view v USING (workflow, period_start)) AS tail_ratio_max_rel_diff;
SELECT what, round(secs::numeric, 3) AS secs FROM t ORDER BY what;
SELECT $SPANS AS spans, round(((SELECT secs FROM t WHERE what = 'economics_daily view') / (SELECT secs FROM t WHERE what = 'hand-written'))::numeric, 3) AS ratio_view_to_hand,
	   (SELECT secs FROM t WHERE what = 'economics_daily view') / (SELECT secs FROM t WHERE what = 'hand-written') <= 2 AS meets_bar_2;
SQL
