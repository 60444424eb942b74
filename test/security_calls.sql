-- Calls made by test/t/security.sh with public first on the search_path;
-- each capability adds a few representative calls here.
SET search_path = public, pg_catalog;
SELECT tokacct.effective_cost(0.42, 0.7);
SELECT tokacct.expected_item_cost(0.42, 0.7, 3, 18);
SELECT tokacct.break_even_p(0.42, 4.5, 3, 18);
SELECT tokacct.pass_at_k(5, 2, 2), tokacct.pass_hat_k(5, 2, 2);
SELECT tokacct.wilson_interval(8, 12);
SELECT tokacct.agent_loop_input_tokens(10, 2000, 500), tokacct.context_cost(10, 1, 1);
-- pricing: both loaders (PL/pgSQL) and the C pricing path
\getenv shared SHARED_DATA
SELECT providers FROM tokacct.load_prices_genai(pg_read_file(:'shared' || '/genai-prices/data.json')::jsonb, '2026-08-21');
SELECT providers FROM tokacct.load_prices_litellm(pg_read_file(:'shared' || '/litellm/model_prices_and_context_window.json')::jsonb, '2026-07-24');
SELECT tokacct.cost('openai', 'gpt-4.1', 1000, 100, at => '2026-08-21');
SELECT tokacct.cost(NULL, 'claude-sonnet-4-0', 1000, 100, 200, 0, 0, '2026-08-21');
SELECT * FROM tokacct.cost_breakdown('openai', 'gpt-4.1', 1000, 100, at => '2026-08-21');
-- waste
SELECT c.* FROM (SELECT tokacct.waste_agg(s, p, k, n, a, st, c, t) AS w
	FROM (VALUES ('r', NULL, 'agent', 'x', NULL, 'ok', 0, pg_catalog.now()),
	             ('a', 'r', 'tool', 'get', 'h', 'ok', 0.01, pg_catalog.now()),
	             ('b', 'r', 'tool', 'get', 'h', 'ok', 0.01, pg_catalog.now() + interval '1 s')) v(s, p, k, n, a, st, c, t)) q,
	tokacct.waste_classes(q.w) c;
-- frontier and allocation
SELECT f.* FROM (SELECT tokacct.utility_frontier(o, c, v) AS s
	FROM (VALUES ('a', 1, 2), ('b', 2, 5), ('human', 10, 6)) v(o, c, v)) q, tokacct.frontier_options(q.s) f;
SELECT * FROM tokacct.allocate(100, ARRAY[ROW('w', 'a', 1, 2, 10, false), ROW('w', 'b', 3, 5, 10, true)]::tokacct.allocation_option[]);
-- reading a caller-named table: the guard and the three functions over it
CREATE TABLE public.trojan_calls (provider varchar, model varchar);
INSERT INTO public.trojan_calls VALUES ('acme', 'acme-1'), ('acme', 'acme-1');
SELECT * FROM tokacct.unpriced_models('trojan_calls');
CREATE TABLE public.trojan_spans (workflow varchar, trace_id varchar, span_id varchar, parent_id varchar,
	kind varchar, name varchar, args_hash varchar, status varchar, cost integer, started_at timestamptz,
	attempt integer);
INSERT INTO public.trojan_spans VALUES ('w', 't', 'r', NULL, 'agent', 'a', NULL, 'ok', NULL, pg_catalog.now(), NULL),
	('w', 't', 'c', 'r', 'tool', 'get', 'h', 'ok', 1, pg_catalog.now(), NULL);
SELECT * FROM tokacct.waste_by_trace('trojan_spans');
SELECT * FROM tokacct.waste_by_workflow('trojan_spans');
SELECT tokacct.source_check('trojan_spans', ARRAY['cost', 'attempt'], ARRAY['money', 'integer']);
SELECT * FROM tokacct.source_query('trojan_calls', ARRAY['model'], ARRAY['string'],
	'SELECT t.model::pg_catalog.text FROM public.trojan_calls t') AS q(m text);
-- attach: a span table whose columns are text, varchar and the planted
-- domain public.tinytext (with its implicit cast); every view answers
CREATE TABLE public.sec_spans ("Timestamp" timestamptz, "TraceId" text, "SpanId" text, "ParentSpanId" text,
	"SpanName" public.tinytext, "StatusCode" varchar, "Duration" bigint, "SpanAttributes" jsonb);
INSERT INTO public.sec_spans VALUES
	('2026-08-21 10:00+00', 't', 'r', '', 'agent', 'Ok', 1000, '{"gen_ai.operation.name": "invoke_agent", "app.item": "i1"}'),
	('2026-08-21 10:00:01+00', 't', 'c', 'r', 'chat', 'Unset', 1000, '{"gen_ai.operation.name": "chat",
		"gen_ai.provider.name": "azure.ai.openai", "gen_ai.request.model": "gpt-4.1",
		"gen_ai.usage.input_tokens": "1000", "gen_ai.usage.output_tokens": "100"}'),
	('2026-08-21 10:00:02+00', 't', 'x', 'r', 'lookup', 'Error', 1000, '{"gen_ai.operation.name": "execute_tool",
		"gen_ai.tool.call.arguments": "{\"q\": 1}", "error.type": "429"}');
SELECT * FROM tokacct.attach_otel('sec', 'public.sec_spans', options => '{"item": "attr:app.item", "segment": "name"}');
SELECT count(*), sum(cost) FROM sec.calls;
SELECT count(*), sum(cost) FROM sec.spans;
SELECT * FROM sec.attempts;
SELECT * FROM sec.items;
SELECT count(*) FROM sec.conversations;
SELECT count(*) FROM sec.problems;
SELECT * FROM tokacct.waste_by_workflow('sec.spans');
-- the BI views of the source answer too (segments by a planted-domain column)
INSERT INTO tokacct.allocation_budget VALUES ('sec', 100);
SELECT count(*) FROM sec.economics_daily;
SELECT count(*) FROM sec.economics_weekly;
SELECT count(*) FROM sec.economics_monthly;
SELECT count(*) FROM sec.segments;
SELECT count(*) FROM sec.routing;
SELECT count(*) FROM sec.waste;
SELECT count(*) FROM sec.context_growth;
SELECT count(*) FROM sec.cost_quantiles;
SELECT count(*) FROM sec.frontier;
SELECT count(*) FROM sec.allocation;
SELECT count(*) FROM sec.unpriced_models;
SELECT count(*) FROM sec.problem_summary;
SELECT count(*) FROM sec.focus;
DELETE FROM tokacct.allocation_budget;
SELECT * FROM tokacct.attach('sec_map', 'public.sec_spans', '{"trace_id": "TraceId", "span_id": "SpanId",
	"parent_id": "ParentSpanId", "start_time": "Timestamp", "name": "SpanName", "status": "StatusCode",
	"kind": {"column": "SpanAttributes", "path": "gen_ai.operation.name"}}');
SELECT count(*) FROM sec_map.spans;
SELECT * FROM tokacct.detach('sec_map');
-- attach_records: a system of record whose columns are varchar, text and the
-- planted domain, linked to the attached traces; every view answers
CREATE TABLE public.sec_records (item varchar, opened timestamptz, closed timestamptz, who public.tinytext,
	minutes integer, fee varchar, status varchar);
INSERT INTO public.sec_records VALUES
	('i1', '2026-08-20 10:00+00', '2026-08-21 10:00+00', 'In-House', 20, NULL, 'solved'),
	('i0', '2026-08-10 10:00+00', '2026-08-12 10:00+00', 'BPO', NULL, '4.50', 'solved'),
	('i2', '2026-08-21 10:00+00', '2026-08-21 12:00+00', 'AI Agent', 0, NULL, 'solved');
INSERT INTO tokacct.cutover (workflow, cutover_on) VALUES ('claims', '2026-08-15');
INSERT INTO tokacct.baseline (workflow, bpo_unit_price, human_cost_per_hour) VALUES ('claims', 4.50, 60);
SELECT * FROM tokacct.attach_records('sec_rec', 'public.sec_records', '{"item": "item", "workflow": {"const": "claims"},
	"opened_at": "opened", "resolved_at": "closed", "handler": "who", "human_minutes": "minutes",
	"bpo_charge": "fee", "outcome": "status"}', options => '{"traces": "sec"}');
SELECT * FROM sec_rec.records;
SELECT * FROM sec_rec.record_problems;
SELECT * FROM sec_rec.operating_weekly;
SELECT * FROM sec_rec.operating_monthly;
SELECT * FROM sec_rec.before_after;
SELECT * FROM sec_rec.before_after_summary;
SELECT * FROM tokacct.median_diff_ci('{1,2,3}', '{4,5,6}'), tokacct.proportion_diff_ci(1, 2, 1, 3);
SELECT * FROM tokacct.detach('sec_rec');
SELECT * FROM tokacct.detach('sec');
-- rollups and budgets (PL/pgSQL with dynamic SQL, triggers, views)
INSERT INTO tokacct.price_call (at, provider, model, input_tokens, output_tokens, reported_cost, workflow, team)
VALUES ('2026-08-21 10:00+00', 'openai', 'gpt-4.1', 1000, 100, NULL, 'w', 't'),
       ('2026-08-21 11:00+00', 'openai', 'gpt-4.1', 1000, 100, 0.5, 'w', 't');
INSERT INTO tokacct.budget (scope_kind, scope, period_start, period_end, amount) VALUES ('team', 't', '2026-08-01', '2026-09-01', 1);
CALL tokacct.rollup_refresh();
UPDATE tokacct.budget SET period_start = '2026-08-02';
CALL tokacct.rollup_refresh(wait => false);
SELECT calls, cost, tokacct.sketch_count(cost_sketch) FROM tokacct.rollup_daily;
SELECT calls, cost, p95_cost > 0 FROM tokacct.rollup_monthly;
SELECT spent, remaining, runs_out_on FROM tokacct.budget_report('2026-08-22');
SELECT count(*) FROM tokacct.budget_status;
SELECT tokacct.budget_remaining('team', 't', '2026-08-22');
CALL tokacct.rollup_rebuild();
