-- Rollups of attached sources: tokacct.rollup_source_create(),
-- rollup_source_refresh(), rollup_source_rebuild(), rollup_source_drop(),
-- rollup_source_daily and rollup_source_monthly.  The attach workload
-- (test/sql/attach_workload.sql) is attached as OpenTelemetry spans and as
-- Langfuse tables; after every change to the source tables (late spans of
-- an old trace, a trace whose spans arrive in two transactions, updates,
-- a subtransaction, deletes) a refresh must leave the rollup equal to the
-- same aggregate taken directly over the calls view (money exactly), and
-- the clean items' money equal to the workload's truth table (costs
-- computed there with plain numeric arithmetic).  Concurrent refreshes,
-- transactions open across a refresh and a refresh killed mid-run are in
-- test/isolation/specs/rollup_source_*.spec and test/t/rollup_crash.sh.
--
-- The suite runs in a database of its own (Langfuse's DDL fills schema
-- public).
\set regress_db :DBNAME
CREATE DATABASE tokacct_rollup_source;
\c tokacct_rollup_source
SET client_min_messages = warning;
CREATE EXTENSION tokacct;
RESET client_min_messages;
\getenv shared SHARED_DATA
\set SHOW_CONTEXT never
\set ECHO none
\o /dev/null
\set langfuse_ddl :shared '/langfuse-v2/schema.sql'
\i :langfuse_ddl
SET search_path = public;
\set workload :shared '/../test/sql/attach_workload.sql'
\i :workload
INSERT INTO tokacct.price_provider (catalog, provider, ordinal) VALUES ('custom', 'openai', 0), ('custom', 'anthropic', 1);
INSERT INTO tokacct.price_model (catalog, provider, model, ordinal, match) VALUES
	('custom', 'openai', 'gpt-4o-mini', 0, '{"equals": "gpt-4o-mini"}'),
	('custom', 'openai', 'gpt-4o', 1, '{"equals": "gpt-4o"}'),
	('custom', 'anthropic', 'claude-sonnet-4', 0, '{"equals": "claude-sonnet-4"}');
INSERT INTO tokacct.price (catalog, provider, model, input_mtok, cache_read_mtok, cache_write_mtok, output_mtok) VALUES
	('custom', 'openai', 'gpt-4o', 2.50, 1.25, NULL, 10.00),
	('custom', 'openai', 'gpt-4o-mini', 0.15, 0.075, NULL, 0.60),
	('custom', 'anthropic', 'claude-sonnet-4', 3.00, 0.30, 3.75, 15.00);
INSERT INTO tokacct.model_alias (provider, model, catalog_provider, catalog_model)
VALUES ('azure.ai.openai', 'prod-mini', 'openai', 'gpt-4o-mini');
SELECT * FROM tokacct.attach_otel('wl_otel', 'wl.otel_traces', options => '{"item": "attr:app.item_id"}');
SELECT * FROM tokacct.attach_langfuse('wl_lf', 'public',
	options => '{"provider": "metadata:provider", "cache_read": "metadata:usage/cache_read",
				 "cache_write": "metadata:usage/cache_write", "outcome": "score:resolved"}');
SELECT * FROM tokacct.attach_otlp_json('wl_otlp', 'wl.otlp_docs', options => '{"item": "attr:app.item_id"}');
\o
\set ECHO all

-- The check: the rollup of a source against the same aggregate taken
-- directly over its calls view, row for row (rows missing from the rollup,
-- rows it has that the view does not; the cost sketches compared as
-- states, so a row's sketch must be the very sketch of its calls' costs),
-- and its totals.
CREATE FUNCTION rollup_vs_direct(src text, OUT missing bigint, OUT extra bigint, OUT rows bigint,
	OUT traces bigint, OUT calls bigint, OUT left_out bigint, OUT cost numeric)
LANGUAGE plpgsql AS $$
DECLARE
	direct text;
	rolled text := format('SELECT day, workflow, model, traces, calls, calls_left_out, input_tokens, output_tokens,
		cache_read_tokens, cache_write_tokens, reasoning_tokens, cost, reported_cost, list_cost,
		tokacct.cost_quantile(cost_sketch, 0.5) AS p50, tokacct.cost_quantile(cost_sketch, 0.95) AS p95,
		cost_sketch::text AS sketch
		FROM tokacct.rollup_source_daily WHERE source = %L', src);
BEGIN
	SELECT format('SELECT (started_at AT TIME ZONE ''UTC'')::date AS day, workflow, model,
		count(DISTINCT trace_id), count(*), count(*) FILTER (WHERE cost IS NULL),
		coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0), coalesce(sum(cache_read_tokens), 0),
		coalesce(sum(cache_write_tokens), 0), coalesce(sum(reasoning_tokens), 0), coalesce(sum(cost), 0),
		coalesce(sum(cost) FILTER (WHERE cost_source = ''reported''), 0), coalesce(sum(list_cost), 0),
		tokacct.cost_quantile(tokacct.cost_sketch(cost), 0.5), tokacct.cost_quantile(tokacct.cost_sketch(cost), 0.95),
		tokacct.cost_sketch(cost)::text
		FROM %I.%I GROUP BY 1, 2, 3', a.view_schema, a.view_prefix || 'calls')
	  INTO direct FROM tokacct.attachment a WHERE a.source = src;
	EXECUTE format('SELECT (SELECT count(*) FROM (%1$s EXCEPT ALL %2$s) d), (SELECT count(*) FROM (%2$s EXCEPT ALL %1$s) d),
		(SELECT count(*) FROM (%2$s) d), (SELECT sum(d.traces) FROM (%2$s) d), (SELECT sum(d.calls) FROM (%2$s) d),
		(SELECT sum(d.calls_left_out) FROM (%2$s) d), (SELECT sum(d.cost) FROM (%2$s) d)', direct, rolled)
	  INTO missing, extra, rows, traces, calls, left_out, cost;
END
$$;
-- The clean items (1 to 40) against the workload's truth, per day x
-- workflow x model: calls, tokens and money from plain arithmetic.
CREATE VIEW truth_daily AS
SELECT (a.started_at AT TIME ZONE 'UTC')::date AS day, a.workflow, t.model, count(*) AS calls,
	   sum(t.input) AS input_tokens, sum(t.output) AS output_tokens, sum(t.cost) AS cost, sum(t.list_cost) AS list_cost
  FROM wl.call_truth t JOIN wl.attempt a USING (i, attempt)
 GROUP BY 1, 2, 3;
CREATE FUNCTION rollup_vs_truth(src text, OUT missing bigint, OUT extra bigint) LANGUAGE sql AS $$
	WITH rolled AS (
		SELECT day, workflow, model, sum(calls) AS calls, sum(input_tokens) AS input_tokens,
			   sum(output_tokens) AS output_tokens, sum(cost) AS cost, sum(list_cost) AS list_cost
		  FROM tokacct.rollup_source_trace
		 WHERE source = src AND trace_id IN (SELECT trace_id FROM wl.attempt)
		 GROUP BY 1, 2, 3)
	SELECT (SELECT count(*) FROM (SELECT * FROM truth_daily EXCEPT SELECT * FROM rolled) d),
		   (SELECT count(*) FROM (SELECT * FROM rolled EXCEPT SELECT * FROM truth_daily) d) $$;

-- Retry economics: the rollup's day x workflow rows against retry_economics()
-- taken directly over the attempts view (its attempt numbers and costs),
-- per UTC day of an item's first attempt x workflow, over the items whose
-- attempts are whole (every cost and success known, numbered 1 to n once
-- each, nothing after a success, no attempt costing more than a retry
-- state keeps); the other items counted as left out.
CREATE FUNCTION retry_vs_direct(src text, OUT missing bigint, OUT extra bigint, OUT rows bigint,
	OUT items bigint, OUT left_out bigint, OUT attempts bigint, OUT cost numeric)
LANGUAGE plpgsql AS $$
DECLARE
	direct text;
	rolled text := format('SELECT day, workflow, items, items_left_out, retry::text AS retry
		FROM tokacct.rollup_source_retry WHERE source = %L', src);
BEGIN
	SELECT format($q$
		WITH a AS (SELECT workflow, item, attempt, succeeded, cost, started_at FROM %I.%I WHERE item IS NOT NULL AND trace_id IS NOT NULL),
		i AS (SELECT workflow, item, (min(started_at) AT TIME ZONE 'UTC')::date AS day,
					 coalesce(bool_and(cost IS NOT NULL AND succeeded IS NOT NULL AND attempt IS NOT NULL AND cost >= 0
									   AND round(cost, 12) <= 9223372.036854775807)
						 AND min(attempt) = 1 AND max(attempt) = count(*) AND count(DISTINCT attempt) = count(*)
						 AND count(*) FILTER (WHERE succeeded) <= 1
						 AND coalesce(max(attempt) FILTER (WHERE succeeded) = max(attempt), true), false) AS whole
				FROM a GROUP BY 1, 2)
		SELECT g.day, g.workflow, g.items, g.left_out, r.retry
		  FROM (SELECT day, workflow, count(*) FILTER (WHERE whole) AS items, count(*) FILTER (WHERE NOT whole) AS left_out
				  FROM i GROUP BY 1, 2) g
		  LEFT JOIN (SELECT i.day, i.workflow, tokacct.retry_economics(a.attempt, a.succeeded, a.cost)::text AS retry
					   FROM a JOIN i ON i.item = a.item AND i.workflow IS NOT DISTINCT FROM a.workflow
					  WHERE i.whole GROUP BY 1, 2) r
			ON r.day IS NOT DISTINCT FROM g.day AND r.workflow IS NOT DISTINCT FROM g.workflow$q$,
		a.view_schema, a.view_prefix || 'attempts')
	  INTO direct FROM tokacct.attachment a WHERE a.source = src;
	direct := format('SELECT * FROM (%s) x', direct);
	EXECUTE format('SELECT (SELECT count(*) FROM (%1$s EXCEPT ALL %2$s) d), (SELECT count(*) FROM (%2$s EXCEPT ALL %1$s) d),
		(SELECT count(*) FROM (%2$s) d), (SELECT sum(d.items) FROM (%2$s) d), (SELECT sum(d.items_left_out) FROM (%2$s) d)',
		direct, rolled)
	  INTO missing, extra, rows, items, left_out;
	SELECT r.attempts, r.total_cost INTO attempts, cost
	  FROM tokacct.retry_report((SELECT tokacct.merge(d.retry) FROM tokacct.rollup_source_retry d WHERE d.source = src)) r;
END
$$;
-- Waste by class: the rollup's day x workflow rows against
-- tokacct.waste_by_trace() over the spans view (each run classified
-- whole), put on the day its first trace started as the attempts view
-- says, as the economics views do.
CREATE FUNCTION waste_vs_direct(src text, OUT missing bigint, OUT extra bigint, OUT rows bigint,
	OUT runs bigint, OUT total numeric, OUT waste numeric)
LANGUAGE plpgsql AS $$
DECLARE
	direct text;
	rolled text := format('SELECT day, workflow, runs, spans, total, essential, error_call, failed_attempt,
		abandoned_branch, stuck_loop, duplicate_tool_call, waste
		FROM tokacct.rollup_source_waste_daily WHERE source = %L', src);
BEGIN
	SELECT format($q$SELECT * FROM (
		SELECT (a.started_at AT TIME ZONE 'UTC')::date AS day, w.workflow, count(*) AS runs, sum(w.spans) AS spans,
			   sum(w.total) AS total, sum(w.essential) AS essential, sum(w.error_call) AS error_call,
			   sum(w.failed_attempt) AS failed_attempt, sum(w.abandoned_branch) AS abandoned_branch,
			   sum(w.stuck_loop) AS stuck_loop, sum(w.duplicate_tool_call) AS duplicate_tool_call, sum(w.waste) AS waste
		  FROM tokacct.waste_by_trace(%L) w JOIN %I.%I a ON a.trace_id = w.trace_id
		 GROUP BY 1, 2) x$q$, format('%I.%I', a.view_schema, a.view_prefix || 'spans'), a.view_schema, a.view_prefix || 'attempts')
	  INTO direct FROM tokacct.attachment a WHERE a.source = src;
	EXECUTE format('SELECT (SELECT count(*) FROM (%1$s EXCEPT ALL %2$s) d), (SELECT count(*) FROM (%2$s EXCEPT ALL %1$s) d),
		(SELECT count(*) FROM (%2$s) d), (SELECT sum(d.runs) FROM (%2$s) d), (SELECT sum(d.total) FROM (%2$s) d),
		(SELECT sum(d.waste) FROM (%2$s) d)', direct, rolled)
	  INTO missing, extra, rows, runs, total, waste;
END
$$;
-- Context growth: the rollup's day x workflow rows against context_growth()
-- taken directly over the conversations view (per conversation, the calls
-- with a trace id, as the context_growth view takes them), put on the day
-- of each conversation's first call; growth exponents compared by their
-- mean, to 1e-9.
CREATE FUNCTION context_vs_direct(src text, OUT missing bigint, OUT extra bigint, OUT rows bigint,
	OUT conversations bigint, OUT calls bigint, OUT carried numeric, OUT exponents_apart bigint)
LANGUAGE plpgsql AS $$
DECLARE
	direct text;
	rolled text := format('SELECT day, workflow, conversations, calls, calls_left_out, total_input, fresh_input,
		carried_input, saved_input_at_cap, growth_exponents FROM tokacct.rollup_source_context_daily WHERE source = %L', src);
BEGIN
	SELECT format($q$
		SELECT g.day, g.workflow, count(*) AS conversations, COALESCE(sum(r.calls), 0) AS calls, sum(g.left_out) AS calls_left_out,
			   COALESCE(sum(r.total_input), 0) AS total_input, COALESCE(sum(r.fresh_input), 0) AS fresh_input,
			   COALESCE(sum(r.carried_input), 0) AS carried_input, COALESCE(sum(v.saved_input), 0) AS saved_input_at_cap,
			   count(r.growth_exponent) AS growth_exponents, avg(r.growth_exponent) AS mean_exponent
		  FROM (SELECT conversation_id, min(workflow) AS workflow, (min(started_at) AT TIME ZONE 'UTC')::date AS day,
					   tokacct.context_growth(seq, input_tokens, output_tokens)
						   FILTER (WHERE input_tokens IS NOT NULL AND output_tokens IS NOT NULL) AS st,
					   count(*) FILTER (WHERE input_tokens IS NULL OR output_tokens IS NULL) AS left_out
				  FROM %I.%I WHERE trace_id IS NOT NULL GROUP BY conversation_id) g
		  LEFT JOIN LATERAL tokacct.context_report(g.st) r ON true
		  LEFT JOIN LATERAL tokacct.context_savings(g.st, 32768) v ON true
		 GROUP BY 1, 2$q$, a.view_schema, a.view_prefix || 'conversations')
	  INTO direct FROM tokacct.attachment a WHERE a.source = src;
	EXECUTE format('SELECT (SELECT count(*) FROM (SELECT day, workflow, conversations, calls, calls_left_out, total_input,
			fresh_input, carried_input, saved_input_at_cap, growth_exponents FROM (%1$s) x EXCEPT ALL %2$s) d),
		(SELECT count(*) FROM (%2$s EXCEPT ALL SELECT day, workflow, conversations, calls, calls_left_out, total_input,
			fresh_input, carried_input, saved_input_at_cap, growth_exponents FROM (%1$s) x) d),
		(SELECT count(*) FROM (%2$s) d), (SELECT sum(d.conversations) FROM (%2$s) d), (SELECT sum(d.calls) FROM (%2$s) d),
		(SELECT sum(d.carried_input) FROM (%2$s) d),
		(SELECT count(*) FROM (%1$s) x JOIN tokacct.rollup_source_context_daily r ON r.source = %3$L
			AND r.day IS NOT DISTINCT FROM x.day AND r.workflow IS NOT DISTINCT FROM x.workflow
		  WHERE abs(coalesce((r.growth_exponent_sum / NULLIF(r.growth_exponents, 0))::float8 - x.mean_exponent, 0)) > 1e-9)',
		direct, rolled, src)
	  INTO missing, extra, rows, conversations, calls, carried, exponents_apart;
END
$$;
-- The clean items (1 to 40) against the workload's truth: their attempts
-- numbered and priced there, merged per day x workflow.
CREATE VIEW truth_retry AS
SELECT (f.first AT TIME ZONE 'UTC')::date AS day, a.workflow,
	   tokacct.retry_economics(a.attempt, a.succeeded, c.cost)::text AS retry
  FROM wl.attempt a
  JOIN (SELECT i, attempt, sum(cost) AS cost FROM wl.call_truth GROUP BY 1, 2) c USING (i, attempt)
  JOIN (SELECT i, min(started_at) AS first FROM wl.attempt GROUP BY 1) f USING (i)
 GROUP BY 1, 2;
CREATE FUNCTION retry_vs_truth(src text, OUT missing bigint, OUT extra bigint) LANGUAGE sql AS $$
	WITH rolled AS (
		SELECT i.day, i.workflow, tokacct.merge(i.retry)::text AS retry
		  FROM tokacct.rollup_source_item i
		 WHERE i.source = src AND i.item IN (SELECT item_key FROM wl.item)
		 GROUP BY 1, 2)
	SELECT (SELECT count(*) FROM (SELECT * FROM truth_retry EXCEPT SELECT * FROM rolled) d),
		   (SELECT count(*) FROM (SELECT * FROM rolled EXCEPT SELECT * FROM truth_retry) d) $$;

-- ---------------------------------------------------------------------------
-- retry_subtract(a, b): the retry state of a's rows less b's, as
-- retry_economics() of what remains would be (compared as states), when a
-- and b tell it; NULL when b is not a part of a or took a's largest
-- attempt number from the last bucket ("32 and beyond").
-- ---------------------------------------------------------------------------
CREATE FUNCTION rs(rows text) RETURNS tokacct.retry_state LANGUAGE sql
	RETURN (SELECT tokacct.retry_economics(r.a, r.ok, r.c) FROM unnest(rows::text[]) x,
			LATERAL (SELECT split_part(x, ':', 1)::int AS a, split_part(x, ':', 2)::bool AS ok, split_part(x, ':', 3)::numeric AS c) r);
SELECT tokacct.retry_subtract(rs('{1:f:0.1,2:t:0.2,1:t:0.3}'), rs('{1:t:0.3}'))::text
		   = rs('{1:f:0.1,2:t:0.2}')::text AS one_item_out,
	   tokacct.retry_subtract(rs('{1:f:0.1,2:f:0.2,3:t:0.2,1:t:0.3}'), rs('{1:f:0.1,2:f:0.2,3:t:0.2}'))::text
		   = rs('{1:t:0.3}')::text AS trimmed_to_attempt_1,
	   tokacct.retry_subtract(rs('{1:t:0.3}'), rs('{1:t:0.3}'))::text AS nothing_left,
	   tokacct.retry_subtract(rs('{1:t:0.3}'), rs('{1:t:0.4}')) IS NULL AS more_cost_than_a,
	   tokacct.retry_subtract(rs('{1:t:0.3}'), rs('{1:f:0.3}')) IS NULL AS failed_not_in_a,
	   tokacct.retry_subtract(rs('{1:f:0.3}'), rs('{1:f:0.3,2:t:0.1}')) IS NULL AS attempt_not_in_a,
	   tokacct.retry_subtract(rs('{1:t:0.3}'), rs('{1:t:0.1,1:t:0.1}')) IS NULL AS more_attempts_than_a;
-- in the last bucket: a's largest attempt (40) stays when b's is below it,
-- is unknown when b took it
SELECT tokacct.retry_subtract(rs(a40), rs(a35))::text = rs(a40_only)::text AS largest_stays,
	   (tokacct.retry_report(tokacct.retry_subtract(rs(a40), rs(a35)))).max_attempt,
	   tokacct.retry_subtract(rs(a40), rs(a40_only)) IS NULL AS largest_taken
  FROM (SELECT (SELECT array_agg(format('%s:%s:0.01', k, k = 35)) FROM generate_series(1, 35) k)::text AS a35,
			   (SELECT array_agg(format('%s:%s:0.01', k, k = 40)) FROM generate_series(1, 40) k)::text AS a40_only) x,
	   LATERAL (SELECT (x.a35::text[] || x.a40_only::text[])::text AS a40) y;
-- 200 random splits of items into what stays and what goes: given, the
-- difference is retry_economics() of what stays; given unless attempts
-- stay beyond 31 and what goes held the largest.
SELECT count(*) AS splits, count(*) FILTER (WHERE d IS NOT NULL) AS given,
	   count(*) FILTER (WHERE d IS NOT NULL AND d::text <> rs(stay::text)::text) AS wrong,
	   count(*) FILTER (WHERE d IS NULL AND NOT (stay_max > 31 AND go_max >= stay_max)) AS not_given_when_it_should
  FROM (SELECT s.stay, tokacct.retry_subtract(rs((s.stay || s.go)::text), rs(s.go::text)) AS d,
			   s.stay_max, s.go_max
		  FROM (SELECT r, array_agg(v) FILTER (WHERE NOT out) AS stay, array_agg(v) FILTER (WHERE out) AS go,
					   max(n) FILTER (WHERE NOT out) AS stay_max, max(n) FILTER (WHERE out) AS go_max
				  FROM (SELECT r, it, k, n, format('%s:%s:%s', k, k = n AND (r + it) % 3 > 0, round(((r * 31 + it * 7 + k) % 97) / 100.0, 2)) AS v,
							   ((r + it * it) % 5 = 0) AS out
						  FROM generate_series(1, 200) r, generate_series(1, 12) it,
							   LATERAL (SELECT 1 + ((r * 13 + it * 17) % 37) AS n) m, generate_series(1, m.n) k) x
				 GROUP BY r) s
		 WHERE s.stay IS NOT NULL AND s.go IS NOT NULL) t;

-- ---------------------------------------------------------------------------
-- sketch_subtract(a, b): a refresh takes a trace's old contribution out of
-- a day's row with it.  The sketch of a's costs less b's, as the sketch of
-- what remains would be (compared as states), when b's costs lie strictly
-- between a's min and max; NULL when a and b cannot tell it.
-- ---------------------------------------------------------------------------
CREATE FUNCTION sk(costs numeric[]) RETURNS tokacct.sketch_state LANGUAGE sql
	RETURN (SELECT tokacct.cost_sketch(c) FROM unnest(costs) c);
SELECT tokacct.sketch_subtract(sk('{0.1,0.2,0.3,0.5}'), sk('{0.2,0.3}'))::text = sk('{0.1,0.5}')::text AS inside,
	   tokacct.sketch_subtract(sk('{-2,0,0,1,3}'), sk('{0,1}'))::text = sk('{-2,0,3}')::text AS signs_and_zero,
	   tokacct.sketch_subtract(sk('{0.1,0.2,0.3}'), sk('{0.1}')) IS NULL AS holds_the_min,
	   tokacct.sketch_subtract(sk('{0.1,0.2,0.3}'), sk('{0.3}')) IS NULL AS holds_the_max,
	   tokacct.sketch_subtract(sk('{0.1,0.1,0.3}'), sk('{0.1}')) IS NULL AS ties_the_min,
	   tokacct.sketch_subtract(sk('{0.1,0.2,0.3}'), sk('{0.25}')) IS NULL AS not_a_part,
	   tokacct.sketch_subtract(sk('{0.1,0.2,0.3}'), sk('{0.2,0.2}')) IS NULL AS more_than_a_holds,
	   tokacct.sketch_subtract(sk('{0.1,0.2,0.3}'), sk('{0.1,0.2,0.3}')) IS NULL AS everything,
	   tokacct.sketch_subtract(sk('{0.1,0,0.3}'), sk('{0,0}')) IS NULL AS more_zeros_than_a;
-- 300 splits of 40 costs (some repeated, some 0, some negative) into
-- what stays and what goes: whenever the difference is given it is the
-- sketch of what stays, and it is given exactly when what goes lies
-- strictly inside the whole's min and max.
SELECT count(*) AS splits,
	   count(*) FILTER (WHERE d IS NOT NULL) AS given,
	   count(*) FILTER (WHERE d IS NOT NULL AND d::text <> sk(stay)::text) AS wrong,
	   count(*) FILTER (WHERE (d IS NOT NULL) <> inside) AS given_when_it_should_not_or_not_when_it_should
  FROM (SELECT s.stay, s.go, tokacct.sketch_subtract(sk(s.stay || s.go), sk(s.go)) AS d,
			   (SELECT min(x) FROM unnest(s.go) x) > (SELECT min(x) FROM unnest(s.stay) x)
			   AND (SELECT max(x) FROM unnest(s.go) x) < (SELECT max(x) FROM unnest(s.stay) x) AS inside
		  FROM (SELECT r, array_agg(v) FILTER (WHERE NOT out) AS stay, array_agg(v) FILTER (WHERE out) AS go
				  FROM (SELECT r, round(((r * 40 + i) * 7919 % 1009) / 1009.0 * 2 - 0.5, 2) AS v,
							   ((r + i * i) % 7 = 0) AS out
						  FROM generate_series(1, 300) r, generate_series(1, 40) i) x
				 GROUP BY r) s
		 WHERE s.stay IS NOT NULL AND s.go IS NOT NULL) t;

-- ---------------------------------------------------------------------------
-- Bad calls
-- ---------------------------------------------------------------------------
CALL tokacct.rollup_source_create('nosuch');
CALL tokacct.rollup_source_create(NULL);
-- OTLP/JSON documents hold their trace ids inside a document: no key to follow
CALL tokacct.rollup_source_create('wl_otlp');
CALL tokacct.rollup_source_refresh('wl_otel');
CALL tokacct.rollup_source_refresh(NULL);
CALL tokacct.rollup_source_refresh('wl_otel', NULL);
CALL tokacct.rollup_source_drop('wl_otel');
CALL tokacct.rollup_source_drop(NULL);
CALL tokacct.rollup_source_rebuild(NULL);
-- a refresh needs a transaction of its own
CALL tokacct.rollup_source_create('wl_otel');
BEGIN;
INSERT INTO wl.item VALUES (99, 'x', 'x', 1, true);
CALL tokacct.rollup_source_refresh('wl_otel');
ROLLBACK;
BEGIN ISOLATION LEVEL REPEATABLE READ;
CALL tokacct.rollup_source_refresh('wl_otel');
ROLLBACK;
SELECT source, snapshot IS NULL AS never_refreshed, runs FROM tokacct.rollup_source;

-- ---------------------------------------------------------------------------
-- OpenTelemetry spans (no unique index on the span ids: repeated copies
-- collapsed by the view)
-- ---------------------------------------------------------------------------
-- The first refresh counts every trace: 53 attempts of the 40 clean items
-- and 8 items with faults, 172 calls (164 + 8; a call delivered twice is
-- counted once), 5 of them left out of the money (items 41 to 45: bad
-- token counts, an unknown model; item 48's unreadable reported cost is
-- listed as a problem but its call is priced at the list price).
CALL tokacct.rollup_source_refresh('wl_otel');
SELECT runs, last_full, last_traces, last_groups FROM tokacct.rollup_source WHERE source = 'wl_otel';
SELECT * FROM rollup_vs_direct('wl_otel');
SELECT * FROM rollup_vs_truth('wl_otel');
SELECT * FROM retry_vs_direct('wl_otel');
SELECT * FROM waste_vs_direct('wl_otel');
SELECT * FROM context_vs_direct('wl_otel');
SELECT * FROM retry_vs_truth('wl_otel');
SELECT problem, count(*) AS items FROM tokacct.rollup_source_item WHERE source = 'wl_otel' GROUP BY 1 ORDER BY 1;
-- again: nothing new, nothing recomputed, nothing changed
CALL tokacct.rollup_source_refresh('wl_otel');
SELECT runs, last_full, last_traces, last_groups FROM tokacct.rollup_source WHERE source = 'wl_otel';
SELECT * FROM rollup_vs_direct('wl_otel');

-- A late span of an old trace: a copy of item 1's first call, under a span
-- id of its own, a week earlier (2026-02-23).  One trace recomputed, two
-- groups rebuilt (its day, and the new one); one call more, its cost the
-- truth's.
INSERT INTO wl.otel_traces
SELECT "Timestamp" - interval '7 days', "TraceId", 'late000000000001', "ParentSpanId", "TraceState", "SpanName",
	   "SpanKind", "ServiceName", "ResourceAttributes", "ScopeName", "ScopeVersion", "SpanAttributes", "Duration",
	   "StatusCode", "StatusMessage"
  FROM wl.otel_traces WHERE "SpanId" = left(md5('span 1 1 call 1'), 16) LIMIT 1;
CALL tokacct.rollup_source_refresh('wl_otel');
SELECT runs, last_full, last_traces, last_groups FROM tokacct.rollup_source WHERE source = 'wl_otel';
SELECT * FROM rollup_vs_direct('wl_otel');
SELECT day, workflow, model, calls, cost = (SELECT t.cost FROM wl.call_truth t WHERE t.span_id = left(md5('span 1 1 call 1'), 16)) AS truth_cost
  FROM tokacct.rollup_source_daily WHERE source = 'wl_otel' AND day = '2026-02-23';
-- item 1's first attempt now starts on February 23: the item moves there
SELECT * FROM retry_vs_direct('wl_otel');
SELECT * FROM waste_vs_direct('wl_otel');
SELECT * FROM context_vs_direct('wl_otel');
SELECT day FROM tokacct.rollup_source_item WHERE source = 'wl_otel' AND item = 'item-01';

-- A trace whose spans arrive in two transactions: first a call (its trace
-- has no root yet, so no workflow but the service name's), then its root,
-- which names the workflow: the call moves to its workflow's group.
INSERT INTO wl.otel_traces
SELECT "Timestamp", md5('two parts'), 'twopartscall0001', 'twopartsroot0001', "TraceState", "SpanName", "SpanKind",
	   "ServiceName", "ResourceAttributes", "ScopeName", "ScopeVersion", "SpanAttributes", "Duration", "StatusCode", "StatusMessage"
  FROM wl.otel_traces WHERE "SpanId" = left(md5('span 2 1 call 1'), 16) LIMIT 1;
CALL tokacct.rollup_source_refresh('wl_otel');
SELECT * FROM rollup_vs_direct('wl_otel');
SELECT workflow, model, calls FROM tokacct.rollup_source_trace WHERE source = 'wl_otel' AND trace_id = md5('two parts');
INSERT INTO wl.otel_traces
SELECT "Timestamp", md5('two parts'), 'twopartsroot0001', '', "TraceState", "SpanName", "SpanKind",
	   "ServiceName", "ResourceAttributes", "ScopeName", "ScopeVersion", "SpanAttributes", "Duration", "StatusCode", "StatusMessage"
  FROM wl.otel_traces WHERE "SpanId" = left(md5('span 2 1 root'), 16) LIMIT 1;
CALL tokacct.rollup_source_refresh('wl_otel');
SELECT last_traces, last_groups FROM tokacct.rollup_source WHERE source = 'wl_otel';
SELECT * FROM rollup_vs_direct('wl_otel');
SELECT workflow, model, calls FROM tokacct.rollup_source_trace WHERE source = 'wl_otel' AND trace_id = md5('two parts');

-- An update (the output count of item 3's first call, 1000 tokens more at
-- gpt-4o's 10 USD per million: 0.01 more) and a span written in a
-- subtransaction of a committed transaction (the update rolled back in
-- another savepoint counts for nothing).
SELECT sum(cost) AS before FROM tokacct.rollup_source_daily WHERE source = 'wl_otel' \gset
BEGIN;
SAVEPOINT a;
UPDATE wl.otel_traces SET "SpanAttributes" = jsonb_set("SpanAttributes", '{gen_ai.usage.output_tokens}',
	to_jsonb((("SpanAttributes" ->> 'gen_ai.usage.output_tokens')::int + 1000)::text))
 WHERE "SpanId" = left(md5('span 3 1 call 1'), 16);
RELEASE a;
SAVEPOINT b;
UPDATE wl.otel_traces SET "SpanAttributes" = '{}' WHERE "SpanId" = left(md5('span 6 1 call 1'), 16);
ROLLBACK TO b;
COMMIT;
CALL tokacct.rollup_source_refresh('wl_otel');
SELECT last_traces FROM tokacct.rollup_source WHERE source = 'wl_otel';
SELECT * FROM rollup_vs_direct('wl_otel');
SELECT sum(cost) - :before AS added FROM tokacct.rollup_source_daily WHERE source = 'wl_otel';
SELECT * FROM retry_vs_direct('wl_otel');
SELECT * FROM waste_vs_direct('wl_otel');
SELECT * FROM context_vs_direct('wl_otel');

-- A call without a trace id (its trace is NULL in the calls view): counted
-- as a trace of its own, found again when such a span is written.
INSERT INTO wl.otel_traces ("Timestamp", "TraceId", "SpanId", "ParentSpanId", "SpanAttributes", "StatusCode")
SELECT "Timestamp", NULL, 'notrace000000001', '', "SpanAttributes", "StatusCode"
  FROM wl.otel_traces WHERE "SpanId" = left(md5('span 3 1 call 2'), 16) LIMIT 1;
CALL tokacct.rollup_source_refresh('wl_otel');
SELECT * FROM rollup_vs_direct('wl_otel');
SELECT trace_id, workflow, calls FROM tokacct.rollup_source_trace WHERE source = 'wl_otel' AND trace_id IS NULL;
INSERT INTO wl.otel_traces ("Timestamp", "TraceId", "SpanId", "ParentSpanId", "SpanAttributes", "StatusCode")
SELECT "Timestamp", NULL, 'notrace000000002', '', "SpanAttributes", "StatusCode"
  FROM wl.otel_traces WHERE "SpanId" = left(md5('span 3 1 call 2'), 16) LIMIT 1;
CALL tokacct.rollup_source_refresh('wl_otel');
SELECT * FROM rollup_vs_direct('wl_otel');
SELECT trace_id, workflow, calls FROM tokacct.rollup_source_trace WHERE source = 'wl_otel' AND trace_id IS NULL;
DELETE FROM wl.otel_traces WHERE "TraceId" IS NULL;

-- Deleted spans leave no row to see: the late call, the two-part trace and
-- the calls without a trace id stay counted until a rebuild, which counts
-- every trace again.  Against the view: the groups of the late call and
-- of the trace-less calls (no workflow) are rows too many, the two-part
-- trace's group differs (a row missing, a row too many).
DELETE FROM wl.otel_traces WHERE "SpanId" IN ('late000000000001', 'twopartscall0001', 'twopartsroot0001');
CALL tokacct.rollup_source_refresh('wl_otel');
SELECT last_traces FROM tokacct.rollup_source WHERE source = 'wl_otel';
SELECT missing, extra FROM rollup_vs_direct('wl_otel');
CALL tokacct.rollup_source_rebuild('wl_otel');
SELECT runs, last_full, last_traces FROM tokacct.rollup_source WHERE source = 'wl_otel';
SELECT * FROM rollup_vs_direct('wl_otel');
SELECT * FROM retry_vs_direct('wl_otel');
SELECT * FROM waste_vs_direct('wl_otel');
SELECT * FROM context_vs_direct('wl_otel');

-- ---------------------------------------------------------------------------
-- Langfuse: observations, traces and scores are each followed.
-- ---------------------------------------------------------------------------
CALL tokacct.rollup_source_create('wl_lf');
CALL tokacct.rollup_source_create('wl_lf');		-- again: nothing changes
CALL tokacct.rollup_source_refresh('wl_lf');
SELECT runs, last_full, last_traces FROM tokacct.rollup_source WHERE source = 'wl_lf';
SELECT * FROM rollup_vs_direct('wl_lf');
SELECT * FROM rollup_vs_truth('wl_lf');
SELECT * FROM retry_vs_direct('wl_lf');
SELECT * FROM waste_vs_direct('wl_lf');
SELECT * FROM context_vs_direct('wl_lf');
SELECT * FROM retry_vs_truth('wl_lf');
-- a trace renamed (Langfuse's workflow is the trace name): its calls move
UPDATE public.traces SET name = 'renamed_workflow' WHERE id = md5('trace 5 1');
CALL tokacct.rollup_source_refresh('wl_lf');
SELECT last_traces, last_groups FROM tokacct.rollup_source WHERE source = 'wl_lf';
SELECT * FROM rollup_vs_direct('wl_lf');
SELECT workflow, calls FROM tokacct.rollup_source_daily WHERE source = 'wl_lf' AND workflow = 'renamed_workflow';
SELECT * FROM retry_vs_direct('wl_lf');
SELECT * FROM waste_vs_direct('wl_lf');
SELECT * FROM context_vs_direct('wl_lf');
-- Tracked, each of the three tables is stamped; a trace renamed again
-- (a row of traces only) is found by its stamp.
CALL tokacct.rollup_source_track('wl_lf');
SELECT a.attrelid::regclass AS stamped FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid AND c.relkind = 'r'
 WHERE a.attname = 'tokacct_written_xid' AND NOT a.attisdropped ORDER BY 1;
CALL tokacct.rollup_source_refresh('wl_lf');
UPDATE public.traces SET name = 'renamed_again' WHERE id = md5('trace 5 1');
CALL tokacct.rollup_source_refresh('wl_lf');
SELECT last_traces FROM tokacct.rollup_source WHERE source = 'wl_lf';
SELECT workflow, calls FROM tokacct.rollup_source_daily WHERE source = 'wl_lf' AND workflow LIKE 'renamed%';
SELECT * FROM rollup_vs_direct('wl_lf');
CALL tokacct.rollup_source_untrack('wl_lf');

-- ---------------------------------------------------------------------------
-- Retry economics through late attempts.  One table of spans attached twice:
-- rt_time numbers an item's attempts by their start, rt_rec by the number
-- each trace records (app.attempt).  Every call is gpt-4o, 1000 input and
-- 100 output tokens: 0.0025 + 0.001 = 0.0035.  On April 1 (workflow wf):
--   item A: t1 10:00 failed (1 call, 0.0035), t2 11:00 succeeded (2 calls, 0.007)
--   item B: t3 10:30 succeeded (1 call, 0.0035)
--   item C: t5 12:00 succeeded, no call: its agent span's usage (2000 and
--           200 tokens: 0.005 + 0.002 = 0.007) is its cost
-- ---------------------------------------------------------------------------
CREATE TABLE wl.retry_spans ("Timestamp" timestamptz, "TraceId" text, "SpanId" text, "ParentSpanId" text,
	"SpanName" text, "SpanAttributes" jsonb, "StatusCode" text, PRIMARY KEY ("TraceId", "SpanId"));
CREATE FUNCTION rt_attempt(t text, item text, attempt int, at timestamptz, ok bool, calls int) RETURNS void
LANGUAGE sql AS $$
	INSERT INTO wl.retry_spans
	SELECT at, t, t || '-root', '', 'invoke_agent',
		   jsonb_build_object('gen_ai.operation.name', 'invoke_agent', 'gen_ai.workflow.name', 'wf',
							  'app.item_id', item, 'app.attempt', attempt::text)
		   || CASE WHEN calls = 0 THEN jsonb_build_object('gen_ai.provider.name', 'openai', 'gen_ai.request.model', 'gpt-4o',
				   'gen_ai.usage.input_tokens', '2000', 'gen_ai.usage.output_tokens', '200') ELSE '{}' END,
		   CASE WHEN ok THEN 'Ok' ELSE 'Error' END
	UNION ALL
	SELECT at + k * interval '1 second', t, t || '-' || k, t || '-root', 'chat',
		   '{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
			 "gen_ai.usage.input_tokens": "1000", "gen_ai.usage.output_tokens": "100"}', 'Unset'
	  FROM generate_series(1, calls) k $$;
SELECT rt_attempt('t1', 'A', 1, '2026-04-01 10:00+00', false, 1), rt_attempt('t2', 'A', 2, '2026-04-01 11:00+00', true, 2),
	   rt_attempt('t3', 'B', 1, '2026-04-01 10:30+00', true, 1), rt_attempt('t5', 'C', 1, '2026-04-01 12:00+00', true, 0);
SELECT count(*) AS views FROM tokacct.attach_otel('rt_time', 'wl.retry_spans', options => '{"item": "attr:app.item_id"}');
SELECT count(*) AS views FROM tokacct.attach_otel('rt_rec', 'wl.retry_spans',
	options => '{"item": "attr:app.item_id", "attempt": "attr:app.attempt"}');
CALL tokacct.rollup_source_create('rt_time');
CALL tokacct.rollup_source_create('rt_rec');
CALL tokacct.rollup_source_refresh('rt_time');
CALL tokacct.rollup_source_refresh('rt_rec');
-- both: 3 items, 4 attempts, 3 solved, p1 2/3 (A's first attempt failed),
-- 0.021 spent, 0.0035 of it on the failed attempt
SELECT source, month, workflow, items_left_out, items, attempts, solved, round(p1::numeric, 4) AS p1,
	   total_cost, failed_cost FROM tokacct.rollup_source_retry_monthly WHERE source LIKE 'rt%' ORDER BY 1;
SELECT * FROM retry_vs_direct('rt_time');
SELECT * FROM waste_vs_direct('rt_time');
SELECT * FROM context_vs_direct('rt_time');
SELECT * FROM retry_vs_direct('rt_rec');
SELECT * FROM waste_vs_direct('rt_rec');
SELECT * FROM context_vs_direct('rt_rec');
-- Waste, by start: A's runs are t1 then t2, so t1 (failed, tried again)
-- is a failed attempt (0.0035); B and C are essential.  3 runs, 0.021.
SELECT runs, total, essential, failed_attempt, abandoned_branch, waste
  FROM tokacct.rollup_source_waste_monthly WHERE source = 'rt_time';
-- A late attempt of B that started before t3 and failed (t0 09:00, 1 call),
-- recording attempt number 1: by start, B's attempts are t0 (1, failed),
-- t3 (2): 5 attempts, p1 1/3, 0.0245 spent, 0.007 failed.  By the recorded
-- numbers B has two attempts 1: left out, A and C stay (3 attempts, 0.0175).
SELECT rt_attempt('t0', 'B', 1, '2026-04-01 09:00+00', false, 1);
CALL tokacct.rollup_source_refresh('rt_time');
CALL tokacct.rollup_source_refresh('rt_rec');
SELECT source, last_traces FROM tokacct.rollup_source WHERE source LIKE 'rt%' ORDER BY 1;
SELECT source, items_left_out, items, attempts, solved, round(p1::numeric, 4) AS p1, total_cost, failed_cost
  FROM tokacct.rollup_source_retry_monthly WHERE source LIKE 'rt%' ORDER BY 1;
SELECT source, item, attempts, problem FROM tokacct.rollup_source_item WHERE source LIKE 'rt%' ORDER BY 1, 2;
SELECT * FROM retry_vs_direct('rt_time');
SELECT * FROM waste_vs_direct('rt_time');
SELECT * FROM context_vs_direct('rt_time');
SELECT * FROM retry_vs_direct('rt_rec');
SELECT * FROM waste_vs_direct('rt_rec');
SELECT * FROM context_vs_direct('rt_rec');
-- B's run is now t0's (its first trace): t0 a failed attempt too (0.007
-- in all), 0.0245 classified in 3 runs; t3's run is gone.
SELECT runs, total, essential, failed_attempt, abandoned_branch, waste
  FROM tokacct.rollup_source_waste_monthly WHERE source = 'rt_time';
SELECT run_id, item FROM tokacct.rollup_source_waste WHERE source = 'rt_time' ORDER BY run_id;
-- An attempt of A after its success (t4 13:00, failed, recorded 3): A is
-- left out of both.  By start: B and C, 3 attempts, p1 1/2, 0.014; by the
-- recorded numbers: C alone, 1 attempt, 0.007.
SELECT rt_attempt('t4', 'A', 3, '2026-04-01 13:00+00', false, 1);
CALL tokacct.rollup_source_refresh('rt_time');
CALL tokacct.rollup_source_refresh('rt_rec');
SELECT source, items_left_out, items, attempts, solved, round(p1::numeric, 4) AS p1, total_cost, failed_cost
  FROM tokacct.rollup_source_retry_monthly WHERE source LIKE 'rt%' ORDER BY 1;
SELECT source, item, attempts, problem FROM tokacct.rollup_source_item WHERE source LIKE 'rt%' ORDER BY 1, 2;
SELECT * FROM retry_vs_direct('rt_time');
SELECT * FROM waste_vs_direct('rt_time');
SELECT * FROM context_vs_direct('rt_time');
SELECT * FROM retry_vs_direct('rt_rec');
SELECT * FROM waste_vs_direct('rt_rec');
SELECT * FROM context_vs_direct('rt_rec');
-- t4 failed and was not tried again: an abandoned branch (0.0035)
SELECT runs, total, essential, failed_attempt, abandoned_branch, waste
  FROM tokacct.rollup_source_waste_monthly WHERE source = 'rt_time';
-- t4 deleted: a refresh does not see it (deleted rows leave no row), a
-- rebuild does: back to the figures before it.
DELETE FROM wl.retry_spans WHERE "TraceId" = 't4';
CALL tokacct.rollup_source_rebuild('rt_time');
CALL tokacct.rollup_source_rebuild('rt_rec');
SELECT source, items_left_out, items, attempts, total_cost
  FROM tokacct.rollup_source_retry_monthly WHERE source LIKE 'rt%' ORDER BY 1;
SELECT * FROM retry_vs_direct('rt_time');
SELECT * FROM waste_vs_direct('rt_time');
SELECT * FROM context_vs_direct('rt_time');
SELECT * FROM retry_vs_direct('rt_rec');
SELECT * FROM waste_vs_direct('rt_rec');
SELECT * FROM context_vs_direct('rt_rec');
-- A conversation across two traces (gen_ai.conversation.id "conv-1"): u1's
-- call at 10:00 (1000 input, 100 output tokens), u2's at 10:05 (1500,
-- 100): the second carries min(1500, 1000 + 100) = 1100 tokens, 1400 of
-- the 2500 are fresh.  Then a late call of u1 at 10:10 (2000, 100): it
-- carries min(2000, 1500 + 100) = 1600; the refresh recomputes u1 alone
-- but reads u2's call again for the conversation: 2700 carried of 4500.
INSERT INTO wl.retry_spans
SELECT at, t, t || '-' || k, '', 'chat',
	   jsonb_build_object('gen_ai.operation.name', 'chat', 'gen_ai.provider.name', 'openai', 'gen_ai.request.model', 'gpt-4o',
						  'gen_ai.conversation.id', 'conv-1', 'gen_ai.usage.input_tokens', input::text, 'gen_ai.usage.output_tokens', '100'),
	   'Unset'
  FROM (VALUES ('u1', 1, '2026-04-02 10:00+00'::timestamptz, 1000), ('u2', 1, '2026-04-02 10:05+00', 1500)) v(t, k, at, input);
CALL tokacct.rollup_source_refresh('rt_time');
SELECT conversation_id, day, calls, total_input, fresh_input, carried_input
  FROM tokacct.rollup_source_conversation WHERE source = 'rt_time' AND conversation_id = 'conv-1';
INSERT INTO wl.retry_spans VALUES ('2026-04-02 10:10+00', 'u1', 'u1-2', '', 'chat',
	'{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
	  "gen_ai.conversation.id": "conv-1", "gen_ai.usage.input_tokens": "2000", "gen_ai.usage.output_tokens": "100"}', 'Unset');
CALL tokacct.rollup_source_refresh('rt_time');
SELECT last_traces FROM tokacct.rollup_source WHERE source = 'rt_time';
SELECT conversation_id, day, calls, total_input, fresh_input, carried_input
  FROM tokacct.rollup_source_conversation WHERE source = 'rt_time' AND conversation_id = 'conv-1';
-- (the other conversations, one per trace of workflow wf: t2's two calls
-- carry 1000 tokens)
SELECT month, workflow, conversations, calls, total_input, carried_input, round(carried_share::numeric, 4) AS carried_share
  FROM tokacct.rollup_source_context_monthly WHERE source = 'rt_time' ORDER BY workflow;
SELECT * FROM context_vs_direct('rt_time');
SELECT * FROM retry_vs_direct('rt_time');
SELECT * FROM waste_vs_direct('rt_time');
-- C's cost came from its agent span, as the attempts view says
SELECT a.cost AS attempts_view, r.cost AS rollup FROM rt_time.attempts a
  JOIN tokacct.rollup_source_attempt r ON r.source = 'rt_time' AND r.trace_id = a.trace_id WHERE a.trace_id = 't5';
-- An attempt whose cost is more than a retry state keeps exactly in one
-- value (9223372.036854775807 USD; retry_economics() raises on it): item
-- E's one attempt, ten calls each reporting 999999 USD.  The refresh
-- leaves the item out and says why (it failed, and every later refresh
-- with it); its calls are in the daily rows all the same.
SELECT rt_attempt('t7', 'E', 1, '2026-04-01 14:00+00', true, 10);
UPDATE wl.retry_spans SET "SpanAttributes" = "SpanAttributes" || '{"gen_ai.usage.cost.amount": "999999"}'
 WHERE "TraceId" = 't7' AND "SpanName" = 'chat';
CALL tokacct.rollup_source_refresh('rt_time');
SELECT item, attempts, retry IS NULL AS no_state, problem FROM tokacct.rollup_source_item
 WHERE source = 'rt_time' AND item = 'E';
SELECT items_left_out, items, attempts, total_cost FROM tokacct.rollup_source_retry_monthly WHERE source = 'rt_time';
SELECT * FROM rollup_vs_direct('rt_time');
SELECT * FROM retry_vs_direct('rt_time');
-- Two copies of a span with different content (a table without a unique
-- key; the problems view lists them): the views keep one copy, but the
-- calls and spans views take each trace's start and root status, and so
-- number its attempts, from every stored copy (the traces view), while
-- the attempts view takes them from the kept copy.  The rollup counts as
-- the calls and spans views do.  Item A's t1 (10:00, failed) and t2
-- (11:00, succeeded), and an earlier copy of t2's root (09:00, failed):
-- the attempts view has t1 then t2, t2 succeeded; the calls view, and the
-- rollup, t2 (09:00, failed: 0.007) then t1 (failed: 0.0035), item A
-- counted unsolved after two attempts.  Documented in the README; the two
-- agree without such copies.
CREATE TABLE wl.retry_dup AS SELECT * FROM wl.retry_spans WHERE "TraceId" IN ('t1', 't2');
SELECT count(*) AS views FROM tokacct.attach_otel('rt_dup', 'wl.retry_dup', options => '{"item": "attr:app.item_id"}');
CALL tokacct.rollup_source_create('rt_dup');
INSERT INTO wl.retry_dup SELECT '2026-04-01 09:00+00', "TraceId", "SpanId", "ParentSpanId", "SpanName", "SpanAttributes", 'Error'
  FROM wl.retry_dup WHERE "SpanId" = 't2-root';
CALL tokacct.rollup_source_refresh('rt_dup');
SELECT trace_id, attempt, started_at, succeeded FROM rt_dup.attempts ORDER BY attempt;
SELECT DISTINCT trace_id, attempt FROM rt_dup.calls ORDER BY attempt;
SELECT trace_id, started_at, succeeded FROM tokacct.rollup_source_attempt WHERE source = 'rt_dup' ORDER BY started_at;
SELECT item, attempts, retry, problem FROM tokacct.rollup_source_item WHERE source = 'rt_dup';
SELECT reason FROM rt_dup.problems;
CALL tokacct.rollup_source_drop('rt_dup');
SELECT count(*) AS views FROM tokacct.detach('rt_dup');
-- Calls of one conversation in two traces with the same start time and
-- span id: numbered by trace id after the start and the span id, in the
-- conversations view as in the rollup, so every reading agrees.  A's call
-- (1000 in, 10 out) comes first; B's (5000 in) carries min(5000, 1000 +
-- 10) = 1010 tokens (B first, it would be min(1000, 5000 + 10) = 1000).  A
-- later call of B in another conversation recomputes C: still 1010.
CREATE TABLE wl.tie_spans (LIKE wl.retry_spans);
INSERT INTO wl.tie_spans
SELECT '2026-03-01 10:00+00', t, 'x', '', 'chat',
	   jsonb_build_object('gen_ai.operation.name', 'chat', 'gen_ai.provider.name', 'openai', 'gen_ai.request.model', 'gpt-4o',
						  'gen_ai.conversation.id', 'C', 'gen_ai.usage.input_tokens', input::text, 'gen_ai.usage.output_tokens', '10'),
	   'Unset'
  FROM (VALUES ('B', 5000), ('A', 1000)) v(t, input);
SELECT count(*) AS views FROM tokacct.attach_otel('rt_tie', 'wl.tie_spans');
CALL tokacct.rollup_source_create('rt_tie');
CALL tokacct.rollup_source_refresh('rt_tie');
SELECT trace_id, seq, input_tokens FROM rt_tie.conversations ORDER BY seq;
SELECT calls, total_input, carried_input FROM tokacct.rollup_source_conversation WHERE source = 'rt_tie';
INSERT INTO wl.tie_spans VALUES ('2026-03-05 10:00+00', 'B', 'y', '', 'chat',
	'{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
	  "gen_ai.conversation.id": "D", "gen_ai.usage.input_tokens": "1", "gen_ai.usage.output_tokens": "1"}', 'Unset');
CALL tokacct.rollup_source_refresh('rt_tie');
SELECT conversation_id, calls, total_input, carried_input FROM tokacct.rollup_source_conversation
 WHERE source = 'rt_tie' ORDER BY 1;
CALL tokacct.rollup_source_drop('rt_tie');
SELECT count(*) AS views FROM tokacct.detach('rt_tie');
-- A source whose usage is on agent spans only (no LLM call span): its
-- traces are stored as attempts and runs, so a refresh with nothing new is
-- not taken for the first after a restore (it was a full run every time),
-- and a full run counts every trace it recomputed, calls or not.
CREATE TABLE wl.agent_only (LIKE wl.retry_spans);
INSERT INTO wl.agent_only
SELECT '2026-03-02 10:00+00'::timestamptz + g * interval '1 hour', 'ag' || g, 'root', '', 'invoke_agent',
	   jsonb_build_object('gen_ai.operation.name', 'invoke_agent', 'gen_ai.provider.name', 'openai', 'gen_ai.request.model', 'gpt-4o',
						  'gen_ai.usage.input_tokens', '1000', 'gen_ai.usage.output_tokens', '100', 'app.item_id', 'ticket-' || g), 'Ok'
  FROM generate_series(1, 3) g;
SELECT count(*) AS views FROM tokacct.attach_otel('rt_agent', 'wl.agent_only', options => '{"item": "attr:app.item_id"}');
CALL tokacct.rollup_source_create('rt_agent');
CALL tokacct.rollup_source_refresh('rt_agent');
SELECT last_full, last_traces FROM tokacct.rollup_source WHERE source = 'rt_agent';
CALL tokacct.rollup_source_refresh('rt_agent');
SELECT last_full, last_traces FROM tokacct.rollup_source WHERE source = 'rt_agent';
INSERT INTO wl.agent_only VALUES ('2026-03-03 10:00+00', 'ag4', 'root', '', 'invoke_agent',
	'{"gen_ai.operation.name": "invoke_agent", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
	  "gen_ai.usage.input_tokens": "1000", "gen_ai.usage.output_tokens": "100", "app.item_id": "ticket-4"}', 'Ok');
CALL tokacct.rollup_source_refresh('rt_agent');
SELECT last_full, last_traces FROM tokacct.rollup_source WHERE source = 'rt_agent';
SELECT sum(items) AS items FROM tokacct.rollup_source_retry WHERE source = 'rt_agent';
CALL tokacct.rollup_source_drop('rt_agent');
SELECT count(*) AS views FROM tokacct.detach('rt_agent');
-- Names and ids longer than an index key can hold (hex digits: no
-- compression shortens them).  A 4,000-byte model, workflow and
-- conversation id are kept shortened (their first 60 characters, their
-- length and their md5), every token and cost counted; a trace whose id
-- has 500 bytes is left out, and the refresh says so.  ln1 and ln2: 2 calls
-- of 1,000 input tokens in the rollup; the long trace's call is not.
CREATE TABLE wl.long_names (LIKE wl.retry_spans);
CREATE FUNCTION pg_temp.hex(n int) RETURNS text LANGUAGE sql
	RETURN (SELECT left(string_agg(md5(n::text || ':' || g), ''), n) FROM generate_series(1, n / 32 + 1) g);
INSERT INTO wl.long_names VALUES ('2026-03-02 10:00+00', 'ln1', 'c1', '', 'chat',
	'{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
	  "gen_ai.usage.input_tokens": "1000", "gen_ai.usage.output_tokens": "100"}', 'Unset');
SELECT count(*) AS views FROM tokacct.attach_otel('rt_long', 'wl.long_names',
	options => '{"workflow": "attr:app.workflow"}');
CALL tokacct.rollup_source_create('rt_long');
CALL tokacct.rollup_source_refresh('rt_long');
INSERT INTO wl.long_names VALUES ('2026-03-02 11:00+00', 'ln2', 'c1', '', 'chat',
	jsonb_build_object('gen_ai.operation.name', 'chat', 'gen_ai.provider.name', 'openai',
		'gen_ai.request.model', pg_temp.hex(4000), 'app.workflow', pg_temp.hex(4001),
		'gen_ai.conversation.id', pg_temp.hex(4002),
		'gen_ai.usage.input_tokens', '1000', 'gen_ai.usage.output_tokens', '100'), 'Unset'),
	('2026-03-02 12:00+00', pg_temp.hex(500), 'c1', '', 'chat',
	'{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
	  "gen_ai.usage.input_tokens": "1000", "gen_ai.usage.output_tokens": "100"}', 'Unset');
SET client_min_messages = notice;
CALL tokacct.rollup_source_refresh('rt_long');
SELECT left(workflow, 8) AS workflow, octet_length(workflow) AS wf_bytes, left(model, 8) AS model,
	   model = left(pg_temp.hex(4000), 60) || ' ... (4000 bytes, md5 ' || md5(pg_temp.hex(4000)) || ')' AS model_kept,
	   calls, input_tokens
  FROM tokacct.rollup_source_daily WHERE source = 'rt_long' ORDER BY 2, 1;
SELECT left(conversation_id, 8) AS conversation, octet_length(conversation_id) AS bytes, calls, total_input
  FROM tokacct.rollup_source_conversation WHERE source = 'rt_long' ORDER BY 2;
-- a rebuild: the same rows, the long trace left out again
CALL tokacct.rollup_source_rebuild('rt_long');
SET client_min_messages = warning;
SELECT sum(calls) AS calls, sum(input_tokens) AS input_tokens, max(octet_length(model)) AS longest_model
  FROM tokacct.rollup_source_daily WHERE source = 'rt_long';
SELECT count(*) AS calls_in_view FROM rt_long.calls;
CALL tokacct.rollup_source_drop('rt_long');
SELECT count(*) AS views FROM tokacct.detach('rt_long');
-- Spans without a trace id that carry an item key: the attempts view
-- takes them as one attempt (of item B here: t3's spans, their trace id
-- taken away), as the daily rows take their calls as one trace; the retry
-- rollup leaves them out (an attempt is a trace; README), so it equals the
-- attempts view without them (retry_vs_direct leaves them out too).
CREATE TABLE wl.retry_notrace AS SELECT * FROM wl.retry_spans WHERE "TraceId" IN ('t1', 't2');
INSERT INTO wl.retry_notrace SELECT "Timestamp", NULL, "SpanId", "ParentSpanId", "SpanName", "SpanAttributes", "StatusCode"
  FROM wl.retry_spans WHERE "TraceId" = 't3';
SELECT count(*) AS views FROM tokacct.attach_otel('rt_notrace', 'wl.retry_notrace', options => '{"item": "attr:app.item_id"}');
CALL tokacct.rollup_source_create('rt_notrace');
CALL tokacct.rollup_source_refresh('rt_notrace');
SELECT trace_id, item, attempt, succeeded, cost FROM rt_notrace.attempts ORDER BY trace_id COLLATE "C";
SELECT item, attempts, problem FROM tokacct.rollup_source_item WHERE source = 'rt_notrace' ORDER BY item;
SELECT * FROM retry_vs_direct('rt_notrace');
CALL tokacct.rollup_source_drop('rt_notrace');
SELECT count(*) AS views FROM tokacct.detach('rt_notrace');
CALL tokacct.rollup_source_drop('rt_time');
CALL tokacct.rollup_source_drop('rt_rec');
SELECT count(*) AS rows_left FROM tokacct.rollup_source_attempt WHERE source LIKE 'rt%';

-- ---------------------------------------------------------------------------
-- A refresh reads only the traces it recomputes: after one late span in a
-- source of 3,000 traces, the refresh scans the table once (the xmin scan
-- that finds the touched trace, reading the trace key only) and reaches the
-- trace's rows by the trace id index; recomputing the trace through a
-- second scan of the whole table (as when the calls view numbered every
-- attempt of the source to find one trace's workflow) would be two scans.
-- ---------------------------------------------------------------------------
CREATE TABLE wl.big_spans ("Timestamp" timestamptz, "TraceId" text, "SpanId" text, "ParentSpanId" text,
	"SpanName" text, "SpanAttributes" jsonb, "StatusCode" text, PRIMARY KEY ("TraceId", "SpanId"));
INSERT INTO wl.big_spans
SELECT '2026-03-01 00:00+00'::timestamptz + g * interval '1 minute' + k * interval '1 second',
	   'bt' || g, 'bs' || g || '-' || k, CASE WHEN k > 0 THEN 'bs' || g || '-0' ELSE '' END,
	   CASE WHEN k = 0 THEN 'invoke_agent' ELSE 'chat' END,
	   CASE WHEN k = 0 THEN jsonb_build_object('gen_ai.operation.name', 'invoke_agent', 'gen_ai.workflow.name', 'wf' || g % 3)
			ELSE jsonb_build_object('gen_ai.operation.name', 'chat', 'gen_ai.provider.name', 'openai',
				 'gen_ai.request.model', 'gpt-4o', 'gen_ai.usage.input_tokens', '1000',
				 'gen_ai.usage.output_tokens', '100') END,
	   'Unset'
  FROM generate_series(1, 3000) g, generate_series(0, 4) k;
ANALYZE wl.big_spans;
SELECT count(*) AS views FROM tokacct.attach_otel('big', 'wl.big_spans');
CALL tokacct.rollup_source_create('big');
CALL tokacct.rollup_source_refresh('big');
INSERT INTO wl.big_spans VALUES ('2026-03-01 00:17:09+00', 'bt17', 'bs17-late', 'bs17-0', 'chat',
	'{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": "2000", "gen_ai.usage.output_tokens": "100"}', 'Unset');
SELECT pg_stat_force_next_flush();
SELECT seq_scan AS seq0 FROM pg_stat_user_tables WHERE relid = 'wl.big_spans'::regclass \gset
SELECT seq_tup_read + coalesce(idx_tup_fetch, 0) AS runs0 FROM pg_stat_user_tables
 WHERE relid = 'tokacct.rollup_source_waste'::regclass \gset
CALL tokacct.rollup_source_refresh('big');
SELECT pg_stat_force_next_flush();
SELECT seq_scan - :seq0 AS table_scans FROM pg_stat_user_tables WHERE relid = 'wl.big_spans'::regclass;
-- nor the rollup's own runs whole: the old run of bt17 is found by its key
-- (not every run of the 3,000 read again)
SELECT seq_tup_read + coalesce(idx_tup_fetch, 0) - :runs0 < 10 AS few_runs_read FROM pg_stat_user_tables
 WHERE relid = 'tokacct.rollup_source_waste'::regclass;
-- Trace bt17 recomputed alone, one group rebuilt.  Its group (March 1,
-- workflow wf2 = 17 % 3): traces 2, 5, ..., 1439 (480; trace g starts g
-- minutes after midnight), 4 calls each of 1000 input and 100 output tokens
-- at gpt-4o's 2.50 / 10 USD per million (0.0035 a call), plus the late call
-- (2000 and 100: 0.006): 1,921 calls, 1,922,000 input tokens,
-- 1920 x 0.0035 + 0.006 = 6.726.
SELECT last_full, last_traces, last_groups FROM tokacct.rollup_source WHERE source = 'big';
SELECT workflow, traces, calls, input_tokens, cost FROM tokacct.rollup_source_daily
 WHERE source = 'big' AND workflow = 'wf2' AND day = '2026-03-01';
SELECT * FROM rollup_vs_direct('big');
-- Calls whose start time is infinite (in the calls view, left out of the
-- money: no usable start time) fall on the days infinity and -infinity, as
-- the direct aggregate puts them; a refresh does not fail on them.  Traces
-- bt18 (wf0) and bt19 (wf1) recomputed; four groups rebuilt (their March 1
-- rows and the two infinite days), one trace, one call, 1000 input tokens
-- and no money each.
INSERT INTO wl.big_spans VALUES
	('infinity', 'bt18', 'bs18-inf', 'bs18-0', 'chat',
	 '{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": "1000", "gen_ai.usage.output_tokens": "100"}', 'Unset'),
	('-infinity', 'bt19', 'bs19-inf', 'bs19-0', 'chat',
	 '{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": "1000", "gen_ai.usage.output_tokens": "100"}', 'Unset');
CALL tokacct.rollup_source_refresh('big');
SELECT last_full, last_traces, last_groups FROM tokacct.rollup_source WHERE source = 'big';
SELECT day, workflow, traces, calls, calls_left_out, input_tokens, cost FROM tokacct.rollup_source_daily
 WHERE source = 'big' AND NOT isfinite(day) ORDER BY day;
SELECT * FROM rollup_vs_direct('big');
-- waste_agg() refuses a span without a finite start time: the runs of
-- bt18 and bt19 are left out of the waste rollup, counted, and say why
SELECT run_id, total IS NULL AS no_classes, problem FROM tokacct.rollup_source_waste
 WHERE source = 'big' AND problem IS NOT NULL ORDER BY run_id;
SELECT sum(runs) AS runs, sum(runs_left_out) AS runs_left_out FROM tokacct.rollup_source_waste_daily WHERE source = 'big';
-- A source table without an index on the trace id: recomputing trace by
-- trace would read the whole table once per trace, so the refresh reads
-- the touched traces in one pass.  20 traces touched: the table is scanned
-- four times (the xmin scan, the calls view's spans and traces, the spans
-- view for their waste), not twice per trace; the rollup is the big
-- source's (same rows).
CREATE TABLE wl.noidx AS SELECT * FROM wl.big_spans;
ANALYZE wl.noidx;
SELECT count(*) AS views FROM tokacct.attach_otel('noidx', 'wl.noidx');
CALL tokacct.rollup_source_create('noidx');
CALL tokacct.rollup_source_refresh('noidx');
UPDATE wl.noidx SET "StatusCode" = 'Unset' WHERE "TraceId" IN (SELECT 'bt' || g FROM generate_series(100, 2000, 100) g);
SELECT pg_stat_force_next_flush();
SELECT seq_scan AS seq0 FROM pg_stat_user_tables WHERE relid = 'wl.noidx'::regclass \gset
CALL tokacct.rollup_source_refresh('noidx');
SELECT pg_stat_force_next_flush();
SELECT seq_scan - :seq0 AS table_scans FROM pg_stat_user_tables WHERE relid = 'wl.noidx'::regclass;
SELECT last_full, last_traces, last_groups FROM tokacct.rollup_source WHERE source = 'noidx';
SELECT * FROM rollup_vs_direct('noidx');
-- The same 20 traces touched again, one of them (bt300) with parent ids
-- in a cycle (its root made its child's child): waste_agg() refuses the
-- batch, so the runs are classified one by one and bt300's is left out
-- with the error; their spans are read from the table once more for that
-- (five scans), not once per run (24).
UPDATE wl.noidx SET "StatusCode" = 'Unset' WHERE "TraceId" IN (SELECT 'bt' || g FROM generate_series(100, 2000, 100) g);
UPDATE wl.noidx SET "ParentSpanId" = 'bs300-1' WHERE "SpanId" = 'bs300-0';
SELECT pg_stat_force_next_flush();
SELECT seq_scan AS seq0 FROM pg_stat_user_tables WHERE relid = 'wl.noidx'::regclass \gset
CALL tokacct.rollup_source_refresh('noidx');
SELECT pg_stat_force_next_flush();
SELECT seq_scan - :seq0 AS table_scans FROM pg_stat_user_tables WHERE relid = 'wl.noidx'::regclass;
SELECT run_id, problem FROM tokacct.rollup_source_waste WHERE source = 'noidx' AND problem IS NOT NULL ORDER BY run_id COLLATE "C";
SELECT sum(runs) AS runs, sum(runs_left_out) AS runs_left_out FROM tokacct.rollup_source_waste_daily WHERE source = 'noidx';
SELECT * FROM rollup_vs_direct('noidx');
CALL tokacct.rollup_source_drop('noidx');
SELECT count(*) AS views FROM tokacct.detach('noidx');

-- ---------------------------------------------------------------------------
-- Tracking, asked for: rollup_source_track() stamps the rows a source's
-- tables are written by, so that a refresh reads the rows written since
-- the last one by an index, instead of the trace key of every row.
-- ---------------------------------------------------------------------------
CALL tokacct.rollup_source_track('nosuch');
CALL tokacct.rollup_source_track(NULL);
CALL tokacct.rollup_source_track('big');
CALL tokacct.rollup_source_track('big');	-- again: nothing changes
SELECT a.attname, format_type(a.atttypid, a.atttypmod), pg_get_expr(d.adbin, d.adrelid) AS default_value
  FROM pg_attribute a LEFT JOIN pg_attrdef d ON (d.adrelid, d.adnum) = (a.attrelid, a.attnum)
 WHERE a.attrelid = 'wl.big_spans'::regclass AND a.attname LIKE 'tokacct%';
SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'wl.big_spans'::regclass AND NOT tgisinternal;
SELECT indexrelid::regclass FROM pg_index WHERE indrelid = 'wl.big_spans'::regclass ORDER BY 1;
-- Two tracked tables whose names begin alike (more than the 63 bytes of an
-- index name can hold): each gets an index on its stamp.
CREATE TABLE wl.spans_of_the_customer_support_agent_in_the_eu_region_a (LIKE wl.big_spans INCLUDING INDEXES);
CREATE TABLE wl.spans_of_the_customer_support_agent_in_the_eu_region_b (LIKE wl.big_spans INCLUDING INDEXES);
ALTER TABLE wl.spans_of_the_customer_support_agent_in_the_eu_region_a DROP COLUMN tokacct_written_xid;
ALTER TABLE wl.spans_of_the_customer_support_agent_in_the_eu_region_b DROP COLUMN tokacct_written_xid;
SELECT count(*) AS views FROM tokacct.attach_otel('eu_a', 'wl.spans_of_the_customer_support_agent_in_the_eu_region_a', prefix => 'eu_a_');
SELECT count(*) AS views FROM tokacct.attach_otel('eu_b', 'wl.spans_of_the_customer_support_agent_in_the_eu_region_b', prefix => 'eu_b_');
CALL tokacct.rollup_source_create('eu_a');
CALL tokacct.rollup_source_create('eu_b');
CALL tokacct.rollup_source_track('eu_a');
CALL tokacct.rollup_source_track('eu_b');
SELECT c.relname, count(*) AS stamp_indexes
  FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
 WHERE c.relname LIKE 'spans\_of\_the\_customer%' AND a.attname = 'tokacct_written_xid'
 GROUP BY 1 ORDER BY 1;
CALL tokacct.rollup_source_drop('eu_a');
CALL tokacct.rollup_source_drop('eu_b');
SELECT count(*) AS views FROM tokacct.detach('eu_a');
SELECT count(*) AS views FROM tokacct.detach('eu_b');
DROP TABLE wl.spans_of_the_customer_support_agent_in_the_eu_region_a, wl.spans_of_the_customer_support_agent_in_the_eu_region_b;
SELECT tracked_xmax IS NOT NULL AS tracked FROM tokacct.rollup_source WHERE source = 'big';
-- The rows there have no stamp; a row inserted, or updated, is stamped
-- with its transaction whatever it says.
INSERT INTO wl.big_spans ("Timestamp", "TraceId", "SpanId", "ParentSpanId", "SpanName", "SpanAttributes", "StatusCode", tokacct_written_xid)
VALUES ('2026-03-01 00:20:09+00', 'bt20', 'bs20-late', 'bs20-0', 'chat',
	'{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": "2000", "gen_ai.usage.output_tokens": "100"}',
	'Unset', '1');
SELECT "SpanId", tokacct_written_xid::text::numeric % 4294967296 = xmin::text::numeric AS its_transaction
  FROM wl.big_spans WHERE tokacct_written_xid IS NOT NULL;
SELECT count(*) AS unstamped FROM wl.big_spans WHERE tokacct_written_xid IS NULL;
-- The first refresh after tracking still looks at the unstamped rows'
-- xmin (a row written before the tracking began could be new to it): one
-- scan of the table.  It finds bt20.
SELECT pg_stat_force_next_flush();
SELECT seq_scan AS seq0 FROM pg_stat_user_tables WHERE relid = 'wl.big_spans'::regclass \gset
CALL tokacct.rollup_source_refresh('big');
SELECT pg_stat_force_next_flush();
SELECT seq_scan - :seq0 AS table_scans FROM pg_stat_user_tables WHERE relid = 'wl.big_spans'::regclass;
SELECT last_traces FROM tokacct.rollup_source WHERE source = 'big';
SELECT * FROM rollup_vs_direct('big');
-- From then on a refresh reads the new rows by the stamp's index and the
-- touched traces by the trace id's: no scan of the table.  An update of
-- trace bt21's root (its workflow, wf0 -> wf9) and a late call of bt22.
UPDATE wl.big_spans SET "SpanAttributes" = "SpanAttributes" || '{"gen_ai.workflow.name": "wf9"}' WHERE "SpanId" = 'bs21-0';
INSERT INTO wl.big_spans VALUES ('2026-03-01 00:22:09+00', 'bt22', 'bs22-late', 'bs22-0', 'chat',
	'{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": "2000", "gen_ai.usage.output_tokens": "100"}', 'Unset');
SELECT pg_stat_force_next_flush();
SELECT seq_scan AS seq0 FROM pg_stat_user_tables WHERE relid = 'wl.big_spans'::regclass \gset
CALL tokacct.rollup_source_refresh('big');
SELECT pg_stat_force_next_flush();
SELECT seq_scan - :seq0 AS table_scans FROM pg_stat_user_tables WHERE relid = 'wl.big_spans'::regclass;
SELECT last_traces FROM tokacct.rollup_source WHERE source = 'big';
-- bt21's four calls (0.0035 each) moved to wf9
SELECT workflow, traces, calls, cost FROM tokacct.rollup_source_daily WHERE source = 'big' AND workflow = 'wf9';
SELECT * FROM rollup_vs_direct('big');
-- A trigger disabled by the table's owner would let updates go unstamped:
-- the refresh then goes by xmin again (one scan), and misses nothing.
ALTER TABLE wl.big_spans DISABLE TRIGGER tokacct_written_xid;
UPDATE wl.big_spans SET "SpanAttributes" = "SpanAttributes" || '{"gen_ai.workflow.name": "wf8"}' WHERE "SpanId" = 'bs23-0';
SELECT pg_stat_force_next_flush();
SELECT seq_scan AS seq0 FROM pg_stat_user_tables WHERE relid = 'wl.big_spans'::regclass \gset
CALL tokacct.rollup_source_refresh('big');
SELECT pg_stat_force_next_flush();
SELECT seq_scan - :seq0 AS table_scans FROM pg_stat_user_tables WHERE relid = 'wl.big_spans'::regclass;
SELECT workflow, traces, calls, cost FROM tokacct.rollup_source_daily WHERE source = 'big' AND workflow = 'wf8';
SELECT * FROM rollup_vs_direct('big');
ALTER TABLE wl.big_spans ENABLE ALWAYS TRIGGER tokacct_written_xid;
-- Disabled and enabled again between two refreshes, the trigger left an
-- update unstamped that no refresh saw: tracking again makes the next
-- refresh go by xmin once (one scan), and it finds bt25's move to wf7.
ALTER TABLE wl.big_spans DISABLE TRIGGER tokacct_written_xid;
UPDATE wl.big_spans SET "SpanAttributes" = "SpanAttributes" || '{"gen_ai.workflow.name": "wf7"}' WHERE "SpanId" = 'bs25-0';
ALTER TABLE wl.big_spans ENABLE ALWAYS TRIGGER tokacct_written_xid;
CALL tokacct.rollup_source_track('big');
SELECT pg_stat_force_next_flush();
SELECT seq_scan AS seq0 FROM pg_stat_user_tables WHERE relid = 'wl.big_spans'::regclass \gset
CALL tokacct.rollup_source_refresh('big');
SELECT pg_stat_force_next_flush();
SELECT seq_scan - :seq0 AS table_scans FROM pg_stat_user_tables WHERE relid = 'wl.big_spans'::regclass;
SELECT workflow, traces, calls, cost FROM tokacct.rollup_source_daily WHERE source = 'big' AND workflow = 'wf7';
SELECT * FROM rollup_vs_direct('big');
-- Disabled and enabled again between two refreshes without tracking
-- again: the trigger's catalog row is newer than the last refresh, so the
-- next goes by xmin once (one scan) and finds bt26's move to wf6; the one
-- after goes by the stamps again.
ALTER TABLE wl.big_spans DISABLE TRIGGER tokacct_written_xid;
UPDATE wl.big_spans SET "SpanAttributes" = "SpanAttributes" || '{"gen_ai.workflow.name": "wf6"}' WHERE "SpanId" = 'bs26-0';
ALTER TABLE wl.big_spans ENABLE ALWAYS TRIGGER tokacct_written_xid;
SELECT pg_stat_force_next_flush();
SELECT seq_scan AS seq0 FROM pg_stat_user_tables WHERE relid = 'wl.big_spans'::regclass \gset
CALL tokacct.rollup_source_refresh('big');
SELECT pg_stat_force_next_flush();
SELECT seq_scan - :seq0 AS table_scans FROM pg_stat_user_tables WHERE relid = 'wl.big_spans'::regclass;
SELECT workflow, traces, calls, cost FROM tokacct.rollup_source_daily WHERE source = 'big' AND workflow = 'wf6';
SELECT * FROM rollup_vs_direct('big');
SELECT pg_stat_force_next_flush();
SELECT seq_scan AS seq0 FROM pg_stat_user_tables WHERE relid = 'wl.big_spans'::regclass \gset
CALL tokacct.rollup_source_refresh('big');
SELECT pg_stat_force_next_flush();
SELECT seq_scan - :seq0 AS table_scans FROM pg_stat_user_tables WHERE relid = 'wl.big_spans'::regclass;
-- A column of that name that is not tokacct's is never taken over.
CREATE TABLE wl.clash (LIKE wl.big_spans);
ALTER TABLE wl.clash DROP COLUMN tokacct_written_xid, ADD COLUMN tokacct_written_xid text;
SELECT count(*) AS views FROM tokacct.attach_otel('clash', 'wl.clash');
CALL tokacct.rollup_source_create('clash');
CALL tokacct.rollup_source_track('clash');
CALL tokacct.rollup_source_drop('clash');
SELECT count(*) AS views FROM tokacct.detach('clash');
-- Nor one of its type (xid8) that the user keeps: tracking refuses it, and
-- untracking a source never tracked drops neither that column nor a
-- trigger of that name of the user's.
CREATE TABLE wl.ownxid ("Timestamp" timestamptz, "TraceId" text, "SpanId" text, "ParentSpanId" text,
	"SpanAttributes" jsonb, tokacct_written_xid xid8, UNIQUE ("TraceId", "SpanId"));
INSERT INTO wl.ownxid VALUES ('2026-01-05', 'O1', 's1', '', '{}', '42');
CREATE FUNCTION wl.noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER tokacct_written_xid BEFORE UPDATE ON wl.ownxid FOR EACH ROW EXECUTE FUNCTION wl.noop();
SELECT count(*) AS views FROM tokacct.attach_otel('ownxid', 'wl.ownxid');
CALL tokacct.rollup_source_create('ownxid');
CALL tokacct.rollup_source_track('ownxid');
DROP TRIGGER tokacct_written_xid ON wl.ownxid;
CALL tokacct.rollup_source_track('ownxid');
CREATE TRIGGER tokacct_written_xid BEFORE UPDATE ON wl.ownxid FOR EACH ROW EXECUTE FUNCTION wl.noop();
CALL tokacct.rollup_source_untrack('ownxid');
SELECT tokacct_written_xid, pg_get_expr(d.adbin, d.adrelid) AS default_value
  FROM wl.ownxid, pg_attribute a LEFT JOIN pg_attrdef d ON (d.adrelid, d.adnum) = (a.attrelid, a.attnum)
 WHERE a.attrelid = 'wl.ownxid'::regclass AND a.attname = 'tokacct_written_xid';
SELECT tgname, tgfoid::regproc FROM pg_trigger WHERE tgrelid = 'wl.ownxid'::regclass AND NOT tgisinternal;
CALL tokacct.rollup_source_drop('ownxid');
SELECT count(*) AS views FROM tokacct.detach('ownxid');
DROP TABLE wl.ownxid;
-- A partitioned table: each partition stamped (a partition created later
-- too); a partition whose trigger is disabled sends the refresh back to
-- xmin, which finds the unstamped update (1 -> 5 USD).
CREATE TABLE wl.parted ("Timestamp" timestamptz, "TraceId" text, "SpanId" text, "ParentSpanId" text, "SpanAttributes" jsonb)
	PARTITION BY RANGE ("Timestamp");
CREATE TABLE wl.parted1 PARTITION OF wl.parted FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
INSERT INTO wl.parted VALUES ('2026-01-05', 'P1', 's1', '', '{"gen_ai.operation.name": "chat", "gen_ai.request.model": "m", "gen_ai.usage.cost.amount": "1", "gen_ai.usage.cost.currency": "USD"}');
SELECT count(*) AS views FROM tokacct.attach_otel('parted', 'wl.parted');
CALL tokacct.rollup_source_create('parted');
CALL tokacct.rollup_source_refresh('parted');
CALL tokacct.rollup_source_track('parted');
CREATE TABLE wl.parted2 PARTITION OF wl.parted FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
SELECT tgrelid::regclass, tgenabled FROM pg_trigger WHERE tgname = 'tokacct_written_xid' AND tgrelid::regclass::text LIKE 'wl.parted%' ORDER BY 1;
INSERT INTO wl.parted VALUES ('2026-02-05', 'P2', 's1', '', '{"gen_ai.operation.name": "chat", "gen_ai.request.model": "m", "gen_ai.usage.cost.amount": "2", "gen_ai.usage.cost.currency": "USD"}');
CALL tokacct.rollup_source_refresh('parted');
ALTER TABLE wl.parted1 DISABLE TRIGGER tokacct_written_xid;
UPDATE wl.parted SET "SpanAttributes" = jsonb_set("SpanAttributes", '{gen_ai.usage.cost.amount}', '"5"') WHERE "TraceId" = 'P1';
CALL tokacct.rollup_source_refresh('parted');
SELECT "TraceId", tokacct_written_xid IS NOT NULL AS stamped FROM wl.parted ORDER BY 1;
SELECT sum(calls) AS calls, sum(cost) AS cost FROM tokacct.rollup_source_daily WHERE source = 'parted';
SELECT * FROM rollup_vs_direct('parted');
-- A table loaded apart (its rows unstamped, written before the last
-- refresh) and then attached as a partition: the refresh after the
-- attaching reads that partition whole and counts P3 (3 USD: P1's 5 and
-- P2's 2 before, 10 after); the next goes by the stamps again.
ALTER TABLE wl.parted1 ENABLE ALWAYS TRIGGER tokacct_written_xid;
CALL tokacct.rollup_source_track('parted');
CREATE TABLE wl.parted3 (LIKE wl.parted);
INSERT INTO wl.parted3 VALUES ('2026-03-05', 'P3', 's1', '', '{"gen_ai.operation.name": "chat", "gen_ai.request.model": "m", "gen_ai.usage.cost.amount": "3", "gen_ai.usage.cost.currency": "USD"}');
CALL tokacct.rollup_source_refresh('parted');
CALL tokacct.rollup_source_refresh('parted');
ALTER TABLE wl.parted ATTACH PARTITION wl.parted3 FOR VALUES FROM ('2026-03-01') TO ('2026-04-01');
CALL tokacct.rollup_source_refresh('parted');
SELECT last_traces, sum(d.calls) AS calls, sum(d.cost) AS cost
  FROM tokacct.rollup_source p JOIN tokacct.rollup_source_daily d USING (source) WHERE source = 'parted' GROUP BY 1;
SELECT * FROM rollup_vs_direct('parted');
CALL tokacct.rollup_source_refresh('parted');
SELECT last_traces FROM tokacct.rollup_source WHERE source = 'parted';
-- Untracked alike (by xmin): P4 (4 USD) loaded apart, a refresh, then
-- attached: 14 USD.  (Attached again while tracked, the source's views
-- collapsing repeated span ids do not read the stamp, which untracking
-- drops.)
SELECT count(*) AS views FROM tokacct.attach_otel('parted', 'wl.parted', options => '{"item": "attr:app.item_id"}');
CALL tokacct.rollup_source_untrack('parted');
SELECT count(*) AS tokacct_columns FROM pg_attribute WHERE attrelid = 'wl.parted'::regclass AND attname LIKE 'tokacct%' AND NOT attisdropped;
CREATE TABLE wl.parted4 (LIKE wl.parted);
INSERT INTO wl.parted4 VALUES ('2026-04-05', 'P4', 's1', '', '{"gen_ai.operation.name": "chat", "gen_ai.request.model": "m", "gen_ai.usage.cost.amount": "4", "gen_ai.usage.cost.currency": "USD"}');
CALL tokacct.rollup_source_refresh('parted');
ALTER TABLE wl.parted ATTACH PARTITION wl.parted4 FOR VALUES FROM ('2026-04-01') TO ('2026-05-01');
CALL tokacct.rollup_source_refresh('parted');
SELECT sum(calls) AS calls, sum(cost) AS cost FROM tokacct.rollup_source_daily WHERE source = 'parted';
SELECT * FROM rollup_vs_direct('parted');
CALL tokacct.rollup_source_drop('parted');
SELECT count(*) AS views FROM tokacct.detach('parted');
-- A table with inheritance children (not partitions): tracking stamps the
-- parent's rows only, so an update of a child's row (I1, 1 -> 5 USD) goes
-- unstamped: the refresh goes by xmin and finds it.  A child added
-- later (INHERIT) with a row written before: read whole (I2, 2 USD).
CREATE TABLE wl.inh ("Timestamp" timestamptz, "TraceId" text, "SpanId" text, "ParentSpanId" text, "SpanAttributes" jsonb);
CREATE TABLE wl.inh1 () INHERITS (wl.inh);
INSERT INTO wl.inh1 VALUES ('2026-01-05', 'I1', 's1', '', '{"gen_ai.operation.name": "chat", "gen_ai.request.model": "m", "gen_ai.usage.cost.amount": "1", "gen_ai.usage.cost.currency": "USD"}');
SELECT count(*) AS views FROM tokacct.attach_otel('inh', 'wl.inh');
CALL tokacct.rollup_source_create('inh');
CALL tokacct.rollup_source_refresh('inh');
CALL tokacct.rollup_source_track('inh');
CALL tokacct.rollup_source_refresh('inh');
CALL tokacct.rollup_source_refresh('inh');
UPDATE wl.inh1 SET "SpanAttributes" = jsonb_set("SpanAttributes", '{gen_ai.usage.cost.amount}', '"5"');
CALL tokacct.rollup_source_refresh('inh');
SELECT sum(calls) AS calls, sum(cost) AS cost FROM tokacct.rollup_source_daily WHERE source = 'inh';
CREATE TABLE wl.inh2 (LIKE wl.inh);
INSERT INTO wl.inh2 VALUES ('2026-01-06', 'I2', 's1', '', '{"gen_ai.operation.name": "chat", "gen_ai.request.model": "m", "gen_ai.usage.cost.amount": "2", "gen_ai.usage.cost.currency": "USD"}');
CALL tokacct.rollup_source_refresh('inh');
ALTER TABLE wl.inh2 INHERIT wl.inh;
CALL tokacct.rollup_source_refresh('inh');
SELECT sum(calls) AS calls, sum(cost) AS cost FROM tokacct.rollup_source_daily WHERE source = 'inh';
SELECT * FROM rollup_vs_direct('inh');
CALL tokacct.rollup_source_untrack('inh');
CALL tokacct.rollup_source_drop('inh');
SELECT count(*) AS views FROM tokacct.detach('inh');
-- Untracking takes the column, its index and the trigger away; refreshes
-- go by xmin again.
CALL tokacct.rollup_source_untrack('big');
SELECT count(*) AS tokacct_columns FROM pg_attribute WHERE attrelid = 'wl.big_spans'::regclass AND attname LIKE 'tokacct%' AND NOT attisdropped;
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'wl.big_spans'::regclass AND NOT tgisinternal;
SELECT indexrelid::regclass FROM pg_index WHERE indrelid = 'wl.big_spans'::regclass ORDER BY 1;
INSERT INTO wl.big_spans VALUES ('2026-03-01 00:24:09+00', 'bt24', 'bs24-late', 'bs24-0', 'chat',
	'{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": "2000", "gen_ai.usage.output_tokens": "100"}', 'Unset');
CALL tokacct.rollup_source_refresh('big');
SELECT tracked_xmax IS NULL AS untracked, last_traces FROM tokacct.rollup_source WHERE source = 'big';
SELECT * FROM rollup_vs_direct('big');
CALL tokacct.rollup_source_drop('big');
SELECT count(*) AS views FROM tokacct.detach('big');

-- Trace ids and names in columns of a nondeterministic collation (here
-- case-insensitive): the views read them as the bytes they are, as the
-- rollup keys them, so traces "abc" and "ABC" are two traces and services
-- "Support" and "support" two workflows, in the views and in the rollup
-- alike.  A root span of trace ABC arrives late and names its workflow;
-- its refresh recomputes ABC alone (read under the column's collation, ABC
-- was abc too: the refresh counted the calls of abc twice).  gpt-4o, 1000
-- input and 100 output tokens a call: 0.0035.
CREATE COLLATION wl.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE wl.ci_spans ("Timestamp" timestamptz, "TraceId" text COLLATE wl.ci, "SpanId" text,
	"ParentSpanId" text, "ServiceName" text COLLATE wl.ci, "SpanAttributes" jsonb);
INSERT INTO wl.ci_spans
SELECT '2026-03-02 10:00+00', t, 's-' || t, 'root', s, '{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
	"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": "1000", "gen_ai.usage.output_tokens": "100"}'
  FROM (VALUES ('abc', 'Support'), ('ABC', 'support')) v(t, s);
SELECT count(*) AS views FROM tokacct.attach_otel('ci', 'wl.ci_spans');
CALL tokacct.rollup_source_create('ci');
CALL tokacct.rollup_source_refresh('ci');
SELECT trace_id, workflow, calls, cost FROM tokacct.rollup_source_trace WHERE source = 'ci' ORDER BY trace_id COLLATE "C";
SELECT * FROM rollup_vs_direct('ci');
INSERT INTO wl.ci_spans VALUES ('2026-03-02 09:59+00', 'ABC', 'root', '', 'support',
	'{"gen_ai.operation.name": "invoke_agent", "gen_ai.workflow.name": "triage"}');
CALL tokacct.rollup_source_refresh('ci');
SELECT last_traces, last_groups FROM tokacct.rollup_source WHERE source = 'ci';
SELECT trace_id, workflow, calls, cost FROM tokacct.rollup_source_trace WHERE source = 'ci' ORDER BY trace_id COLLATE "C";
SELECT * FROM rollup_vs_direct('ci');
SELECT trace_id, workflow, root_spans FROM ci.traces ORDER BY trace_id COLLATE "C";
-- Attached again with other options (the workflow is now the service:
-- trace ABC's calls move from triage to support) and no row written: the
-- views count otherwise, so the next refresh counts every trace (it found
-- nothing touched and left the rollup as the old views had it); attached
-- again with the same options, nothing is recomputed.
SELECT count(*) AS views FROM tokacct.attach_otel('ci', 'wl.ci_spans', options => '{"workflow": "service"}');
CALL tokacct.rollup_source_refresh('ci');
SELECT last_full, last_traces FROM tokacct.rollup_source WHERE source = 'ci';
SELECT trace_id, workflow, calls, cost FROM tokacct.rollup_source_trace WHERE source = 'ci' ORDER BY trace_id COLLATE "C";
SELECT * FROM rollup_vs_direct('ci');
SELECT count(*) AS views FROM tokacct.attach_otel('ci', 'wl.ci_spans', options => '{"workflow": "service"}');
CALL tokacct.rollup_source_refresh('ci');
SELECT last_full, last_traces FROM tokacct.rollup_source WHERE source = 'ci';
-- A source attached before the traces view existed (here: its traces view
-- dropped and forgotten) is recomputed from its calls view alone: a root
-- span of trace abc arrives, served by Billing, and moves abc's call from
-- Support to Billing.
DROP VIEW ci.traces;
UPDATE tokacct.attachment SET views = array_remove(views, 'ci.traces') WHERE source = 'ci';
INSERT INTO wl.ci_spans VALUES ('2026-03-02 09:59+00', 'abc', 'root', '', 'Billing', '{"gen_ai.operation.name": "invoke_agent"}');
CALL tokacct.rollup_source_refresh('ci');
SELECT last_full, last_traces FROM tokacct.rollup_source WHERE source = 'ci';
SELECT trace_id, workflow, calls, cost FROM tokacct.rollup_source_trace WHERE source = 'ci' ORDER BY trace_id COLLATE "C";
SELECT * FROM rollup_vs_direct('ci');
-- a view dropped from under the rollup: the refresh says which is missing
DROP VIEW ci.calls CASCADE;
CALL tokacct.rollup_source_refresh('ci');
CALL tokacct.rollup_source_drop('ci');
SELECT count(*) AS views FROM tokacct.detach('ci');

-- ---------------------------------------------------------------------------
-- A refresh whose traces include the calls without a trace id computes each
-- conversation it touches from every trace of it: c2's late call joins c1's
-- conversation "conv" in the transaction that writes a call without a trace
-- id.  The conversation then holds both calls (1000 + 1500 input tokens,
-- the second carrying min(1500, 1000 + 100) = 1100).  (Found by
-- test/t/rollup_source_random.sh: a NULL among the traces recomputed kept
-- the conversations' other traces from being read, leaving c2's call alone.)
-- ---------------------------------------------------------------------------
CREATE TABLE wl.conv_spans ("Timestamp" timestamptz, "TraceId" text, "SpanId" text, "ParentSpanId" text,
	"SpanName" text, "SpanAttributes" jsonb, "StatusCode" text);
INSERT INTO wl.conv_spans VALUES
	('2026-03-02 10:00+00', 'c1', 'c1-0', '', 'invoke_agent', '{"gen_ai.operation.name": "invoke_agent", "gen_ai.workflow.name": "wf"}', 'Ok'),
	('2026-03-02 10:00:01+00', 'c1', 'c1-1', 'c1-0', 'chat', '{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
	  "gen_ai.conversation.id": "conv", "gen_ai.usage.input_tokens": "1000", "gen_ai.usage.output_tokens": "100"}', 'Unset'),
	('2026-03-02 11:00+00', 'c2', 'c2-0', '', 'invoke_agent', '{"gen_ai.operation.name": "invoke_agent", "gen_ai.workflow.name": "wf"}', 'Ok');
SELECT count(*) AS views FROM tokacct.attach_otel('conv_nt', 'wl.conv_spans');
CALL tokacct.rollup_source_create('conv_nt');
CALL tokacct.rollup_source_refresh('conv_nt');
INSERT INTO wl.conv_spans VALUES
	('2026-03-02 11:00:01+00', 'c2', 'c2-1', 'c2-0', 'chat', '{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
	  "gen_ai.conversation.id": "conv", "gen_ai.usage.input_tokens": "1500", "gen_ai.usage.output_tokens": "100"}', 'Unset'),
	('2026-03-02 12:00+00', NULL, 'nt-1', '', 'chat', '{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
	  "gen_ai.usage.input_tokens": "10", "gen_ai.usage.output_tokens": "1"}', 'Unset');
CALL tokacct.rollup_source_refresh('conv_nt');
SELECT conversation_id, calls, total_input, carried_input
  FROM tokacct.rollup_source_conversation WHERE source = 'conv_nt' AND conversation_id = 'conv';
SELECT * FROM context_vs_direct('conv_nt');
CALL tokacct.rollup_source_drop('conv_nt');
SELECT count(*) AS views FROM tokacct.detach('conv_nt');

-- ---------------------------------------------------------------------------
-- A month from the rollups: the monthly view's money equals the direct
-- aggregate exactly; its p95 is the p95 of the sketch of the month's calls
-- taken directly (merging day sketches loses nothing), within 1% of
-- percentile_cont.  The unknown model's one call has no cost: 0 money, no
-- quantile.
-- ---------------------------------------------------------------------------
SELECT m.source, m.workflow, m.model, m.calls, m.cost = d.cost AS cost_exact, m.list_cost = d.list_cost AS list_exact,
	   m.p95_cost IS NOT DISTINCT FROM d.p95 AS p95_as_direct,
	   coalesce(abs(m.p95_cost - d.exact_p95) <= 0.01 * d.exact_p95, m.p95_cost IS NULL) AS p95_within_1pct
  FROM tokacct.rollup_source_monthly m
  JOIN (SELECT 'wl_otel' AS source, date_trunc('month', started_at AT TIME ZONE 'UTC')::date AS month, workflow, model,
			   coalesce(sum(cost), 0) AS cost, coalesce(sum(list_cost), 0) AS list_cost,
			   tokacct.cost_quantile(tokacct.cost_sketch(cost), 0.95) AS p95,
			   percentile_cont(0.95) WITHIN GROUP (ORDER BY cost::float8) AS exact_p95
		  FROM wl_otel.calls GROUP BY 2, 3, 4) d
	ON (d.source, d.month, d.workflow, d.model) = (m.source, m.month, m.workflow, m.model)
 ORDER BY 1, 2, 3;

-- The rollup of a detached source cannot be refreshed; dropping it removes
-- its rows.
SELECT count(*) FROM tokacct.detach('wl_lf');
CALL tokacct.rollup_source_refresh('wl_lf');
CALL tokacct.rollup_source_drop('wl_lf');
SELECT source, count(*) FROM tokacct.rollup_source_daily GROUP BY 1;
SELECT count(*) FROM tokacct.rollup_source_trace WHERE source = 'wl_lf';
CALL tokacct.rollup_source_drop('wl_lf');

\c :regress_db
DROP DATABASE tokacct_rollup_source;
