-- The tokacct demo: from raw agent traces to an allocation decision.
-- Runs after test/demo_data.sql has loaded demo.spans, demo.items and
-- demo.workflows (four workflows, 1,600 items, ~33,000 spans).
\pset footer off
\set QUIET on
\getenv shared SHARED_DATA

\echo
\echo '=================================================================='
\echo ' tokacct: what did each resolved item really cost, and what next?'
\echo '=================================================================='
\echo
\echo '-- 1. Price every LLM call at the prices in force when it ran'
\echo '--    (the genai-prices catalog, loaded into tokacct.price_*).'
SELECT providers, models FROM tokacct.load_prices_genai(
	pg_read_file(:'shared' || '/genai-prices/data.json')::jsonb, '2026-08-21');
UPDATE demo.spans
   SET cost = tokacct.cost(provider, model, input_tokens, output_tokens,
                           cache_read_tokens, 0, 0, started_at)
 WHERE kind = 'llm';
SELECT count(*) AS llm_calls, count(cost) AS priced,
       sum(input_tokens) AS input_tokens, sum(cost) AS llm_spend
  FROM demo.spans WHERE kind = 'llm';

\echo
\echo '-- 2. Cost per outcome: AI spend plus human fixes, per solved item,'
\echo '--    against what the BPO charges per item.'
CREATE TEMP TABLE item_cost AS
SELECT i.workflow, i.item_id, i.model, i.outcome = 'solved_ai' AS solved,
       i.human_fix_cost, sum(s.cost) AS cost
  FROM demo.items i JOIN demo.spans s USING (item_id)
 GROUP BY 1, 2, 3, 4, 5;
SELECT c.workflow, c.model, r.items, r.solved,
       round(r.cost_per_solved, 4) AS ai_cost_per_solved,
       round(r.total_cost_per_solved, 4) AS all_in_per_solved,
       w.bpo_unit_price AS bpo_price,
       round(w.bpo_unit_price - r.total_cost_per_solved, 2) AS saving_per_unit
  FROM (SELECT workflow, model,
               tokacct.cost_per_outcome(cost, solved, nullif(human_fix_cost, 0)) AS s
          FROM item_cost GROUP BY 1, 2) c
  JOIN demo.workflows w USING (workflow),
       tokacct.outcome_report(c.s) r
 ORDER BY 1, 2;

\echo
\echo '-- 3. The retry tail: first-try success, the observed cost per solved'
\echo '--    item against the naive T/p1, and the spend on failed attempts.'
CREATE TEMP TABLE attempt_cost AS
SELECT s.workflow, s.item_id, s.attempt,
       bool_or(s.kind = 'agent' AND s.status = 'ok') AS succeeded,
       coalesce(sum(s.cost), 0) AS cost
  FROM demo.spans s WHERE s.kind <> 'workflow'
 GROUP BY 1, 2, 3;
SELECT workflow, round(r.p1::numeric, 3) AS p1,
       round(r.attempts_per_item::numeric, 3) AS attempts_per_item,
       round(r.cost_per_solved, 4) AS cost_per_solved,
       round(r.naive_cost_per_solved, 4) AS naive_t_over_p1,
       round(r.tail_factor::numeric, 3) AS tail_factor,
       round(r.failed_share::numeric, 3) AS failed_share
  FROM (SELECT workflow, tokacct.retry_economics(attempt, succeeded, cost) AS s
          FROM attempt_cost GROUP BY 1) x,
       tokacct.retry_report(x.s) r
 ORDER BY 1;

\echo
\echo '-- 4. Waste: every dollar of every trace in one class.'
SELECT workflow, traces, total, essential, error_call, failed_attempt,
       abandoned_branch, stuck_loop, duplicate_tool_call,
       round(waste_share, 3) AS waste_share
  FROM tokacct.waste_by_workflow('demo.spans', 'self')
 ORDER BY 1;

\echo
\echo '-- 5. Context growth: each attempt re-sends its history; how much input'
\echo '--    was carried over, how fast it grows, and what an 8,000-token cap saves.'
SELECT workflow, sum(r.total_input) AS input_tokens,
       round(sum(r.carried_input)::numeric / sum(r.total_input), 3) AS carried_share,
       round(avg(r.growth_exponent)::numeric, 2) AS growth_exponent,
       round(sum(v.saved_input)::numeric / sum(r.total_input), 3) AS saved_by_8k_cap
  FROM (SELECT workflow, trace_id, attempt,
               tokacct.context_growth(seq, input_tokens, output_tokens) AS s
          FROM (SELECT workflow, trace_id, attempt, input_tokens, output_tokens,
                       row_number() OVER (PARTITION BY trace_id, attempt ORDER BY started_at)::int AS seq
                  FROM demo.spans WHERE kind = 'llm') calls
         GROUP BY 1, 2, 3) g,
       tokacct.context_report(g.s) r,
       tokacct.context_savings(g.s, 8000) v
 GROUP BY 1 ORDER BY 1;

\echo
\echo '-- 6. The spread of cost per item: p50, p95 and the tail ratio p95/p50.'
SELECT workflow, round(q[1], 4) AS p50, round(q[2], 4) AS p95, round(q[3], 4) AS max,
       round(tokacct.tail_ratio(s)::numeric, 2) AS tail_ratio
  FROM (SELECT workflow, tokacct.cost_sketch(cost) AS s,
               tokacct.cost_quantiles(tokacct.cost_sketch(cost), '{0.5, 0.95, 1}')::numeric[] AS q
          FROM item_cost GROUP BY 1) x
 ORDER BY 1;

\echo
\echo '-- 7. The efficient frontier per workflow: models and the BPO, value'
\echo '--    = the BPO price of a solved item, less the human fix of a failed one.'
CREATE TEMP TABLE frontier AS
SELECT workflow, tokacct.utility_frontier(option, cost, value, n) AS f
  FROM (SELECT c.workflow, c.model, c.cost,
               CASE WHEN c.solved THEN w.bpo_unit_price
                    ELSE w.bpo_unit_price - w.human_fix_cost END, 1
          FROM item_cost c JOIN demo.workflows w USING (workflow)
        UNION ALL
        SELECT workflow, 'BPO', bpo_unit_price, bpo_unit_price, 1 FROM demo.workflows)
       AS rows (workflow, option, cost, value, n)
 GROUP BY workflow;
SELECT f.workflow, o.option, round(o.mean_cost, 4) AS cost_per_item,
       round(o.mean_value, 4) AS value_per_item, o.on_frontier,
       round(o.marginal_utility::numeric, 2) AS value_per_extra_dollar, o.dominated_by
  FROM frontier f, tokacct.frontier_options(f.f) o
 ORDER BY 1, o.mean_cost;

\echo
\echo '-- 8. A month''s plan for a $60,000 budget (today: every item with the BPO).'
CREATE TEMP TABLE options AS
SELECT ROW(f.workflow, o.option, o.mean_cost, o.mean_value, w.monthly_volume,
           o.option = 'BPO')::tokacct.allocation_option AS opt
  FROM frontier f JOIN demo.workflows w USING (workflow),
       tokacct.frontier_options(f.f) o;
SELECT spend, round(value, 2) AS value, round(shadow_price::numeric, 3) AS shadow_price,
       min_budget, full_budget
  FROM tokacct.allocation_summary(60000, ARRAY(SELECT opt FROM options));
SELECT decision FROM tokacct.allocation_decisions(60000, ARRAY(SELECT opt FROM options));

\echo
\echo '-- 9. Did the work change? Acme''s system of record before and after each'
\echo '--    workflow moved to the agent (test/acme_workload.sql, 6,000 items):'
\echo '--    who handled the items, human minutes, cycle times, net saving a month.'
\set seed 1
\set items 6000
\o /dev/null
\ir acme_workload.sql
SELECT count(*) FROM tokacct.attach_otel('acme_ai', 'acme.otel_traces', options => '{"item": "attr:app.item_id"}');
INSERT INTO tokacct.baseline (workflow, valid_from, bpo_unit_price, human_cost_per_hour)
SELECT workflow, '2025-01-01', bpo_unit_price, human_cost_per_hour FROM acme.workflows
    ON CONFLICT DO NOTHING;
INSERT INTO tokacct.cutover (workflow, cutover_on) SELECT workflow, cutover FROM acme.workflows;
SELECT count(*) FROM tokacct.attach_records('acme_ops', 'acme.work_items',
    '{"item": "item_key", "workflow": "workflow", "opened_at": "opened_at", "resolved_at": "resolved_at",
      "handler": "handler", "human_minutes": "human_minutes", "bpo_charge": "bpo_charge",
      "outcome": "outcome", "segment": "segment"}',
    options => '{"traces": "acme_ai", "handlers": {"bpo": ["bpo_vendor"], "human": ["staff"]}}');
\o
SELECT sentence FROM acme_ops.before_after_summary WHERE segment IS NULL ORDER BY workflow;
SELECT reason, count(*) AS rows_left_out FROM acme_ops.record_problems GROUP BY 1 ORDER BY 2 DESC;
