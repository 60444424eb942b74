-- The tokacct demo: Acme's agent traces, attached where they lie, to the
-- decisions a CFO and an engineer take from them.
--
--   psql -v items=110000 -v budget=42000 -v burn_budget=2000 -v json=report.json -f test/demo.sql
--
-- Generates Acme's workload (test/acme_workload.sql: about a million
-- OpenTelemetry spans in the Collector's layout and the system of record of
-- 110,000 items; :items and :seed set the size and the seed), loads the
-- price catalog, attaches the spans with one call (attach_otel) and the
-- system of record with another (attach_records), refreshes the rollups,
-- and prints the report.  With
-- :json set it also writes the figures of the HTML report there
-- (test/report_data.sql; test/report_html.py renders them).
--
-- Each expensive thing is computed once.  The report's sections are the
-- views attaching created (economics, segments, routing, waste, context
-- growth, frontier, allocation, before and after, problems), each run by its
-- own definition (pg_get_viewdef) with the base views it reads replaced by
-- temporary copies made once: the source's items, attempts, conversations
-- and problems, the waste of each trace, and the system of record's records.
-- So every figure is what the view itself gives, without reading the
-- million spans once per section.
\set ON_ERROR_STOP 1
\pset footer off
\set QUIET on
\getenv shared SHARED_DATA
\if :{?items}
\else
\set items 110000
\endif
\if :{?budget}
\else
\set budget 42000
\endif
\if :{?burn_budget}
\else
\set burn_budget 2000
\endif
SET work_mem = '256MB';
SET jit = off;

CREATE TEMP TABLE demo_steps (n serial, step text, seconds numeric);
SELECT clock_timestamp() AS t0 \gset

\echo
\echo '=================================================================='
\echo ' tokacct: what did each solved item really cost, and what next?'
\echo '=================================================================='
\echo
\echo '-- 1. Acme''s traces and system of record (test/acme_workload.sql),'
\echo '--    attached where they lie: one call for the spans, one for the records.'
\o /dev/null
\ir acme_workload.sql
\o
INSERT INTO demo_steps (step, seconds) SELECT 'generate the spans and the system of record', round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 1);
SELECT clock_timestamp() AS t0 \gset
SELECT providers, models FROM tokacct.load_prices_genai(
	pg_read_file(:'shared' || '/genai-prices/data.json')::jsonb, '2026-08-21') \g /dev/null
INSERT INTO demo_steps (step, seconds) SELECT 'load the price catalog', round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 1);
SELECT clock_timestamp() AS t0 \gset
\o /dev/null
SELECT count(*) FROM tokacct.attach_otel('acme_ai', 'acme.otel_traces', options => '{"item": "attr:app.item_id", "segment": "attr:app.segment"}');
INSERT INTO tokacct.baseline (workflow, valid_from, bpo_unit_price, human_cost_per_hour, human_minutes_per_item)
SELECT workflow, '2025-01-01', bpo_unit_price, human_cost_per_hour, fix_minutes FROM acme.workflows
    ON CONFLICT DO NOTHING;
INSERT INTO tokacct.cutover (workflow, cutover_on) SELECT workflow, cutover FROM acme.workflows
    ON CONFLICT DO NOTHING;
SELECT count(*) FROM tokacct.attach_records('acme_ops', 'acme.work_items',
    '{"item": "item_key", "workflow": "workflow", "opened_at": "opened_at", "resolved_at": "resolved_at",
      "handler": "handler", "human_minutes": "human_minutes", "bpo_charge": "bpo_charge",
      "outcome": "outcome", "segment": "segment"}',
    options => '{"traces": "acme_ai", "handlers": {"bpo": ["bpo_vendor"], "human": ["staff"]}}');
INSERT INTO tokacct.allocation_budget (source, budget, note) VALUES ('acme_ai', :budget, 'the demo''s stated budget')
    ON CONFLICT (source) DO UPDATE SET budget = excluded.budget;
\o
INSERT INTO demo_steps (step, seconds) SELECT 'attach the spans and the records', round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 1);
SELECT (SELECT count(*) FROM acme.otel_traces) AS spans, (SELECT count(*) FROM acme.work_items) AS records,
       (SELECT count(*) FROM tokacct.attachment WHERE source IN ('acme_ai', 'acme_ops')) AS sources_attached;

-- The rollups: the attached calls per UTC day x workflow x model, with
-- exact money, tokens and the cost sketch (tokacct.rollup_source_daily).
-- The first refresh counts every trace; pg_cron would then call the refresh
-- every few minutes, each counting only the traces with new rows.
SELECT clock_timestamp() AS t0 \gset
CALL tokacct.rollup_source_create('acme_ai');
CALL tokacct.rollup_source_refresh('acme_ai');
INSERT INTO demo_steps (step, seconds) SELECT 'refresh the rollups', round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 1);

-- Read each base view once.
SELECT clock_timestamp() AS t0 \gset
CREATE TEMP TABLE m_items AS SELECT * FROM acme_ai.items;
CREATE TEMP TABLE m_attempts AS SELECT * FROM acme_ai.attempts;
INSERT INTO demo_steps (step, seconds) SELECT 'read the items and attempts views once', round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 1);
SELECT clock_timestamp() AS t0 \gset
-- the spans read once too: the BI view waste classifies them by its own
-- definition (as waste_by_trace does, without its guard)
CREATE TEMP TABLE m_spans AS SELECT * FROM acme_ai.spans;
CREATE TEMP TABLE m_waste AS SELECT * FROM tokacct.waste_by_trace('pg_temp.m_spans');
-- waste_by_workflow's own definition, over the traces' waste read once
CREATE TEMP TABLE m_waste_wf AS
	SELECT b.workflow, min(b.cost_rule) AS cost_rule, count(*) AS traces,
		   sum(b.spans) AS spans, sum(b.total) AS total, sum(b.essential) AS essential,
		   sum(b.error_call) AS error_call, sum(b.failed_attempt) AS failed_attempt,
		   sum(b.abandoned_branch) AS abandoned_branch, sum(b.stuck_loop) AS stuck_loop,
		   sum(b.duplicate_tool_call) AS duplicate_tool_call, sum(b.waste) AS waste,
		   round(sum(b.waste) / NULLIF(sum(b.total), 0), 4) AS waste_share
	  FROM m_waste b GROUP BY b.workflow;
INSERT INTO demo_steps (step, seconds) SELECT 'classify the waste of every trace once', round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 1);
SELECT clock_timestamp() AS t0 \gset
CREATE TEMP TABLE m_conv AS SELECT * FROM acme_ai.conversations;
CREATE TEMP TABLE m_problems AS SELECT * FROM acme_ai.problems;
INSERT INTO demo_steps (step, seconds) SELECT 'read the conversations and problems views once', round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 1);
SELECT clock_timestamp() AS t0 \gset

-- A view's definition over the copies: every base view it names replaced
-- by its copy; refused if it still reads a base view.
CREATE FUNCTION pg_temp.over_copies(v regclass) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	d text := pg_get_viewdef(v);
	r record;
BEGIN
	FOR r IN SELECT * FROM (VALUES
			('tokacct.waste_by_trace(''acme_ai.spans''::regclass)', 'pg_temp.m_waste'),
			('tokacct.waste_by_workflow(''acme_ai.spans''::regclass)', 'pg_temp.m_waste_wf'),
			('acme_ai.items', 'pg_temp.m_items'), ('acme_ai.attempts', 'pg_temp.m_attempts'),
			('acme_ai.conversations', 'pg_temp.m_conv'), ('acme_ai.problems', 'pg_temp.m_problems'),
			('acme_ops.records', 'pg_temp.m_records'), ('acme_ops.before_after', 'pg_temp.v_before_after'),
			('acme_ai.spans', 'pg_temp.m_spans')) s(a, b) LOOP
		d := replace(d, r.a, r.b);
	END LOOP;
	IF d ~ '(acme_ai|acme_ops)\.[a-z]' THEN
		RAISE EXCEPTION 'the view % reads a base view the demo has no copy of', v
			USING DETAIL = substring(d FROM '(acme_(ai|ops)\.[a-z_]+)');
	END IF;
	RETURN rtrim(d, ';');
END $$;
SELECT format('CREATE TEMP TABLE m_records AS %s', pg_temp.over_copies('acme_ops.records')) \gexec
SELECT format('CREATE TEMP VIEW v_%s AS %s', v, pg_temp.over_copies(('acme_ai.' || v)::regclass))
  FROM unnest('{segments,routing,waste,context_growth,frontier,allocation,problem_summary}'::text[]) v \gexec
SELECT format('CREATE TEMP TABLE v_%s AS %s', v, pg_temp.over_copies(('acme_ops.' || v)::regclass))
  FROM unnest('{before_after,before_after_summary,record_problems}'::text[]) v \gexec
INSERT INTO demo_steps (step, seconds) SELECT 'the system of record, and the before-and-after', round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 1);
SELECT clock_timestamp() AS t0 \gset

\echo
\echo '-- 2. Per workflow: what a solved item costs with the agent (its attempts,'
\echo '--    retries included, plus the human fix of what it did not solve) against'
\echo '--    the BPO''s price; first-try success, the retry tail (tail factor: the'
\echo '--    cost per solved item over the naive cost-per-attempt / first-try'
\echo '--    success), the AI spend on failed attempts, and the input carried over.'
SELECT e.workflow, r.items, r.solved,
       round(r.total_cost_per_solved, 4) AS cost_per_solved,
       round(e.bpo, 2) AS bpo_price,
       round(e.bpo - r.total_cost_per_solved, 2) AS saving_per_solved,
       round(t.p1::numeric, 3) AS first_try,
       round(t.tail_factor::numeric, 2) AS tail_factor,
       round((e.failed_cost / NULLIF(r.ai_cost, 0))::numeric, 3) AS retry_share,
       round(c.carried_share::numeric, 3) AS carried_share
  FROM (SELECT workflow, tokacct.cost_per_outcome(ai_cost, solved, human_fix_cost) AS outcome,
               sum(failed_attempt_cost) AS failed_cost, round(avg(bpo_unit_price), 12) AS bpo
          FROM m_items WHERE ai_cost IS NOT NULL AND solved IS NOT NULL GROUP BY 1) e
  CROSS JOIN LATERAL tokacct.outcome_report(e.outcome) r
  JOIN (SELECT workflow, (tokacct.retry_report(tokacct.retry_economics(attempt, succeeded, cost))).*
          FROM m_attempts WHERE cost IS NOT NULL AND succeeded IS NOT NULL
           AND item IN (SELECT item FROM m_items WHERE ai_cost IS NOT NULL AND solved IS NOT NULL)
         GROUP BY 1) t USING (workflow)
  LEFT JOIN v_context_growth c USING (workflow)
 ORDER BY 1;
INSERT INTO demo_steps (step, seconds) SELECT 'economics per workflow', round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 1);
SELECT clock_timestamp() AS t0 \gset

\echo
\echo '-- 3. Where the money went: every dollar of every trace in one class.'
\echo '--    Induced cost included: a tool call is charged for the context its'
\echo '--    result adds to every later call of its trace.'
SELECT workflow, max(traces) AS traces, max(total) AS total,
       sum(cost) FILTER (WHERE class = 'essential') AS essential,
       sum(cost) FILTER (WHERE class = 'failed_attempt') AS failed_attempt,
       sum(cost) FILTER (WHERE class = 'error_call') AS error_call,
       sum(cost) FILTER (WHERE class = 'abandoned_branch') AS abandoned_branch,
       sum(cost) FILTER (WHERE class = 'stuck_loop') AS stuck_loop,
       sum(cost) FILTER (WHERE class = 'duplicate_tool_call') AS duplicate_tool_call,
       round(1 - (sum(share) FILTER (WHERE class = 'essential'))::numeric, 3) AS waste_share
  FROM v_waste GROUP BY workflow ORDER BY workflow;
INSERT INTO demo_steps (step, seconds) SELECT 'waste by class', round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 1);
SELECT clock_timestamp() AS t0 \gset

\echo
\echo '-- 4. Routing: each model''s success per attempt with its 95% interval,'
\echo '--    cost per success, and what moving its items to the recommended one saves.'
SELECT workflow, option, attempts, round(success_rate::numeric, 3) AS success,
       format('[%s, %s]', round(success_low::numeric, 3), round(success_high::numeric, 3)) AS interval_95,
       round(cost_per_success, 4) AS cost_per_success, recommended_option AS recommended,
       round(projected_saving, 2) AS saving
  FROM v_routing WHERE attempts > 0 ORDER BY workflow, option;
INSERT INTO demo_steps (step, seconds) SELECT 'routing', round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 1);
SELECT clock_timestamp() AS t0 \gset

\echo
\echo '-- 5. Where the economics break: each segment of items, losers first.'
\pset tuples_only on
\pset format unaligned
SELECT sentence FROM v_segments
 ORDER BY agent_loses DESC, money_at_stake DESC, workflow, segment;
\pset format aligned
\pset tuples_only off
INSERT INTO demo_steps (step, seconds) SELECT 'segments', round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 1);
SELECT clock_timestamp() AS t0 \gset

\echo
\echo '-- 6. Each workflow''s frontier: mean cost per item (AI plus human fix)'
\echo '--    against mean value (the BPO price of a solved item, less the fix of a'
\echo '--    failed one); value per extra dollar along the frontier.'
SELECT workflow, option, items, round(mean_cost, 4) AS cost_per_item, round(mean_value, 4) AS value_per_item,
       on_frontier, round(marginal_utility::numeric, 2) AS value_per_extra_dollar, dominated_by
  FROM v_frontier ORDER BY workflow, mean_cost;
INSERT INTO demo_steps (step, seconds) SELECT 'frontier', round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 1);
SELECT clock_timestamp() AS t0 \gset

\echo
\echo '-- 7. Did the work change? The system of record before and after each'
\echo '--    workflow''s cut-over to the agent (95% intervals decide "unchanged").'
\pset tuples_only on
\pset format unaligned
SELECT sentence FROM v_before_after_summary WHERE segment IS NULL ORDER BY workflow;
\pset format aligned
\pset tuples_only off
INSERT INTO demo_steps (step, seconds) SELECT 'before and after', round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 1);
SELECT clock_timestamp() AS t0 \gset

SELECT format('-- 8. A budget of $%s (tokacct.allocation_budget) for the items the traces hold,', to_char(:budget, 'FM999,999,999')) AS line \gset
\echo
\echo :line
\echo '--    spread over the workflows'' options (or left undone): the plan, and its'
\echo '--    shadow price (the value one more dollar buys).'
CREATE TEMP TABLE v_plan AS SELECT * FROM v_allocation;
SELECT workflow, option, round(items::numeric, 1) AS items, round(share::numeric, 3) AS share, round(spend, 2) AS spend, round(value, 2) AS value
  FROM v_plan WHERE items > 0 ORDER BY workflow, spend DESC;
SELECT DISTINCT budget, round(shadow_price::numeric, 3) AS shadow_price, feasible,
       (SELECT round(sum(spend), 2) FROM v_plan) AS spend, (SELECT round(sum(value), 2) FROM v_plan) AS value
  FROM v_plan;
INSERT INTO demo_steps (step, seconds) SELECT 'allocation', round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 1);
SELECT clock_timestamp() AS t0 \gset

\echo
\echo '-- 9. The decisions, in plain words.'
\pset tuples_only on
\pset format unaligned
SELECT decision FROM (
	SELECT 1 AS k, workflow, decision FROM v_plan
	 WHERE decision IS NOT NULL GROUP BY workflow, decision
	UNION ALL
	SELECT 2, workflow, format('routing %s: give %s''s attempts to %s (the cheapest per success of the models whose 95%% interval reaches the best success rate): $%s less on these attempts',
				  workflow, option, recommended_option, round(projected_saving, 2))
	  FROM v_routing WHERE projected_saving > 0
	UNION ALL
	SELECT 3, workflow, format('%s, %s: keep it with the BPO; $%s at stake on %s items',
				  workflow, segment, round(money_at_stake, 2), items)
	  FROM v_segments WHERE agent_loses) d
 ORDER BY k, workflow, decision;
\pset format aligned
\pset tuples_only off
INSERT INTO demo_steps (step, seconds) SELECT 'decisions', round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 1);
SELECT clock_timestamp() AS t0 \gset

\echo
\echo '-- 10. The last month before the current one, from the rollups (what pg_cron'
\echo '--     keeps fresh): per workflow the calls, their exact cost, and the p95 of'
\echo '--     one call''s cost (merged from the daily sketches, within 1%).'
SELECT (CASE WHEN min(day) < date_trunc('month', max(day)) THEN date_trunc('month', max(day)) - interval '1 month'
			 ELSE date_trunc('month', max(day)) END)::date AS last_month
  FROM tokacct.rollup_source_daily WHERE source = 'acme_ai' \gset
SELECT :'last_month' AS month, workflow, sum(calls) AS calls, sum(cost) AS cost,
	   round(tokacct.cost_quantile(tokacct.merge(d.cost_sketch), 0.95)::numeric, 6) AS p95_call_cost
  FROM tokacct.rollup_source_daily d
 WHERE d.source = 'acme_ai' AND d.day >= :'last_month'::date AND d.day < :'last_month'::date + interval '1 month'
 GROUP BY workflow ORDER BY workflow;
INSERT INTO demo_steps (step, seconds) SELECT 'the month from the rollups', round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 1);
SELECT clock_timestamp() AS t0 \gset

\echo
\echo '-- 11. Rows left out of the figures, with the reason (none aborts the report).'
SELECT source, level, regexp_replace(reason, ' \(.*$| ''.*$|: ".*$', '') AS reason, sum(rows) AS rows
  FROM v_problem_summary GROUP BY 1, 2, 3
UNION ALL
SELECT 'acme_ops', 'record', reason, count(*) FROM v_record_problems GROUP BY 1, 2, 3
 ORDER BY 1, 4 DESC, 3;
INSERT INTO demo_steps (step, seconds) SELECT 'rows left out', round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 1);

\if :{?json}
SELECT clock_timestamp() AS t0 \gset
\set source acme_ai
\set records acme.work_items
\set workflows acme.workflows
\set month 2026-10-01
\set budget :burn_budget
\set items_rel pg_temp.m_items
\set attempts_rel pg_temp.m_attempts
\set waste_rel pg_temp.m_waste_wf
\set problems_rel pg_temp.m_problems
\pset format unaligned
\pset tuples_only on
\o :json
\ir report_data.sql
\o
\pset format aligned
\pset tuples_only off
\set QUIET on
\pset footer off
INSERT INTO demo_steps (step, seconds) SELECT 'the HTML report''s figures', round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 1);
\endif

\echo
\echo '-- Explore further (psql; every view has a comment: \\d+ acme_ai.segments):'
\echo '--   SELECT * FROM acme_ai.economics_monthly ORDER BY workflow, period_start;'
\echo '--   SELECT * FROM acme_ai.segments WHERE agent_loses;'
\echo '--   SELECT * FROM acme_ai.routing WHERE projected_saving > 0;'
\echo '--   SELECT * FROM acme_ai.waste WHERE class <> ''essential'' ORDER BY cost DESC;'
\echo '--   SELECT * FROM tokacct.waste_by_trace(''acme_ai.spans'') ORDER BY waste DESC LIMIT 10;'
\echo '--   SELECT * FROM acme_ai.calls WHERE item = ''ACME-17'' ORDER BY started_at;'
\echo '--   SELECT * FROM acme_ops.before_after WHERE significant;'
\echo '--   SELECT * FROM tokacct.rollup_source_monthly WHERE source = ''acme_ai'' ORDER BY month, workflow;'
\echo '--   SELECT * FROM tokacct.rollup_source_retry_monthly WHERE source = ''acme_ai'' ORDER BY month, workflow;'
\echo '--   SELECT * FROM tokacct.rollup_source_waste_monthly WHERE source = ''acme_ai'' ORDER BY month, workflow;'
\echo '--   SELECT * FROM acme_ai.problems LIMIT 20;'
\echo '--   UPDATE tokacct.allocation_budget SET budget = 1000000; SELECT * FROM acme_ai.allocation;'
\echo
\echo '-- How long each step took (seconds):'
SELECT step, seconds FROM demo_steps ORDER BY n;
SELECT sum(seconds) AS total_seconds FROM demo_steps;
