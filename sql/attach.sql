-- Attaching trace tables that already exist: OpenTelemetry spans in the
-- Collector's ClickHouse layout, OTLP/JSON documents, and Langfuse v2's own
-- tables.  One workload (test/sql/attach_workload.sql: 40 items, 53
-- attempts, 164 calls, plus rows with faults) is landed all three ways; each
-- landing is attached with one call, and every figure is compared with the
-- workload's own truth tables (costs computed there from the prices below
-- with plain numeric arithmetic, not with tokacct.cost) and across sources.
--
-- The suite runs in a database of its own (Langfuse's DDL fills schema
-- public with 39 tables).
\set regress_db :DBNAME
CREATE DATABASE tokacct_attach;
\c tokacct_attach
SET client_min_messages = warning;
CREATE EXTENSION tokacct;
RESET client_min_messages;
\getenv shared SHARED_DATA
-- errors show their message, detail and hint (not the PL/pgSQL call stack)
\set SHOW_CONTEXT never
\set ECHO none
\o /dev/null
\set langfuse_ddl :shared '/langfuse-v2/schema.sql'
\i :langfuse_ddl
SET search_path = public;
\set workload :shared '/../test/sql/attach_workload.sql'
\i :workload
\o
\set ECHO all

-- The prices (per million tokens) the workload's truth also uses.
INSERT INTO tokacct.price_provider (catalog, provider, ordinal) VALUES ('custom', 'openai', 0), ('custom', 'anthropic', 1);
INSERT INTO tokacct.price_model (catalog, provider, model, ordinal, match) VALUES
	('custom', 'openai', 'gpt-4o-mini', 0, '{"equals": "gpt-4o-mini"}'),
	('custom', 'openai', 'gpt-4o', 1, '{"equals": "gpt-4o"}'),
	('custom', 'anthropic', 'claude-sonnet-4', 0, '{"equals": "claude-sonnet-4"}');
INSERT INTO tokacct.price (catalog, provider, model, input_mtok, cache_read_mtok, cache_write_mtok, output_mtok) VALUES
	('custom', 'openai', 'gpt-4o', 2.50, 1.25, NULL, 10.00),
	('custom', 'openai', 'gpt-4o-mini', 0.15, 0.075, NULL, 0.60),
	('custom', 'anthropic', 'claude-sonnet-4', 3.00, 0.30, 3.75, 15.00);
-- invoice_matching calls name the Azure deployment "prod-mini": a model alias
INSERT INTO tokacct.model_alias (provider, model, catalog_provider, catalog_model)
VALUES ('azure.ai.openai', 'prod-mini', 'openai', 'gpt-4o-mini');

-- The workload, as generated.
SELECT count(*) AS items, sum(attempts) AS attempts, count(*) FILTER (WHERE solved) AS solved FROM wl.item;
SELECT kind, status, count(*) FROM wl.span GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(*) AS span_rows FROM wl.otel_traces;
SELECT count(*) AS documents FROM wl.otlp_docs;
SELECT count(*) AS observations FROM public.observations;

-- ---------------------------------------------------------------------------
-- The lenient readers the views use: NULL (or a reason) for what they
-- cannot read, never an error.
-- ---------------------------------------------------------------------------
-- token counts: whole numbers from 0 to a billion, as text
SELECT v, tokacct.attach_int8(v) FROM unnest(ARRAY['1234', ' 1234 ', '1234.0', '1234.', '12.5', '-5', '-0', '+7',
	'', ' ', '12x', 'x', '1e3', '0001', '1000000000', '1000000001', '99999999999999999999', NULL]) v;
-- numbers (reported costs): finite decimals with an exponent of at most 3 digits
SELECT v, tokacct.attach_numeric(v) FROM unnest(ARRAY['0.0123', '1.2e-05', '-3', 'NaN', 'Infinity', '1e1000',
	'abc', '', '.5', '5.', '.', '1e', '+1.5E+2', NULL]) v;
SELECT tokacct.attach_numeric('1e999') = 10::numeric ^ 999 AS three_digit_exponent;
-- why counts cannot be priced: input 100 with 60 read and 50 written from
-- the cache is a contradiction when input includes the cache, 210 tokens
-- when the cache is reported apart
SELECT tokacct.attach_usage_problem('100', '10', '60', '50', NULL, false) AS included,
	   tokacct.attach_usage_problem('100', '10', '60', '50', NULL, true) AS separate,
	   tokacct.attach_usage_problem('100', '10', NULL, NULL, '11', false) AS reasoning,
	   tokacct.attach_usage_problem(NULL, NULL, NULL, NULL, NULL, false) AS no_counts,
	   tokacct.attach_usage_problem(5::bigint, -1, 0, 0, 0, false) AS integers;
SELECT tokacct.attach_input_tokens('100', '60', '50', true) AS apart, tokacct.attach_input_tokens('100', 'x', NULL, true) AS bad_cache,
	   tokacct.attach_input_tokens(NULL, '5', NULL, true) AS no_input;
-- tool arguments: the same arguments hash the same however spelled (a JSON
-- string holding JSON, key order, spacing); md5 of jsonb's text form;
-- text that jsonb would refuse (not JSON, \u0000, nesting beyond 200, huge
-- exponents) is hashed as it is
SELECT tokacct.attach_args_hash('{"b": 1, "a": [1, 2]}'::jsonb) = tokacct.attach_args_hash('"{\"a\":[1,2],\"b\":1}"'::jsonb) AS same,
	   tokacct.attach_args_hash('{"b": 1,  "a":[1,2]}'::text) = md5('{"a": [1, 2], "b": 1}') AS canonical,
	   tokacct.attach_args_hash('not json'::text) = md5('not json') AS text_as_is,
	   tokacct.attach_args_hash('"\u0000"'::text) = md5('"\u0000"') AS nul_as_is,
	   tokacct.attach_args_hash(repeat('[', 300) || repeat(']', 300)) = md5(repeat('[', 300) || repeat(']', 300)) AS deep_as_is,
	   tokacct.attach_args_hash('[1e999999]') = md5('[1e999999]') AS huge_as_is;
-- OTLP/JSON attribute lists; malformed elements skipped
SELECT tokacct.attach_otlp_attributes('[{"key": "a", "value": {"intValue": "12"}}, {"key": "b", "value": {"doubleValue": 1.5}},
	{"key": "c", "value": {"boolValue": true}}, {"key": "d", "value": {"arrayValue": {"values": [{"stringValue": "x"}]}}},
	{"key": 5}, "junk", {"value": {}}, {"key": "e", "value": {"stringValue": null}}]');
SELECT tokacct.attach_otlp_attributes('{"not": "an array"}') AS object, tokacct.attach_otlp_attributes('7') AS scalar;
-- unix nanoseconds (1772438400 s is 2026-03-02 08:00 UTC)
SELECT v, tokacct.attach_unix_nanos(v) FROM unnest(ARRAY['"1772438400000000000"', '1772438400123456789', '"abc"', '"-5"',
	'"99999999999999999999"', 'null', '{}']::jsonb[]) v;
-- status spellings
SELECT s, e, tokacct.attach_status(s, e) FROM (VALUES ('Unset', NULL), ('', NULL), (NULL, NULL), ('Ok', NULL),
	('STATUS_CODE_OK', NULL), ('1', NULL), ('Error', NULL), ('STATUS_CODE_ERROR', '429'), ('2', 'Timeout'),
	('ERROR', '503 Service Unavailable'), ('error', 'cancelled'), ('Unset', 'KeyError'), (NULL, 'x'),
	('DEFAULT', 'warn'), ('WARNING', NULL), ('429', NULL), ('200', NULL), ('Weird', NULL)) t(s, e);
-- attach_status() matches ASCII text by hand and other text with its rules
-- as regular expressions: edges of both paths (white space, digits next to a
-- code, one character or none inside "time out", a character that is not
-- ASCII there)
SELECT s, e, tokacct.attach_status(s, e) FROM (VALUES (E' \tstatus_code_ok\n', NULL), (E'\tUnset\n', ' '),
	('Error', 'x4290'), ('Error', 'a429b'), ('Error', 'Too-Many_Requests'), ('Error', 'too  many requests'),
	('Error', 'time€out'), ('Error', 'time€€out'), ('Error', 'e5000'), ('Error', 'HTTP 502'), ('Error', 'quota€'),
	('é', NULL), ('Unset', 'é'), (' 504 ', NULL), ('2xx', NULL), ('ok€', NULL), ('Cancelled', NULL)) t(s, e);
-- and agrees with the rules written as regular expressions (below, the
-- function's definition before it moved to C) on every pair of a few
-- thousand spellings
CREATE FUNCTION pg_temp.status_by_regex(status text, error_type text) RETURNS text LANGUAGE sql IMMUTABLE
RETURN CASE
	WHEN status ~* '^\s*((status_code_)?(ok|1)|debug|default|warning|info|success)\s*$'
		OR ((status IS NULL OR status ~* '^\s*((status_code_)?(unset|0))?\s*$')
			AND (error_type IS NULL OR error_type ~ '^\s*$'))
		THEN 'ok'
	WHEN status IS NULL OR status ~* '^\s*((status_code_)?(unset|0|error|2)|failed|failure|fatal)?\s*$'
		THEN CASE
			WHEN error_type ~* '(^|\D)429(\D|$)|rate.?limit|too.?many.?requests|quota' THEN 'rate_limited'
			WHEN error_type ~* '(^|\D)(408|504)(\D|$)|time.?out|timed.?out|deadline' THEN 'timeout'
			WHEN error_type ~* '(^|\D)5\d\d(\D|$)|server.?error|overloaded|unavailable' THEN 'server_error'
			WHEN error_type ~* 'cancel' THEN 'discarded'
			ELSE 'error'
		END
	WHEN status ~* '^\s*(rate_limited|rate_limit)\s*$' THEN 'rate_limited'
	WHEN status ~* '^\s*(timeout|timed_out)\s*$' THEN 'timeout'
	WHEN status ~* '^\s*server_error\s*$' THEN 'server_error'
	WHEN status ~* '^\s*(discarded|cancelled|canceled)\s*$' THEN 'discarded'
	WHEN status ~ '^\s*2\d\d\s*$' THEN 'ok'
	WHEN status ~ '^\s*429\s*$' THEN 'rate_limited'
	WHEN status ~ '^\s*(408|504)\s*$' THEN 'timeout'
	WHEN status ~ '^\s*5\d\d\s*$' THEN 'server_error'
	WHEN status ~ '^\s*4\d\d\s*$' THEN 'error'
END;
WITH st AS (SELECT a || b || c AS v
			  FROM unnest(ARRAY['', ' ', E'\t', 'status_code_', 'STATUS_', 'Ok', 'oK', '1', '0', '2', 'unset', 'ERROR', 'Failed',
						'fatal', 'Debug', 'default', 'warning', 'INFO', 'success', 'rate_limit', 'rate_limited', 'TIMEOUT',
						'timed_out', 'server_error', 'discarded', 'canceled', 'cancelled', '2', '4', '5', '9', '20', '42', 'é', 'x']) a,
				   unnest(ARRAY['', ' ', 'ok', '0', '00', '29', '04', 'ed', 'é', E'\n']) b,
				   unnest(ARRAY['', ' ', '€']) c),
	 et AS (SELECT a || b AS v
			  FROM unnest(ARRAY['', ' ', '4', '429', 'x', 'rate', 'RATE', 'time', 'timed', 'too', 'server', 'dead', '5', '50', 'é', 'cancel']) a,
				   unnest(ARRAY['', ' ', '_', '€', '0', '9', 'limit', 'Out', 'many requests', '_many_requests', 'error', 'line',
						'08', '04', '2', 'quota', 'overloaded', 'unavailable', 'CANCEL']) b),
	 pairs AS (SELECT st.v AS s, et.v AS e FROM st, et WHERE (pg_catalog.hashtext(st.v || '|' || et.v) & 15) = 0
			   UNION ALL SELECT NULL, v FROM et UNION ALL SELECT v, NULL FROM st UNION ALL SELECT 'Error', v FROM et
			   UNION ALL SELECT NULL, NULL)
SELECT count(*) > 5000 AS many_pairs, count(DISTINCT tokacct.attach_status(s, e)) AS statuses_seen,
	   count(*) FILTER (WHERE tokacct.attach_status(s, e) IS NULL) > 0 AS unknown_seen,
	   count(*) FILTER (WHERE tokacct.attach_status(s, e) IS DISTINCT FROM pg_temp.status_by_regex(s, e)) AS disagree
  FROM pairs;

-- ---------------------------------------------------------------------------
-- One call per source.
-- ---------------------------------------------------------------------------
SELECT * FROM tokacct.attach_otel('wl_otel', 'wl.otel_traces', options => '{"item": "attr:app.item_id"}');
SELECT * FROM tokacct.attach_otlp_json('wl_otlp', 'wl.otlp_docs', options => '{"item": "attr:app.item_id"}');
SELECT * FROM tokacct.attach_langfuse('wl_lf', 'public',
	options => '{"provider": "metadata:provider", "cache_read": "metadata:usage/cache_read",
				 "cache_write": "metadata:usage/cache_write", "outcome": "score:resolved"}');
SELECT source, kind, relations, view_schema, view_prefix, views FROM tokacct.attachment ORDER BY source;
-- A qual on a view still reaches the traced table's rows: the layer
-- that prices each span is kept a subquery by a fence (each value of a span
-- computed once), not an opaque one (an OFFSET 0 would keep the qual above)
CREATE FUNCTION pg_temp.plan_text(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE l text; r text := ''; BEGIN FOR l IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP r := r || l || E'\n'; END LOOP; RETURN r; END $$;
SELECT v, pg_temp.plan_text(format('SELECT * FROM wl_otel.%s WHERE %s = %L', v, c, 'nope'))
		  ~ '(Cond|Filter): .*"TraceId" = ''nope''' AS qual_reaches_the_rows
  FROM (VALUES ('calls', 'trace_id'), ('spans', 'source_trace_id'), ('problems', 'trace_id')) t(v, c);

-- Views are security_invoker, with plain column types and a comment on
-- every view and column.
SELECT c.relname, c.reloptions FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'wl_otel' ORDER BY 1;
SELECT count(*) AS uncommented FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
 WHERE n.nspname IN ('wl_otel', 'wl_otlp', 'wl_lf')
   AND (obj_description(c.oid, 'pg_class') IS NULL OR col_description(c.oid, a.attnum) IS NULL);
SELECT DISTINCT format_type(a.atttypid, a.atttypmod) AS column_types
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('wl_otel', 'wl_otlp', 'wl_lf') AND a.attnum > 0 ORDER BY 1;

-- ---------------------------------------------------------------------------
-- Calls.  Two hand-worked items (prices per million tokens):
-- item-01, ticket_resolution on claude-sonnet-4 (3 / 0.30 cache read / 3.75
-- cache write / 15), one attempt, three calls, costs reported at list - 10%:
--   call 1: 1037 in (512 written to the cache), 48 out:
--           525 x 3 + 512 x 3.75 + 48 x 15 = 4215 micro-dollars
--   call 2: 1437 in (256 read), 53 out: 1181 x 3 + 256 x 0.3 + 53 x 15 = 4414.8
--   call 3: 1837 in (512 read), 58 out: 1325 x 3 + 512 x 0.3 + 58 x 15 = 4998.6
--   list 0.0136284; reported 0.9 x that = 0.01226556
-- item-03, claims_triage on gpt-4o (2.50 / 1.25 / 10), a billed rate limit
-- first: 1111 in x 2.5 = 2777.5; call 1: 1111 x 2.5 + 54 x 10 = 3317.5;
-- call 2: 1255 x 2.5 + 256 x 1.25 + 59 x 10 = 4047.5; total 0.0101425.
-- ---------------------------------------------------------------------------
SELECT source, item, sum(list_cost) AS list, sum(reported_cost) AS reported, sum(cost) AS cost,
	   string_agg(DISTINCT cost_source, ',') AS cost_sources
  FROM (SELECT * FROM wl_otel.calls UNION ALL SELECT * FROM wl_otlp.calls UNION ALL SELECT * FROM wl_lf.calls) c
 WHERE item IN ('item-01', 'item-03')
 GROUP BY 1, 2 ORDER BY 2, 1;

-- Every call of the 40 clean items, each source against the truth: the same
-- calls, tokens and costs, to the last digit.
SELECT count(*) AS truth_calls, sum(cost) AS truth_cost, sum(list_cost) AS truth_list FROM wl.call_truth;
SELECT s.source, count(*) AS calls, sum(c.cost) = (SELECT sum(cost) FROM wl.call_truth) AS cost_exact,
	   sum(c.list_cost) = (SELECT sum(list_cost) FROM wl.call_truth) AS list_exact,
	   count(c.problem) AS problems
  FROM (VALUES ('wl_otel'), ('wl_otlp'), ('wl_lf')) s(source)
  JOIN LATERAL (SELECT * FROM wl_otel.calls WHERE s.source = 'wl_otel'
				UNION ALL SELECT * FROM wl_otlp.calls WHERE s.source = 'wl_otlp'
				UNION ALL SELECT * FROM wl_lf.calls WHERE s.source = 'wl_lf') c ON true
 WHERE c.item <= 'item-40'
 GROUP BY 1 ORDER BY 1;
CREATE TEMP VIEW all_calls AS
SELECT * FROM wl_otel.calls UNION ALL SELECT * FROM wl_otlp.calls UNION ALL SELECT * FROM wl_lf.calls;
-- call by call: no source differs from the truth in any figure
SELECT c.source, count(*) AS mismatches
  FROM all_calls c JOIN wl.call_truth t ON t.span_id = c.span_id
 WHERE (c.trace_id, c.input_tokens, c.output_tokens, c.cache_read_tokens, c.cache_write_tokens, c.list_cost, c.cost,
		c.status, c.price_model, c.started_at)
	   IS DISTINCT FROM
	   (t.trace_id, t.input, t.output, t.cache_read, t.cache_write, t.list_cost, t.cost,
		t.status, CASE t.model WHEN 'prod-mini' THEN 'gpt-4o-mini' ELSE t.model END, t.started_at)
 GROUP BY 1 ORDER BY 1;
SELECT source, count(*) AS calls_matched FROM all_calls c JOIN wl.call_truth t ON t.span_id = c.span_id
 GROUP BY 1 ORDER BY 1;

-- ---------------------------------------------------------------------------
-- Attempts and items: the same from all three sources and from the truth.
-- The attempts of an item are traces of their own, numbered in time order.
-- ---------------------------------------------------------------------------
CREATE TEMP VIEW all_attempts AS
SELECT * FROM wl_otel.attempts UNION ALL SELECT * FROM wl_otlp.attempts UNION ALL SELECT * FROM wl_lf.attempts;
CREATE TEMP VIEW truth_attempts AS
SELECT a.workflow, a.item_key AS item, a.attempt, a.trace_id, a.succeeded,
	   (SELECT sum(t.cost) FROM wl.call_truth t WHERE t.trace_id = a.trace_id) AS cost,
	   (SELECT count(*) FROM wl.call_truth t WHERE t.trace_id = a.trace_id) AS calls
  FROM wl.attempt a;
SELECT s.source,
	   (SELECT count(*) FROM (SELECT workflow, item, attempt, trace_id, succeeded, cost, calls FROM all_attempts x
							   WHERE x.source = s.source AND x.item <= 'item-40'
							  EXCEPT SELECT * FROM truth_attempts) d) AS not_in_truth,
	   (SELECT count(*) FROM (SELECT * FROM truth_attempts
							  EXCEPT SELECT workflow, item, attempt, trace_id, succeeded, cost, calls FROM all_attempts x
							   WHERE x.source = s.source) d) AS missing
  FROM (VALUES ('wl_otel'), ('wl_otlp'), ('wl_lf')) s(source) ORDER BY 1;
-- The traces view: one row per trace, its workflow and item those of the
-- truth, its times those of the attempt it is (the attempts view computes
-- them over the priced spans, the traces view over the stored rows).
SELECT s.source,
	   (SELECT count(*) FROM (SELECT t.trace_id, t.workflow, t.item FROM (
				SELECT * FROM wl_otel.traces UNION ALL SELECT * FROM wl_otlp.traces UNION ALL SELECT * FROM wl_lf.traces) t
			   WHERE t.source = s.source AND t.item <= 'item-40'
			  EXCEPT SELECT a.trace_id, a.workflow, a.item_key FROM wl.attempt a) d) AS not_in_truth,
	   (SELECT count(*) FROM (SELECT a.trace_id, a.workflow, a.item_key FROM wl.attempt a
			  EXCEPT SELECT t.trace_id, t.workflow, t.item FROM (
				SELECT * FROM wl_otel.traces UNION ALL SELECT * FROM wl_otlp.traces UNION ALL SELECT * FROM wl_lf.traces) t
			   WHERE t.source = s.source) d) AS missing,
	   (SELECT count(*) FROM (SELECT * FROM wl_otel.traces UNION ALL SELECT * FROM wl_otlp.traces UNION ALL SELECT * FROM wl_lf.traces) t
		  JOIN all_attempts x ON x.source = t.source AND x.trace_id = t.trace_id
		 WHERE t.source = s.source
		   AND (t.started_at, t.ended_at) IS DISTINCT FROM (x.started_at, x.ended_at)) AS times_differ,
	   (SELECT count(*) - count(DISTINCT t.trace_id) FROM (SELECT * FROM wl_otel.traces UNION ALL SELECT * FROM wl_otlp.traces
				UNION ALL SELECT * FROM wl_lf.traces) t WHERE t.source = s.source) AS repeated
  FROM (VALUES ('wl_otel'), ('wl_otlp'), ('wl_lf')) s(source) ORDER BY 1;
-- A list of trace ids reaches the span table: no aggregate over every trace.
SELECT pg_temp.plan_text($$SELECT * FROM wl_otel.traces WHERE trace_id = ANY ('{t-1,t-2}')$$)
	   ~ 'Seq Scan on otel_traces[^\n]*\n *Filter: \("TraceId" = ANY' AS list_reaches_table;
-- So does it through the calls view of a source whose repeated span ids are
-- collapsed (wl_otel's table has no unique key): the collapsing reads the
-- listed traces only.
SELECT pg_temp.plan_text($$SELECT * FROM wl_otel.calls WHERE trace_id = ANY ('{t-1,t-2}')$$)
	   ~ 'Unique[^\n]*\n *-> *Sort[^\n]*\n[^\n]*\n *-> *Seq Scan on otel_traces[^\n]*\n *Filter: \(\("TraceId" = ANY' AS list_reaches_collapsed_table;
-- A trace id column of a collation of its own ("C"), with its index: the
-- collapsed views read the trace id in that collation, as the spans view
-- does, and a condition on trace ids reaches that index; the calls are
-- wl_otel's.
CREATE TABLE wl.c_spans (LIKE wl.otel_traces);
ALTER TABLE wl.c_spans ALTER COLUMN "TraceId" TYPE text COLLATE "C";
INSERT INTO wl.c_spans SELECT * FROM wl.otel_traces;
CREATE INDEX ON wl.c_spans ("TraceId");
ANALYZE wl.c_spans;
SELECT count(*) AS views FROM tokacct.attach_otel('wl_c', 'wl.c_spans', options => '{"item": "attr:app.item_id"}');
SELECT c.relname, co.collname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_collation co ON co.oid = a.attcollation
 WHERE c.relnamespace = 'wl_c'::regnamespace AND c.relname IN ('calls', 'spans', 'traces') AND a.attname = 'trace_id' ORDER BY 1;
SELECT (SELECT count(*) FROM (SELECT to_jsonb(c) - 'source' FROM wl_c.calls c
							   EXCEPT ALL SELECT to_jsonb(c) - 'source' FROM wl_otel.calls c) d) AS missing,
	   (SELECT count(*) FROM (SELECT to_jsonb(c) - 'source' FROM wl_otel.calls c
							   EXCEPT ALL SELECT to_jsonb(c) - 'source' FROM wl_c.calls c) d) AS extra,
	   (SELECT count(*) FROM wl_c.calls) AS calls;
SET enable_seqscan = off;
SELECT pg_temp.plan_text($$SELECT * FROM wl_c.calls WHERE trace_id = ANY ('{t-1,t-2}')$$)
	   ~ 'Unique[^\n]*\n *-> *Sort[^\n]*\n[^\n]*\n *-> *(Index|Bitmap Heap) Scan[^\n]*c_spans[^\n]*\n *(Index Cond|Recheck Cond): \("TraceId" = ANY' AS list_reaches_the_index;
RESET enable_seqscan;
SELECT count(*) AS views FROM tokacct.detach('wl_c');
CREATE TEMP VIEW all_items AS
SELECT * FROM wl_otel.items UNION ALL SELECT * FROM wl_otlp.items UNION ALL SELECT * FROM wl_lf.items;
CREATE TEMP VIEW truth_items AS
SELECT it.workflow, it.item_key AS item, it.attempts::bigint, it.solved,
	   (SELECT sum(t.cost) FROM wl.call_truth t WHERE t.i = it.i) AS ai_cost
  FROM wl.item it;
SELECT s.source,
	   (SELECT count(*) FROM (SELECT workflow, item, attempts, solved, ai_cost FROM all_items x
							   WHERE x.source = s.source AND x.item <= 'item-40'
							  EXCEPT SELECT * FROM truth_items) d) AS not_in_truth,
	   (SELECT count(*) FROM (SELECT * FROM truth_items
							  EXCEPT SELECT workflow, item, attempts, solved, ai_cost FROM all_items x
							   WHERE x.source = s.source) d) AS missing
  FROM (VALUES ('wl_otel'), ('wl_otlp'), ('wl_lf')) s(source) ORDER BY 1;
-- per workflow, as a report reads it (every source gives these rows)
SELECT workflow, count(*) AS items, sum(attempts) AS attempts, count(*) FILTER (WHERE solved) AS solved,
	   sum(ai_cost) AS ai_cost, string_agg(DISTINCT option, ',') AS options
  FROM wl_lf.items WHERE item <= 'item-40' GROUP BY 1 ORDER BY 1;
SELECT workflow, count(*) AS items, sum(attempts) AS attempts, count(*) FILTER (WHERE solved) AS solved,
	   sum(ai_cost) AS ai_cost
  FROM truth_items GROUP BY 1 ORDER BY 1;

-- Langfuse scores of the other data types decide the outcome the same way:
-- a NUMERIC "quality" (0.9 for a success, 0.4 for a failure) judged against
-- score_threshold 0.5, a CATEGORICAL "verdict" (pass, fail); the item taken
-- from the trace metadata instead of the session.  Both scores fail item-05,
-- whose agent span did not: the score wins, so item-05 is the one attempt
-- that differs from the truth.
INSERT INTO public.scores (id, "timestamp", name, value, string_value, trace_id, source, project_id, data_type)
SELECT md5('quality ' || a.trace_id), a.started_at AT TIME ZONE 'UTC', 'quality',
	   CASE WHEN a.succeeded AND a.i <> 5 THEN 0.9 ELSE 0.4 END, NULL, a.trace_id,
	   'EVAL'::public."ScoreSource", 'p1', 'NUMERIC'::public."ScoreDataType"
  FROM wl.attempt a
UNION ALL
SELECT md5('verdict ' || a.trace_id), a.started_at AT TIME ZONE 'UTC', 'verdict',
	   NULL, CASE WHEN a.succeeded AND a.i <> 5 THEN 'pass' ELSE 'fail' END, a.trace_id,
	   'ANNOTATION'::public."ScoreSource", 'p1', 'CATEGORICAL'::public."ScoreDataType"
  FROM wl.attempt a;
SELECT count(*) FROM tokacct.attach_langfuse('wl_lf_num', 'public', options => '{"provider": "metadata:provider",
	"item": "trace_metadata:item", "outcome": "score:quality", "score_threshold": 0.5}');
SELECT count(*) FROM tokacct.attach_langfuse('wl_lf_cat', 'public', options => '{"provider": "metadata:provider",
	"outcome": "score:verdict", "success_values": ["pass"]}');
SELECT 'numeric' AS score, item, attempt, succeeded FROM (SELECT workflow, item, attempt, succeeded FROM wl_lf_num.attempts
	 WHERE item <= 'item-40' EXCEPT SELECT workflow, item_key, attempt, succeeded FROM wl.attempt) d
UNION ALL
SELECT 'categorical', item, attempt, succeeded FROM (SELECT workflow, item, attempt, succeeded FROM wl_lf_cat.attempts
	 WHERE item <= 'item-40' EXCEPT SELECT workflow, item_key, attempt, succeeded FROM wl.attempt) d
ORDER BY 1;
SELECT (SELECT count(*) FILTER (WHERE outcome = 'true') FROM wl_lf_num.attempts) AS numeric_passes,
	   (SELECT count(*) FILTER (WHERE outcome = 'pass') FROM wl_lf_cat.attempts) AS categorical_passes;
SELECT count(*) FROM tokacct.detach('wl_lf_num');
SELECT count(*) FROM tokacct.detach('wl_lf_cat');

-- ---------------------------------------------------------------------------
-- Spans and waste.  Each item's attempts are one tree for waste (their
-- traces' roots are siblings), so a failed attempt that was retried is
-- "failed_attempt", not "abandoned_branch"; the repeated lookups (items
-- 1, 11, 16, 26, 31: the second lookup repeats the first's arguments,
-- spelled differently) are duplicate tool calls wherever their attempt did
-- not fail: 5 spans (item 16's first attempt failed and was retried).
-- ---------------------------------------------------------------------------
SELECT source, count(*) AS spans, sum(cost) AS cost, count(*) FILTER (WHERE kind = 'tool') AS tools,
	   count(DISTINCT trace_id) AS runs, count(DISTINCT source_trace_id) AS traces
  FROM (SELECT * FROM wl_otel.spans UNION ALL SELECT * FROM wl_otlp.spans UNION ALL SELECT * FROM wl_lf.spans) s
 WHERE item <= 'item-40' GROUP BY 1 ORDER BY 1;
-- expected classes from the truth: error_call = the billed rate limits;
-- failed_attempt = the other calls of attempts that failed and were retried;
-- abandoned_branch = the other calls of failed last attempts
SELECT a.workflow,
	   sum(t.cost) FILTER (WHERE t.status = 'rate_limited') AS error_call,
	   sum(t.cost) FILTER (WHERE t.status = 'ok' AND NOT a.succeeded AND a.attempt < it.attempts) AS failed_attempt,
	   sum(t.cost) FILTER (WHERE t.status = 'ok' AND NOT a.succeeded AND a.attempt = it.attempts) AS abandoned_branch,
	   sum(t.cost) FILTER (WHERE t.status = 'ok' AND a.succeeded) AS essential
  FROM wl.call_truth t JOIN wl.attempt a USING (trace_id) JOIN wl.item it ON it.i = a.i
 GROUP BY 1 ORDER BY 1;
CREATE TEMP VIEW otel_clean AS SELECT * FROM wl_otel.spans WHERE item <= 'item-40';
CREATE TEMP VIEW otlp_clean AS SELECT * FROM wl_otlp.spans WHERE item <= 'item-40';
CREATE TEMP VIEW lf_clean AS SELECT * FROM wl_lf.spans WHERE item <= 'item-40';
CREATE TEMP TABLE waste_clean AS
SELECT 'wl_otel' AS source, * FROM tokacct.waste_by_workflow('otel_clean')
UNION ALL SELECT 'wl_otlp', * FROM tokacct.waste_by_workflow('otlp_clean')
UNION ALL SELECT 'wl_lf', * FROM tokacct.waste_by_workflow('lf_clean');
DROP VIEW otel_clean, otlp_clean, lf_clean;
-- The spans views carry input_tokens and input_cost, so the classes carry
-- the induced cost: the duplicate tool calls (whose own cost is 0) take the
-- price of the input their results added from the later calls of their
-- attempt, all essential; so essential + duplicate_tool_call + stuck_loop is
-- the truth's essential, and the three sources agree on every figure.
SELECT workflow, error_call, failed_attempt, abandoned_branch, essential, duplicate_tool_call, stuck_loop,
	   essential + duplicate_tool_call + stuck_loop AS essential_before_induced, count(*) AS sources
  FROM waste_clean WHERE workflow IS NOT NULL
 GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1;
SELECT source, count(*) FILTER (WHERE w.class = 'duplicate_tool_call') AS duplicate_tool_calls
  FROM (SELECT 'wl_otel' AS source, tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at, attempt) AS st
		  FROM wl_otel.spans WHERE item <= 'item-40' GROUP BY trace_id
		UNION ALL
		SELECT 'wl_lf', tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at, attempt)
		  FROM wl_lf.spans WHERE item <= 'item-40' GROUP BY trace_id) t,
	   tokacct.waste_span_classes(t.st) w
 GROUP BY 1 ORDER BY 1;
-- the kind comes from gen_ai.operation.name, not the span kind
SELECT kind, count(*) FROM wl_otel.spans WHERE item <= 'item-40' GROUP BY 1 ORDER BY 1;
-- what induced-waste accounting needs: per counted call its order in the
-- trace, its input tokens and its input price per token (gpt-4o: 2.5e-6)
SELECT call_seq, input_tokens, input_price FROM wl_otel.spans
 WHERE source_trace_id = md5('trace 3 1') AND call_seq IS NOT NULL ORDER BY call_seq;

-- ---------------------------------------------------------------------------
-- The first report's answers, each one short query over the views.
-- ---------------------------------------------------------------------------
-- Baselines: what the BPO charges and what a human fix costs.
INSERT INTO tokacct.baseline (workflow, bpo_unit_price, human_cost_per_hour, human_minutes_per_item) VALUES
	('claims_triage', 4.50, 60, 18), ('ticket_resolution', 6.00, 48, 25), ('invoice_matching', 1.20, 36, 10);
-- a price change from 2026-03-02 20:00 (items 12 onwards): the BPO asks 5.00
INSERT INTO tokacct.baseline (workflow, valid_from, bpo_unit_price, human_cost_per_hour, human_minutes_per_item)
VALUES ('claims_triage', '2026-03-02 20:00+00', 5.00, 60, 18);
-- cost per outcome: unsolved items (7, 17, 27, 37) get a human fix: claims
-- triage 60 x 18 / 60 = 18, ticket_resolution 48 x 25 / 60 = 20
SELECT workflow, r.items, r.solved, r.ai_cost, r.human_fix_cost, round(r.total_cost_per_solved, 6) AS all_in_per_solved
  FROM (SELECT workflow, tokacct.cost_per_outcome(ai_cost, solved, human_fix_cost) AS s
		  FROM wl_otel.items WHERE item <= 'item-40' GROUP BY 1) x, tokacct.outcome_report(x.s) r ORDER BY 1;
SELECT item, solved, human_fix_cost, bpo_unit_price, value FROM wl_otel.items
 WHERE item IN ('item-03', 'item-07', 'item-12', 'item-17', 'item-27') ORDER BY item;
-- retry economics over attempts
SELECT workflow, r.items, r.attempts, r.solved, round(r.p1::numeric, 4) AS p1, r.total_cost, r.failed_cost
  FROM (SELECT workflow, tokacct.retry_economics(attempt, succeeded, cost) AS s
		  FROM wl_lf.attempts WHERE item <= 'item-40' GROUP BY 1) x, tokacct.retry_report(x.s) r ORDER BY 1;
-- context growth per conversation (each attempt's calls)
SELECT workflow, sum(r.total_input) AS input_tokens, sum(r.carried_input) AS carried
  FROM (SELECT workflow, conversation_id, tokacct.context_growth(seq, input_tokens, output_tokens) AS s
		  FROM wl_otel.conversations WHERE item <= 'item-40' GROUP BY 1, 2) g,
	   tokacct.context_report(g.s) r
 GROUP BY 1 ORDER BY 1;
SELECT workflow, sum(input) AS truth_input_tokens FROM wl.call_truth JOIN wl.item USING (i) GROUP BY 1 ORDER BY 1;
-- the spread of cost per item
SELECT workflow, tokacct.cost_quantile(tokacct.cost_sketch(ai_cost), 1) = max(ai_cost) AS max_exact
  FROM wl_otlp.items WHERE item <= 'item-40' GROUP BY 1 ORDER BY 1;
-- the frontier: options (models) and the BPO, value from the baseline
SELECT workflow, o.option, round(o.mean_cost, 6) AS mean_cost, round(o.mean_value, 6) AS mean_value, o.on_frontier
  FROM (SELECT workflow, tokacct.utility_frontier(option, ai_cost, value) AS f
		  FROM (SELECT workflow, option, ai_cost, value FROM wl_otel.items WHERE item <= 'item-40'
				UNION ALL SELECT workflow, 'BPO', bpo_unit_price, bpo_unit_price FROM tokacct.baseline
						   WHERE valid_from = '-infinity') r
		 GROUP BY 1) f, tokacct.frontier_options(f.f) o
 ORDER BY 1, o.mean_cost;

-- ---------------------------------------------------------------------------
-- Rows with faults: each listed with its key and reason; the items they
-- touch say so (ai_cost NULL, calls_left_out); no view raises.
-- ---------------------------------------------------------------------------
SELECT level, reason, span_id IS NOT NULL AS has_span FROM wl_otel.problems ORDER BY level, reason;
-- the same rows from OTLP/JSON, key for key
SELECT count(*) AS differ FROM (
	(SELECT level, trace_id, span_id, reason FROM wl_otel.problems EXCEPT SELECT level, trace_id, span_id, reason FROM wl_otlp.problems)
	UNION ALL
	(SELECT level, trace_id, span_id, reason FROM wl_otlp.problems EXCEPT SELECT level, trace_id, span_id, reason FROM wl_otel.problems)) d;
-- keys: the faulty call of item 41 is span md5('bad call 41'), of trace md5('bad 41')
SELECT trace_id = md5('bad 41') AS trace_ok, span_id = left(md5('bad call 41'), 16) AS span_ok
  FROM wl_otel.problems WHERE reason LIKE 'input tokens not a whole number%';
SELECT level, reason FROM wl_lf.problems ORDER BY level, reason;
SELECT item, ai_cost, ai_cost_known, calls, calls_left_out, problem FROM wl_otel.items
 WHERE item > 'item-40' ORDER BY item;
SELECT item, ai_cost, calls, calls_left_out, problem FROM wl_lf.items WHERE item > 'item-40' ORDER BY item;
-- times at the edges: an infinite start (no price in force: left out), a
-- start near the end of time with a duration (no end, never an overflow),
-- both on a model that has an alias
CREATE TABLE wl.edge AS SELECT * FROM wl.otel_traces WHERE "TraceId" = md5('trace 2 1') AND "SpanId" = left(md5('span 2 1 call 1'), 16);
UPDATE wl.edge SET "Timestamp" = 'infinity';
INSERT INTO wl.edge SELECT '294276-12-31 23:00+00', "TraceId", 'late', "ParentSpanId", "TraceState", "SpanName", "SpanKind", "ServiceName",
	"ResourceAttributes", "ScopeName", "ScopeVersion", "SpanAttributes", 7200000000000, "StatusCode", "StatusMessage" FROM wl.edge;
SELECT count(*) FROM tokacct.attach_otel('wl_edge', 'wl.edge');
SELECT span_id = 'late' AS late, started_at, ended_at, price_model, cost, problem FROM wl_edge.calls ORDER BY 1;
SELECT count(*) FROM wl_edge.spans;
SELECT count(*) FROM tokacct.detach('wl_edge');
-- item 48 reported a cost "abc": listed, and priced at the list price
-- (1000 x 2.5 + 100 x 10 = 3500 micro-dollars)
SELECT cost, cost_source, problem FROM wl_otel.calls WHERE item = 'item-48';
-- the identical copy of item 1's call is counted once; of item 2's
-- conflicting copies the longer one (output 40 + 3 x 2 + 5 = 51, not 999) is kept
SELECT item, count(*) AS calls, max(output_tokens) AS max_output FROM wl_otel.calls
 WHERE item IN ('item-01', 'item-02') AND span_id IN (left(md5('span 1 1 call 1'), 16), left(md5('span 2 1 call 1'), 16))
 GROUP BY 1 ORDER BY 1;
SELECT count(*) AS stored_rows FROM wl.otel_traces WHERE "SpanId" IN (left(md5('span 1 1 call 1'), 16), left(md5('span 2 1 call 1'), 16));
-- Copies that differ in kind: every view keeps the same copy (a call over
-- a span that is not, then here the longest).  Trace C's span c1 is stored
-- as a tool span (2 s) and as a chat call with usage (1 s, kept: a call):
-- the calls view lists it, the spans view has it as a call, and the trace
-- costs 1000 x 2.5 + 100 x 10 = 3500 micro-dollars.  Copies that differ in
-- start or status: its root c0 is stored as an ok span from 10:00 (5 s,
-- kept) and as a failed one from 09:00 (0.1 s): the attempts view takes
-- the kept copy's (10:00, succeeded), the traces view every copy's (the
-- earliest start, a failed root: README).
CREATE TABLE wl.copies (LIKE wl.otel_traces);
INSERT INTO wl.copies ("Timestamp", "TraceId", "SpanId", "ParentSpanId", "SpanName", "StatusCode", "Duration", "SpanAttributes")
VALUES ('2026-03-07 10:00+00', 'C', 'c0', '', 'invoke_agent', 'Ok', 5000000000,
		'{"gen_ai.operation.name": "invoke_agent", "app.item_id": "item-c"}'),
	   ('2026-03-07 09:00+00', 'C', 'c0', '', 'invoke_agent', 'Error', 100000000,
		'{"gen_ai.operation.name": "invoke_agent", "app.item_id": "item-c"}'),
	   ('2026-03-07 10:00:01+00', 'C', 'c1', 'c0', 'execute_tool', 'Ok', 2000000000,
		'{"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search"}'),
	   ('2026-03-07 10:00:02+00', 'C', 'c1', 'c0', 'chat', 'Ok', 1000000000, '{"gen_ai.operation.name": "chat",
			"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
			"gen_ai.usage.input_tokens": "1000", "gen_ai.usage.output_tokens": "100"}');
SELECT count(*) FROM tokacct.attach_otel('wl_copies', 'wl.copies', options => '{"item": "attr:app.item_id"}');
SELECT count(*) AS calls FROM wl_copies.calls;
SELECT span_id, kind, status FROM wl_copies.spans ORDER BY 1;
SELECT trace_id, started_at, succeeded FROM wl_copies.traces;
SELECT trace_id, started_at, succeeded, calls, cost FROM wl_copies.attempts;
SELECT count(*) AS conversations FROM wl_copies.conversations;
SELECT reason FROM wl_copies.problems WHERE span_id IS NOT NULL ORDER BY span_id;
SELECT count(*) FROM tokacct.detach('wl_copies');
-- every view of every source answers, faults and all
SELECT count(*) > 0 AS answers FROM wl_otel.spans;
SELECT count(*) > 0 AS answers FROM wl_otlp.conversations;
SELECT count(*) > 0 AS answers FROM wl_lf.attempts;
SELECT workflow, traces, total FROM tokacct.waste_by_workflow('wl_otel.spans') ORDER BY 1;

-- Strict: the same rows are errors, naming the source, trace and span.
SELECT count(*) FROM tokacct.attach_otel('wl_strict', 'wl.otel_traces',
	options => '{"item": "attr:app.item_id", "strict": true}');
SELECT sum(cost) FROM wl_strict.calls WHERE item <= 'item-40';
SELECT sum(cost) FROM wl_strict.calls;
SELECT count(*) FROM tokacct.detach('wl_strict');

-- Usage on agent spans: counted once.  Trace A's agent span repeats the
-- usage of its two calls (2000 + 3000 in, 200 + 300 out); trace B's agent
-- span is the only one with usage (its calls were not instrumented).
-- gpt-4o at 2.50 / 10: A = (2000 + 3000) x 2.5 + (200 + 300) x 10 = 17500
-- micro-dollars, from its calls only; B = 1000 x 2.5 + 100 x 10 = 3500, from
-- its agent span, in attempts, items and spans (calls lists LLM calls).
CREATE TABLE wl.agents (LIKE wl.otel_traces);
INSERT INTO wl.agents ("Timestamp", "TraceId", "SpanId", "ParentSpanId", "SpanName", "StatusCode", "Duration", "SpanAttributes")
VALUES ('2026-03-06 08:00+00', 'A', 'a0', '', 'invoke_agent', 'Ok', 1000, '{"gen_ai.operation.name": "invoke_agent",
			"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
			"gen_ai.usage.input_tokens": "5000", "gen_ai.usage.output_tokens": "500"}'),
	   ('2026-03-06 08:00:01+00', 'A', 'a1', 'a0', 'chat', 'Ok', 1000, '{"gen_ai.operation.name": "chat",
			"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
			"gen_ai.usage.input_tokens": "2000", "gen_ai.usage.output_tokens": "200"}'),
	   ('2026-03-06 08:00:02+00', 'A', 'a2', 'a0', 'chat', 'Ok', 1000, '{"gen_ai.operation.name": "chat",
			"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
			"gen_ai.usage.input_tokens": "3000", "gen_ai.usage.output_tokens": "300"}'),
	   ('2026-03-06 09:00+00', 'B', 'b0', '', 'invoke_agent', 'Ok', 1000, '{"gen_ai.operation.name": "invoke_agent",
			"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
			"gen_ai.usage.input_tokens": "1000", "gen_ai.usage.output_tokens": "100"}');
SELECT count(*) FROM tokacct.attach_otel('wl_agents', 'wl.agents');
SELECT trace_id, count(*) AS calls, sum(cost) AS cost FROM wl_agents.calls GROUP BY 1 ORDER BY 1;
SELECT trace_id, calls, cost FROM wl_agents.attempts ORDER BY 1;
SELECT span_id, kind, cost, call_seq FROM wl_agents.spans ORDER BY 1;
SELECT count(*) FROM tokacct.attach_otel('wl_agents', 'wl.agents', options => '{"agent_usage": "never"}');
SELECT trace_id, calls, cost FROM wl_agents.attempts ORDER BY 1;
SELECT count(*) FROM tokacct.detach('wl_agents');

-- OTLP/JSON as older or other exporters write it: instrumentationLibrarySpans
-- instead of scopeSpans, ids in base64 (16 and 8 bytes), a status code 2
-- with no message, an intValue given as a number; and parts of the wrong
-- shape (a scalar resource, spans that are not objects), skipped.
CREATE TABLE wl.otlp_odd (doc jsonb);
INSERT INTO wl.otlp_odd VALUES ('{"resourceSpans": [7, {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "old"}}]},
	"instrumentationLibrarySpans": [{"spans": ["junk", {"traceId": "AAECAwQFBgcICQoLDA0ODw==", "spanId": "AAECAwQFBgc=",
		"name": "chat", "startTimeUnixNano": 1772438400000000000, "endTimeUnixNano": "1772438401000000000",
		"status": {"code": 2}, "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
		{"key": "gen_ai.provider.name", "value": {"stringValue": "openai"}},
		{"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
		{"key": "gen_ai.usage.input_tokens", "value": {"intValue": 1000}},
		{"key": "gen_ai.usage.output_tokens", "value": {"intValue": "100"}}]}]}]}]}'), ('{"not": "otlp"}'), ('[]');
SELECT count(*) FROM tokacct.attach_otlp_json('wl_odd', 'wl.otlp_odd');
-- ids 00..0f and 00..07 in hex; a failed call billed 1000 x 2.5 + 100 x 10 = 3500 micro-dollars
SELECT trace_id, span_id, status, started_at, ended_at, workflow, cost FROM wl_odd.calls;
SELECT count(*) FROM tokacct.detach('wl_odd');

-- ---------------------------------------------------------------------------
-- Tokens: conventions and the Langfuse bill.
-- ---------------------------------------------------------------------------
-- Langfuse v2 keeps only prompt_tokens and completion_tokens: no column
-- holds cache tokens, and prompt_tokens includes them (the OpenAI SDK's
-- convention, which its integrations pass on).  Priced from those two
-- columns alone, every cached token pays the full input price.  The
-- difference from the truth is exactly, per call, cache reads x (input -
-- cache read price) + cache writes x (input - cache write price): too high
-- on cache reads, too low on anthropic's dearer cache writes.
SELECT count(*) FROM tokacct.attach_langfuse('wl_lf_raw', 'public', options => '{"provider": "metadata:provider"}');
SELECT sum(c.list_cost) - (SELECT sum(list_cost) FROM wl.call_truth) AS overcharge,
	   (SELECT sum((t.cache_read * (p.input - p.cache_read) + t.cache_write * (p.input - p.cache_write)) / 1000000)
		  FROM wl.call_truth t JOIN wl.price p ON p.model = CASE t.model WHEN 'prod-mini' THEN 'gpt-4o-mini' ELSE t.model END)
		 AS expected,
	   round(100 * (sum(c.list_cost) / (SELECT sum(list_cost) FROM wl.call_truth) - 1), 2) AS percent_high
  FROM wl_lf_raw.calls c WHERE c.item <= 'item-40';
-- Langfuse's own calculated cost (kept as estimated_cost, never used) is
-- cache-blind the same way.
SELECT sum(estimated_cost) = sum(list_cost) AS calculated_is_cache_blind FROM wl_lf_raw.calls WHERE item <= 'item-40';
SELECT count(*) FROM tokacct.detach('wl_lf_raw');
-- An instrumentation that reports input without the cache (Anthropic's API
-- convention): the same spans with input_tokens less the cache tokens,
-- attached with cache_tokens = separate, give the same bill.
CREATE VIEW wl.otel_cache_apart AS
SELECT "Timestamp", "TraceId", "SpanId", "ParentSpanId", "SpanName", "ServiceName", "ResourceAttributes", "Duration",
	   "StatusCode", "StatusMessage",
	   CASE WHEN "SpanAttributes" ? 'gen_ai.usage.input_tokens' AND "SpanAttributes" ->> 'gen_ai.usage.input_tokens' ~ '^\d+$'
			THEN jsonb_set("SpanAttributes", '{gen_ai.usage.input_tokens}', to_jsonb((
				("SpanAttributes" ->> 'gen_ai.usage.input_tokens')::bigint
				- coalesce(("SpanAttributes" ->> 'gen_ai.usage.cache_read.input_tokens')::bigint, 0)
				- coalesce(("SpanAttributes" ->> 'gen_ai.usage.cache_creation.input_tokens')::bigint, 0))::text))
			ELSE "SpanAttributes" END AS "SpanAttributes"
  FROM wl.otel_traces;
SELECT count(*) FROM tokacct.attach_otel('wl_apart', 'wl.otel_cache_apart',
	options => '{"item": "attr:app.item_id", "cache_tokens": "separate"}');
SELECT sum(cost) = (SELECT sum(cost) FROM wl.call_truth) AS same_bill,
	   sum(input_tokens) = (SELECT sum(input) FROM wl.call_truth) AS input_includes_cache
  FROM wl_apart.calls WHERE item <= 'item-40';
SELECT count(*) FROM tokacct.detach('wl_apart');
-- cost_basis = list ignores reported costs
SELECT count(*) FROM tokacct.attach_otel('wl_list', 'wl.otel_traces', options => '{"item": "attr:app.item_id", "cost_basis": "list"}');
SELECT sum(cost) = (SELECT sum(list_cost) FROM wl.call_truth) AS list_bill, count(*) FILTER (WHERE cost_source = 'reported') AS reported
  FROM wl_list.calls WHERE item <= 'item-40';
SELECT count(*) FROM tokacct.detach('wl_list');

-- ---------------------------------------------------------------------------
-- Any other layout, by a mapping: the truth's own spans as a flat table,
-- the token counts in a jsonb column, durations in milliseconds.
-- ---------------------------------------------------------------------------
CREATE TABLE wl.flat AS
SELECT s.trace_id AS tid, s.span_id AS sid, s.parent_id AS pid, s.kind, s.name, s.status, s.provider, s.model,
	   s.response_model, jsonb_build_object('in', s.input, 'out', s.output, 'cr', s.cache_read, 'cw', s.cache_write) AS usage,
	   s.reported, s.args_text, s.started_at, s.duration_ns / 1000000.0 AS ms, a.workflow AS wf, a.item_key
  FROM wl.span s JOIN wl.attempt a USING (i, attempt);
ALTER TABLE wl.flat ADD PRIMARY KEY (sid);
SELECT * FROM tokacct.attach('wl_flat', 'wl.flat', '{"trace_id": "tid", "span_id": "sid", "parent_id": "pid",
	"start_time": "started_at", "duration_ms": "ms", "kind": "kind", "name": "name", "status": "status",
	"provider": "provider", "model": "model", "response_model": "response_model",
	"input_tokens": {"column": "usage", "path": "in"}, "output_tokens": {"column": "usage", "path": "out"},
	"cache_read_tokens": {"column": "usage", "path": "cr"}, "cache_write_tokens": {"column": "usage", "path": "cw"},
	"cost": "reported", "tool_arguments": "args_text", "workflow": "wf", "item": "item_key"}');
SELECT (SELECT count(*) FROM (SELECT workflow, item, attempt, trace_id, succeeded, cost, calls FROM wl_flat.attempts
							  EXCEPT SELECT * FROM truth_attempts) d) AS attempts_not_in_truth,
	   (SELECT count(*) FROM (SELECT * FROM truth_attempts EXCEPT
							  SELECT workflow, item, attempt, trace_id, succeeded, cost, calls FROM wl_flat.attempts) d) AS attempts_missing,
	   (SELECT count(*) FROM (SELECT workflow, item, attempts, solved, ai_cost FROM wl_flat.items
							  EXCEPT SELECT * FROM truth_items) d) AS items_not_in_truth,
	   (SELECT count(*) FROM wl_flat.problems) AS problems;
SELECT workflow, error_call, failed_attempt, abandoned_branch, essential + duplicate_tool_call + stuck_loop AS essential_before_induced
  FROM tokacct.waste_by_workflow('wl_flat.spans') ORDER BY 1;
-- without a unique index on the span ids, repeated rows are collapsed
SELECT count(*) FROM tokacct.attach('wl_flat_dup', 'wl.flat', '{"trace_id": "tid", "span_id": "sid", "start_time": "started_at",
	"kind": "kind", "model": "model", "provider": "provider", "input_tokens": {"column": "usage", "path": "in"},
	"output_tokens": {"column": "usage", "path": "out"}}', options => '{"dedup": "always"}');
SELECT count(*) AS calls, sum(list_cost) = (SELECT sum(wl.list_cost(model, input, output, 0, 0)) FROM wl.call_truth) AS cache_blind_exact
  FROM wl_flat_dup.calls;
SELECT count(*) FROM tokacct.detach('wl_flat_dup');
-- mapping errors
SELECT * FROM tokacct.attach('wl_bad', 'wl.flat', '{"trace_id": "tid", "span_id": "sid"}');
SELECT * FROM tokacct.attach('wl_bad', 'wl.flat', '{"trace_id": "tid", "span_id": "sid", "start_time": "started_at", "tokens": "x"}');
SELECT * FROM tokacct.attach('wl_bad', 'wl.flat', '{"trace_id": "tid", "span_id": "sid", "start_time": "started_at", "model": "modell"}');
SELECT * FROM tokacct.attach('wl_bad', 'wl.flat', '{"trace_id": "tid", "span_id": "sid", "start_time": {"column": "usage", "path": "t"}}');
SELECT * FROM tokacct.attach('wl_bad', 'wl.flat', '{"trace_id": "tid", "span_id": "sid", "start_time": "started_at", "input_tokens": {"column": "name", "path": "a"}}');
SELECT * FROM tokacct.attach('wl_bad', 'wl.flat', '{"trace_id": "tid", "span_id": "sid", "start_time": "started_at", "input_tokens": 5}');

-- A system of record decides the outcome: the ticket system says item-05
-- was reopened (not solved) and knows nothing of item-06.
CREATE TABLE wl.ticket (ticket text, state text);
INSERT INTO wl.ticket SELECT item_key, CASE WHEN i = 5 THEN 'reopened' WHEN solved THEN 'resolved' ELSE 'escalated' END
  FROM wl.item WHERE i <> 6;
SELECT * FROM tokacct.attach('wl_flat', 'wl.flat', '{"trace_id": "tid", "span_id": "sid", "parent_id": "pid",
	"start_time": "started_at", "duration_ms": "ms", "kind": "kind", "name": "name", "status": "status",
	"provider": "provider", "model": "model", "response_model": "response_model",
	"input_tokens": {"column": "usage", "path": "in"}, "output_tokens": {"column": "usage", "path": "out"},
	"cache_read_tokens": {"column": "usage", "path": "cr"}, "cache_write_tokens": {"column": "usage", "path": "cw"},
	"cost": "reported", "tool_arguments": "args_text", "workflow": "wf", "item": "item_key"}',
	options => '{"record": {"table": "wl.ticket", "key": "ticket", "outcome": "state"}}');
SELECT item, solved, problem FROM wl_flat.items WHERE item IN ('item-04', 'item-05', 'item-06', 'item-07') ORDER BY item;
SELECT count(*) FILTER (WHERE solved) AS solved FROM wl_flat.items;
SELECT * FROM tokacct.attach('wl_bad', 'wl.flat', '{"trace_id": "tid", "span_id": "sid", "start_time": "started_at"}',
	options => '{"record": {"table": "ticket", "key": "ticket", "outcome": "state"}}');
SELECT * FROM tokacct.attach('wl_bad', 'wl.flat', '{"trace_id": "tid", "span_id": "sid", "start_time": "started_at"}',
	options => '{"record": {"table": "wl.ticket", "key": "ticket"}}');
SELECT count(*) FROM tokacct.detach('wl_flat');

-- ---------------------------------------------------------------------------
-- Aliases.
-- ---------------------------------------------------------------------------
-- Every OpenTelemetry provider name tokacct ships resolves to a provider of
-- the genai-prices catalog (ibm.watsonx.ai: of LiteLLM's).
SELECT a.provider, a.catalog_provider,
	   a.catalog_provider IN (SELECT p ->> 'id' FROM jsonb_array_elements(pg_read_file(:'shared' || '/genai-prices/data.json')::jsonb) p) AS in_genai_prices,
	   a.catalog_provider IN (SELECT DISTINCT lower(v ->> 'litellm_provider')
							   FROM jsonb_each(pg_read_file(:'shared' || '/litellm/model_prices_and_context_window.json')::jsonb) e(k, v)
							  WHERE jsonb_typeof(v) = 'object') AS in_litellm
  FROM tokacct.provider_alias a WHERE a.shipped ORDER BY 1;
-- A deployment repointed on 2026-03-02 22:00: calls before it are priced as
-- gpt-4o-mini, calls after as gpt-4o (item i starts at 08:00 + i hours:
-- invoice_matching's item 11 before, item 14 after).
BEGIN;
UPDATE tokacct.model_alias SET valid_until = '2026-03-02 22:00+00' WHERE model = 'prod-mini';
INSERT INTO tokacct.model_alias (provider, model, valid_from, catalog_provider, catalog_model)
VALUES ('azure.ai.openai', 'prod-mini', '2026-03-02 22:00+00', 'openai', 'gpt-4o');
SELECT item, price_model, count(*) AS calls FROM wl_otel.calls
 WHERE item IN ('item-11', 'item-14') GROUP BY 1, 2 ORDER BY 1;
-- overlapping periods are refused
INSERT INTO tokacct.model_alias (provider, model, valid_from, valid_until, catalog_model)
VALUES ('azure.ai.openai', 'prod-mini', '2026-03-01', '2026-03-03', 'gpt-4o');
ROLLBACK;
-- a gateway's provider name, declared by the admin
INSERT INTO tokacct.provider_alias (provider, catalog_provider) VALUES ('my-gateway', 'openai');
CREATE TABLE wl.gateway AS SELECT * FROM wl.otel_traces WHERE "TraceId" = md5('trace 3 1');
UPDATE wl.gateway SET "SpanAttributes" = jsonb_set("SpanAttributes", '{gen_ai.provider.name}', '"my-gateway"')
 WHERE "SpanAttributes" ? 'gen_ai.provider.name';
SELECT count(*) FROM tokacct.attach_otel('wl_gw', 'wl.gateway');
SELECT provider, price_provider, sum(cost) AS cost FROM wl_gw.calls GROUP BY 1, 2;
SELECT count(*) FROM tokacct.detach('wl_gw');
-- Alias names are folded as cost() folds a call's names (fold_name(): ASCII
-- capitals only, whatever the locale; this database's is C.UTF-8, where
-- lower() folds Ä and Ö too): a gateway and a model named with non-ASCII
-- capitals are declared as such, and the views and price_model_for() agree
-- on every call.  MÖDEL-X folds to mÖdel-x, the alias; mödel-x is another
-- model, which no catalog prices.
INSERT INTO tokacct.provider_alias (provider, catalog_provider) VALUES ('gÄteway', 'openai');
INSERT INTO tokacct.model_alias (provider, model, catalog_provider, catalog_model)
VALUES ('gÄteway', 'mÖdel-x', 'openai', 'gpt-4o-mini');
CREATE TABLE wl.folded AS SELECT * FROM wl.gateway;
UPDATE wl.folded SET "SpanAttributes" = "SpanAttributes" || jsonb_build_object('gen_ai.provider.name', 'GÄTEWAY',
	'gen_ai.response.model', CASE WHEN "SpanId" < 'a' THEN 'MÖDEL-X' ELSE 'mödel-x' END)
 WHERE "SpanAttributes" ? 'gen_ai.provider.name';
SELECT count(*) FROM tokacct.attach_otel('wl_fold', 'wl.folded');
SELECT provider, model, price_provider, price_model, count(*) AS calls, count(cost) AS priced,
	   bool_and(tokacct.price_model_for(provider, model, started_at) IS NOT DISTINCT FROM
				CASE WHEN price_model = 'gpt-4o-mini' THEN 'custom/openai/gpt-4o-mini' END) AS as_cost_resolves
  FROM wl_fold.calls GROUP BY 1, 2, 3, 4 ORDER BY 2;
SELECT count(*) FROM tokacct.detach('wl_fold');
-- a name with an ASCII capital is refused: no call's folded name could match it
INSERT INTO tokacct.provider_alias (provider, catalog_provider) VALUES ('Gateway', 'openai');
INSERT INTO tokacct.model_alias (provider, model, catalog_model) VALUES ('', 'Prod-X', 'gpt-4o');
DELETE FROM tokacct.model_alias WHERE provider = 'gÄteway';
DELETE FROM tokacct.provider_alias WHERE NOT shipped;

-- ---------------------------------------------------------------------------
-- Attaching again, moving, detaching.
-- ---------------------------------------------------------------------------
-- views built on the attached views stop a detach, with a hint
SELECT * FROM tokacct.detach('wl_otel');
DROP VIEW all_calls, all_attempts, all_items;
-- the same call again: nothing changes
SELECT * FROM tokacct.attach_otel('wl_otel', 'wl.otel_traces', options => '{"item": "attr:app.item_id"}');
-- other options: the views are replaced (a view of the user's on them survives)
CREATE VIEW public.my_report AS SELECT workflow, sum(cost) AS cost FROM wl_otel.calls GROUP BY 1;
SELECT * FROM tokacct.attach_otel('wl_otel', 'wl.otel_traces',
	options => '{"item": "attr:app.item_id", "workflow": "const:everything"}');
SELECT * FROM public.my_report;
DROP VIEW public.my_report;
-- into another schema, with a prefix: the old views go
SELECT * FROM tokacct.attach_otel('wl_otel', 'wl.otel_traces', 'public', 'otel_', options => '{"item": "attr:app.item_id"}');
SELECT nspname FROM pg_namespace WHERE nspname = 'wl_otel';
SELECT count(*) AS calls FROM public.otel_calls;
-- a view name taken by something else
CREATE TABLE wl.calls (x int);
SELECT * FROM tokacct.attach_otel('wl_clash', 'wl.otel_traces', 'wl');
DROP TABLE wl.calls;
-- detach drops the views, the schema it made, and the record
SELECT * FROM tokacct.detach('wl_otlp');
SELECT count(*) AS left_behind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'wl_otlp';
SELECT nspname FROM pg_namespace WHERE nspname = 'wl_otlp';
SELECT source FROM tokacct.attachment ORDER BY 1;
SELECT * FROM tokacct.detach('wl_otlp');
SELECT * FROM tokacct.detach('wl_otel');
SELECT count(*) AS views_left FROM pg_class WHERE relname LIKE 'otel\_%' AND relnamespace = 'public'::regnamespace;
-- the traces themselves are untouched
SELECT count(*) AS span_rows FROM wl.otel_traces;

-- ---------------------------------------------------------------------------
-- Bad calls: each an error naming what is wrong.
-- ---------------------------------------------------------------------------
-- a mapping naming a missing column
SELECT * FROM tokacct.attach_otel('wl_bad', 'wl.otel_traces', options => '{"columns": {"trace_id": "trace"}}');
-- a table without the default columns
CREATE TABLE wl.other (ts timestamptz, tid text, sid text, pid text, attrs jsonb);
SELECT * FROM tokacct.attach_otel('wl_bad', 'wl.other');
SELECT * FROM tokacct.attach_otel('wl_bad', 'wl.other',
	options => '{"columns": {"start_time": "ts", "trace_id": "tid", "span_id": "sid", "parent_id": "pid", "attributes": "attrs"}}');
SELECT count(*) FROM tokacct.detach('wl_bad');
-- a column of the wrong kind
SELECT * FROM tokacct.attach_otel('wl_bad', 'wl.other', options => '{"columns": {"start_time": "tid", "trace_id": "tid", "span_id": "sid", "parent_id": "pid", "attributes": "attrs"}}');
-- options
SELECT * FROM tokacct.attach_otel('wl_bad', 'wl.otel_traces', options => '{"itme": "attr:x"}');
SELECT * FROM tokacct.attach_otel('wl_bad', 'wl.otel_traces', options => '{"cache_tokens": "apart"}');
SELECT * FROM tokacct.attach_otel('wl_bad', 'wl.otel_traces', options => '{"item": "nowhere"}');
SELECT * FROM tokacct.attach_otel('wl_bad', 'wl.otel_traces', options => '{"item": 7}');
SELECT * FROM tokacct.attach_otel('wl_bad', 'wl.otel_traces', options => '{"keys": {"input": "x"}}');
SELECT * FROM tokacct.attach_otel('Bad Name', 'wl.otel_traces');
SELECT * FROM tokacct.attach_otel('wl_bad', 'wl.otel_traces', prefix => 'Otel-');
SELECT * FROM tokacct.attach_otel('wl_bad', 'wl.item_no_such_table');
SELECT * FROM tokacct.attach_otel('wl_bad', 'tokacct.cost_breakdown');
SELECT * FROM tokacct.attach_langfuse('wl_bad', 'wl');
SELECT * FROM tokacct.attach_langfuse('wl_bad', 'no_such_schema');
SELECT * FROM tokacct.attach_langfuse('wl_bad', 'public', options => '{"tool_name_pattern": "(("}');
SELECT * FROM tokacct.detach('never_attached');
SELECT * FROM tokacct.attach_otel('wl_bad', 'wl.otel_traces', 'tokacct');
SELECT * FROM tokacct.attach_otel('wl_bad', 'wl.otel_traces', 'pg_catalog');
-- attaching records the source: a role needs tokacct's admin grant; the
-- views are security_invoker, so a reader needs the grant on the traces
CREATE ROLE tokacct_attach_reader;
CREATE ROLE tokacct_attach_admin;
CALL tokacct.grant_reader('tokacct_attach_reader');
CALL tokacct.grant_admin('tokacct_attach_admin');
GRANT USAGE ON SCHEMA wl TO tokacct_attach_reader, tokacct_attach_admin;
GRANT CREATE ON DATABASE tokacct_attach TO tokacct_attach_admin;
SET ROLE tokacct_attach_reader;
SELECT * FROM tokacct.attach_otel('wl_role', 'wl.otel_traces');
RESET ROLE;
SET ROLE tokacct_attach_admin;
SELECT count(*) FROM tokacct.attach_otel('wl_role', 'wl.otel_traces', options => '{"item": "attr:app.item_id"}');
GRANT USAGE ON SCHEMA wl_role TO tokacct_attach_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA wl_role TO tokacct_attach_reader;
RESET ROLE;
SET ROLE tokacct_attach_reader;
SELECT count(*) FROM wl_role.calls;
RESET ROLE;
GRANT SELECT ON wl.otel_traces TO tokacct_attach_reader;
SET ROLE tokacct_attach_reader;
SELECT count(*), sum(cost) FROM wl_role.calls WHERE item <= 'item-40';
SELECT * FROM tokacct.detach('wl_role');
RESET ROLE;
SET ROLE tokacct_attach_admin;
SELECT count(*) FROM tokacct.detach('wl_role');
RESET ROLE;
REVOKE ALL ON wl.otel_traces FROM tokacct_attach_reader;
REVOKE ALL ON SCHEMA wl FROM tokacct_attach_reader, tokacct_attach_admin;
REVOKE ALL ON DATABASE tokacct_attach FROM tokacct_attach_admin;
REVOKE ALL ON ALL TABLES IN SCHEMA tokacct FROM tokacct_attach_reader, tokacct_attach_admin;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA tokacct FROM tokacct_attach_admin;
REVOKE ALL ON SCHEMA tokacct FROM tokacct_attach_reader, tokacct_attach_admin;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA tokacct FROM tokacct_attach_reader, tokacct_attach_admin;
-- grant_reader also granted the views of the sources attached then
DROP OWNED BY tokacct_attach_reader, tokacct_attach_admin;
DROP ROLE tokacct_attach_reader, tokacct_attach_admin;

-- ---------------------------------------------------------------------------
-- Security: only built-in types are read, and enums only through their
-- output function.  The owner of a type may create casts on it; a cast runs
-- with the rights of whoever uses it.
-- ---------------------------------------------------------------------------
CREATE TABLE wl.trojan_log (what text);
CREATE FUNCTION wl.trojan(public."ObservationType") RETURNS text LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO wl.trojan_log VALUES ('cast ran as ' || current_user); RETURN 'GENERATION'; END $$;
CREATE CAST (public."ObservationType" AS text) WITH FUNCTION wl.trojan(public."ObservationType");
-- the cast is live: any "type::text" would run it
SELECT type::text FROM public.observations LIMIT 1;
SELECT count(*) AS trojan_ran FROM wl.trojan_log;
TRUNCATE wl.trojan_log;
-- the Langfuse views never do
SELECT count(*) FROM tokacct.attach_langfuse('wl_lf2', 'public', options => '{"provider": "metadata:provider"}');
SELECT count(*) > 0 AS answered FROM wl_lf2.spans;
SELECT count(*) > 0 AS answered FROM wl_lf2.attempts;
SELECT count(*) > 0 AS answered FROM wl_lf2.problems;
SELECT count(*) AS trojan_ran FROM wl.trojan_log;
SELECT count(*) FROM tokacct.detach('wl_lf2');
DROP CAST (public."ObservationType" AS text);
-- a column of a type created in the database is refused when attaching
CREATE TYPE wl.span_id AS (hi bigint, lo bigint);
CREATE TABLE wl.typed ("Timestamp" timestamptz, "TraceId" text, "SpanId" wl.span_id, "ParentSpanId" text, "SpanAttributes" jsonb);
SELECT * FROM tokacct.attach_otel('wl_bad', 'wl.typed');
CREATE TYPE wl.hexid AS ENUM ('a', 'b');
CREATE TABLE wl.typed2 ("Timestamp" timestamptz, "TraceId" wl.hexid, "SpanId" text, "ParentSpanId" text, "SpanAttributes" jsonb);
SELECT * FROM tokacct.attach_otel('wl_bad', 'wl.typed2');
-- a domain over a built-in type is read as its base type
CREATE DOMAIN wl.trace_text AS text CHECK (VALUE <> 'x');
CREATE TABLE wl.typed3 ("Timestamp" timestamptz, "TraceId" wl.trace_text, "SpanId" text, "ParentSpanId" text, "SpanAttributes" jsonb);
SELECT count(*) FROM tokacct.attach_otel('wl_dom', 'wl.typed3');
SELECT count(*) FROM tokacct.detach('wl_dom');

SELECT * FROM tokacct.detach('wl_lf');
SELECT count(*) AS attached FROM tokacct.attachment;

\c :regress_db
DROP DATABASE tokacct_attach;
