
-- ---------------------------------------------------------------------------
-- Waste in execution traces: every dollar of a trace attributed to essential
-- work or to one waste class
-- ---------------------------------------------------------------------------

CREATE TYPE @extschema@.waste_state;

CREATE FUNCTION @extschema@.waste_state_in(pg_catalog.cstring) RETURNS @extschema@.waste_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'waste_state_in';
CREATE FUNCTION @extschema@.waste_state_out(@extschema@.waste_state) RETURNS pg_catalog.cstring
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'waste_state_out';
CREATE FUNCTION @extschema@.waste_state_recv(pg_catalog.internal) RETURNS @extschema@.waste_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'waste_state_recv';
CREATE FUNCTION @extschema@.waste_state_send(@extschema@.waste_state) RETURNS pg_catalog.bytea
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'waste_state_send';

CREATE TYPE @extschema@.waste_state (
	INPUT = @extschema@.waste_state_in,
	OUTPUT = @extschema@.waste_state_out,
	RECEIVE = @extschema@.waste_state_recv,
	SEND = @extschema@.waste_state_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = extended
);
COMMENT ON TYPE @extschema@.waste_state IS
	'spans of one trace collected by tokacct.waste_agg; classify with waste_summary, waste_classes, waste_spans, waste_span_classes; text form is its binary form in hexadecimal';
COMMENT ON FUNCTION @extschema@.waste_state_in(pg_catalog.cstring) IS 'text input of waste_state (hexadecimal), every field checked';
COMMENT ON FUNCTION @extschema@.waste_state_out(@extschema@.waste_state) IS 'text output of waste_state (hexadecimal)';
COMMENT ON FUNCTION @extschema@.waste_state_recv(pg_catalog.internal) IS 'binary input of waste_state, every field checked';
COMMENT ON FUNCTION @extschema@.waste_state_send(@extschema@.waste_state) IS 'binary output of waste_state';

CREATE FUNCTION @extschema@.waste_accum(@extschema@.waste_state, pg_catalog.text, pg_catalog.text,
		pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.numeric,
		pg_catalog.timestamptz, pg_catalog.int4)
	RETURNS @extschema@.waste_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'waste_accum';
COMMENT ON FUNCTION @extschema@.waste_accum(@extschema@.waste_state, pg_catalog.text, pg_catalog.text,
		pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.numeric,
		pg_catalog.timestamptz, pg_catalog.int4) IS
	'transition function of waste_agg (with attempt numbers)';
CREATE FUNCTION @extschema@.waste_accum(@extschema@.waste_state, pg_catalog.text, pg_catalog.text,
		pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.numeric,
		pg_catalog.timestamptz)
	RETURNS @extschema@.waste_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'waste_accum';
COMMENT ON FUNCTION @extschema@.waste_accum(@extschema@.waste_state, pg_catalog.text, pg_catalog.text,
		pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.numeric,
		pg_catalog.timestamptz) IS
	'transition function of waste_agg (without attempt numbers)';

CREATE FUNCTION @extschema@.waste_accum(@extschema@.waste_state, pg_catalog.text, pg_catalog.text,
		pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.numeric,
		pg_catalog.timestamptz, pg_catalog.int4, pg_catalog.int8, pg_catalog.numeric)
	RETURNS @extschema@.waste_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'waste_accum';
COMMENT ON FUNCTION @extschema@.waste_accum(@extschema@.waste_state, pg_catalog.text, pg_catalog.text,
		pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.numeric,
		pg_catalog.timestamptz, pg_catalog.int4, pg_catalog.int8, pg_catalog.numeric) IS
	'transition function of waste_agg (with attempt numbers, input tokens and input cost)';

-- Parallel plans are worth it (test/results/waste.txt): each worker
-- classifies the partial states it sends and the leader classifies only the
-- traces split between workers, so the combine function has the default cost.
CREATE FUNCTION @extschema@.waste_combine(@extschema@.waste_state, @extschema@.waste_state)
	RETURNS @extschema@.waste_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'waste_combine';
COMMENT ON FUNCTION @extschema@.waste_combine(@extschema@.waste_state, @extschema@.waste_state) IS
	'the spans of two partial states of one trace (combine function of waste_agg, transition function of merge)';

CREATE FUNCTION @extschema@.waste_trim(@extschema@.waste_state)
	RETURNS @extschema@.waste_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'waste_trim';
COMMENT ON FUNCTION @extschema@.waste_trim(@extschema@.waste_state) IS
	'final function of waste_agg and merge: the state without spare capacity';

CREATE AGGREGATE @extschema@.waste_agg(span_id pg_catalog.text, parent_id pg_catalog.text,
		kind pg_catalog.text, name pg_catalog.text, args_hash pg_catalog.text,
		status pg_catalog.text, cost pg_catalog.numeric, started_at pg_catalog.timestamptz,
		attempt pg_catalog.int4) (
	SFUNC = @extschema@.waste_accum,
	STYPE = @extschema@.waste_state,
	SSPACE = 16384,
	COMBINEFUNC = @extschema@.waste_combine,
	FINALFUNC = @extschema@.waste_trim,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.waste_agg(pg_catalog.text, pg_catalog.text, pg_catalog.text,
		pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.numeric,
		pg_catalog.timestamptz, pg_catalog.int4) IS
	'the spans of one trace (group by trace): span id, parent id (NULL for a root), kind, name, argument hash, status, cost (NULL counts as 0), start time, attempt number';

CREATE AGGREGATE @extschema@.waste_agg(span_id pg_catalog.text, parent_id pg_catalog.text,
		kind pg_catalog.text, name pg_catalog.text, args_hash pg_catalog.text,
		status pg_catalog.text, cost pg_catalog.numeric, started_at pg_catalog.timestamptz) (
	SFUNC = @extschema@.waste_accum,
	STYPE = @extschema@.waste_state,
	SSPACE = 16384,
	COMBINEFUNC = @extschema@.waste_combine,
	FINALFUNC = @extschema@.waste_trim,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.waste_agg(pg_catalog.text, pg_catalog.text, pg_catalog.text,
		pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.numeric,
		pg_catalog.timestamptz) IS
	'the spans of one trace (group by trace), without attempt numbers: retries are then ordered by start time';

CREATE AGGREGATE @extschema@.waste_agg(span_id pg_catalog.text, parent_id pg_catalog.text,
		kind pg_catalog.text, name pg_catalog.text, args_hash pg_catalog.text,
		status pg_catalog.text, cost pg_catalog.numeric, started_at pg_catalog.timestamptz,
		attempt pg_catalog.int4, input_tokens pg_catalog.int8, input_cost pg_catalog.numeric) (
	SFUNC = @extschema@.waste_accum,
	STYPE = @extschema@.waste_state,
	SSPACE = 16384,
	COMBINEFUNC = @extschema@.waste_combine,
	FINALFUNC = @extschema@.waste_trim,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.waste_agg(pg_catalog.text, pg_catalog.text, pg_catalog.text,
		pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.numeric,
		pg_catalog.timestamptz, pg_catalog.int4, pg_catalog.int8, pg_catalog.numeric) IS
	'the spans of one trace (group by trace) with the input of each LLM call: input tokens (cache included; NULL for spans that are not LLM calls) and what they cost; the classes then carry the induced cost (tool calls charged for the input their results added)';

CREATE AGGREGATE @extschema@.merge(@extschema@.waste_state) (
	SFUNC = @extschema@.waste_combine,
	STYPE = @extschema@.waste_state,
	SSPACE = 16384,
	COMBINEFUNC = @extschema@.waste_combine,
	FINALFUNC = @extschema@.waste_trim,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.merge(@extschema@.waste_state) IS
	'merge stored waste_state values of the same trace (partial span lists) into one';

CREATE FUNCTION @extschema@.waste_summary(state @extschema@.waste_state,
		rule pg_catalog.text DEFAULT 'leaf', loop_min pg_catalog.int4 DEFAULT 3,
		OUT cost_rule pg_catalog.text, OUT spans pg_catalog.int8, OUT roots pg_catalog.int8,
		OUT orphans pg_catalog.int8, OUT null_costs pg_catalog.int8,
		OUT total pg_catalog.numeric, OUT essential pg_catalog.numeric,
		OUT error_call pg_catalog.numeric, OUT failed_attempt pg_catalog.numeric,
		OUT abandoned_branch pg_catalog.numeric, OUT stuck_loop pg_catalog.numeric,
		OUT duplicate_tool_call pg_catalog.numeric, OUT waste pg_catalog.numeric,
		OUT error_call_spans pg_catalog.int8, OUT failed_attempt_spans pg_catalog.int8,
		OUT abandoned_branch_spans pg_catalog.int8, OUT stuck_loop_spans pg_catalog.int8,
		OUT duplicate_tool_call_spans pg_catalog.int8)
	RETURNS record
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'waste_summary';
COMMENT ON FUNCTION @extschema@.waste_summary(@extschema@.waste_state, pg_catalog.text, pg_catalog.int4) IS
	'a trace''s cost split into essential and the five waste classes (they add up to total exactly), under cost_rule leaf|self|rollup and stuck loops of loop_min identical steps';

CREATE FUNCTION @extschema@.waste_summary_or_null(state @extschema@.waste_state,
		rule pg_catalog.text DEFAULT 'leaf', loop_min pg_catalog.int4 DEFAULT 3,
		OUT cost_rule pg_catalog.text, OUT spans pg_catalog.int8, OUT roots pg_catalog.int8,
		OUT orphans pg_catalog.int8, OUT null_costs pg_catalog.int8,
		OUT total pg_catalog.numeric, OUT essential pg_catalog.numeric,
		OUT error_call pg_catalog.numeric, OUT failed_attempt pg_catalog.numeric,
		OUT abandoned_branch pg_catalog.numeric, OUT stuck_loop pg_catalog.numeric,
		OUT duplicate_tool_call pg_catalog.numeric, OUT waste pg_catalog.numeric,
		OUT error_call_spans pg_catalog.int8, OUT failed_attempt_spans pg_catalog.int8,
		OUT abandoned_branch_spans pg_catalog.int8, OUT stuck_loop_spans pg_catalog.int8,
		OUT duplicate_tool_call_spans pg_catalog.int8)
	RETURNS record
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'waste_summary_or_null';
COMMENT ON FUNCTION @extschema@.waste_summary_or_null(@extschema@.waste_state, pg_catalog.text, pg_catalog.int4) IS
	'step of waste_by_trace() and of the BI views: waste_summary(), or NULL for a trace the classifier refuses for its shape (a span id twice, parent ids in a cycle), so that a report over many traces leaves it out; other errors are raised';

CREATE FUNCTION @extschema@.waste_classes(state @extschema@.waste_state,
		rule pg_catalog.text DEFAULT 'leaf', loop_min pg_catalog.int4 DEFAULT 3)
	RETURNS TABLE (class pg_catalog.text, precedence pg_catalog.int4,
		spans pg_catalog.int8, cost pg_catalog.numeric)
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE ROWS 6
	AS 'MODULE_PATHNAME', 'waste_classes';
COMMENT ON FUNCTION @extschema@.waste_classes(@extschema@.waste_state, pg_catalog.text, pg_catalog.int4) IS
	'one row per class in precedence order (a span takes the first class that applies): spans and cost';

CREATE FUNCTION @extschema@.waste_spans(state @extschema@.waste_state,
		lim pg_catalog.int4 DEFAULT 10,
		rule pg_catalog.text DEFAULT 'leaf', loop_min pg_catalog.int4 DEFAULT 3)
	RETURNS TABLE (span_id pg_catalog.text, parent_id pg_catalog.text, kind pg_catalog.text,
		name pg_catalog.text, status pg_catalog.text, class pg_catalog.text,
		cause_span pg_catalog.text, reported_cost pg_catalog.numeric,
		cost pg_catalog.numeric, started_at pg_catalog.timestamptz)
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE ROWS 10
	AS 'MODULE_PATHNAME', 'waste_spans';
COMMENT ON FUNCTION @extschema@.waste_spans(@extschema@.waste_state, pg_catalog.int4, pg_catalog.text, pg_catalog.int4) IS
	'the lim most expensive wasteful spans of a trace (cost in their class descending: own cost, plus the induced cost when spans carry input tokens), with their class and the span that caused it';

CREATE FUNCTION @extschema@.waste_span_classes(state @extschema@.waste_state,
		rule pg_catalog.text DEFAULT 'leaf', loop_min pg_catalog.int4 DEFAULT 3)
	RETURNS TABLE (span_id pg_catalog.text, parent_id pg_catalog.text, kind pg_catalog.text,
		name pg_catalog.text, status pg_catalog.text, class pg_catalog.text,
		cause_span pg_catalog.text, reported_cost pg_catalog.numeric,
		cost pg_catalog.numeric, started_at pg_catalog.timestamptz)
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE ROWS 100
	AS 'MODULE_PATHNAME', 'waste_span_classes';
COMMENT ON FUNCTION @extschema@.waste_span_classes(@extschema@.waste_state, pg_catalog.text, pg_catalog.int4) IS
	'every span of a trace by start time, with its status, class, the span that caused the class, its reported and its own cost';

CREATE FUNCTION @extschema@.waste_induced(state @extschema@.waste_state,
		rule pg_catalog.text DEFAULT 'leaf', loop_min pg_catalog.int4 DEFAULT 3)
	RETURNS TABLE (span_id pg_catalog.text, parent_id pg_catalog.text, kind pg_catalog.text,
		name pg_catalog.text, class pg_catalog.text, role pg_catalog.text,
		input_tokens pg_catalog.int8, tokens pg_catalog.int8, token_price pg_catalog.numeric,
		own_cost pg_catalog.numeric, induced pg_catalog.numeric, cost pg_catalog.numeric)
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE ROWS 100
	AS 'MODULE_PATHNAME', 'waste_induced';
COMMENT ON FUNCTION @extschema@.waste_induced(@extschema@.waste_state, pg_catalog.text, pg_catalog.int4) IS
	'the induced cost of a trace whose spans carry input tokens: its LLM calls and tool calls by start time, with the tokens each tool added (each call re-read), each call''s price per input token, and the money moved (+ to a tool, - from a call); no rows when no span carries input tokens';

-- The test for a span waste_agg() refuses, as SQL over the given column
-- expressions (each already of its type: text, numeric, timestamptz, int,
-- bigint, numeric; attempt and input cost or tokens NULL when the spans do
-- not have them): no id, a cost or input cost out of [0,
-- 9223372.036854775807] (negative, NaN, infinite or past the picodollars an
-- int8 holds), no finite start, a negative attempt or input.  TRUE for
-- such a span, else FALSE or NULL: test it with IS TRUE.  One text for
-- every query that leaves such spans out (waste_by_trace_sql(), the waste
-- rollup of a source).
CREATE FUNCTION @extschema@.waste_bad_span_sql(span_id pg_catalog.text, cost pg_catalog.text,
		started_at pg_catalog.text, attempt pg_catalog.text, input_tokens pg_catalog.text,
		input_cost pg_catalog.text)
	RETURNS pg_catalog.text
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	RETURN '(' OPERATOR(pg_catalog.||) pg_catalog.concat_ws(' OR ',
		span_id OPERATOR(pg_catalog.||) ' IS NULL',
		span_id OPERATOR(pg_catalog.||) ' = ''''',
		cost OPERATOR(pg_catalog.||) ' NOT BETWEEN 0 AND 9223372.036854775807',
		started_at OPERATOR(pg_catalog.||) ' IS NULL',
		'NOT pg_catalog.isfinite(' OPERATOR(pg_catalog.||) started_at OPERATOR(pg_catalog.||) ')',
		attempt OPERATOR(pg_catalog.||) ' < 0',
		input_tokens OPERATOR(pg_catalog.||) ' < 0',
		input_cost OPERATOR(pg_catalog.||) ' NOT BETWEEN 0 AND 9223372.036854775807') OPERATOR(pg_catalog.||) ')';
COMMENT ON FUNCTION @extschema@.waste_bad_span_sql(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text) IS
	'step of waste_by_trace_sql() and of a source''s waste rollup: the SQL test, over the given column expressions, for a span waste_agg() refuses (no id, a cost or input cost out of range, no finite start, a negative attempt or input)';

-- The query of waste_by_trace() over rel (a relation, quoted as SQL): per
-- workflow and trace, ok and the waste classes.  Real tables hold odd rows:
-- a trace with a span waste_agg() refuses (no id, no finite start, a cost
-- or input cost that is negative, not a number or too large, a negative
-- attempt or input), or that the classifier refuses for its shape (a span
-- id twice, parent ids in a cycle: waste_summary_or_null) is not ok, its
-- classes NULL.  attempt, input: whether rel has the
-- column attempt, and the columns input_tokens and input_cost (both: the
-- classes carry the induced cost).  waste_by_trace() runs it through the
-- source guard; the BI views of an attached source read it over the
-- source's spans view, as every other view of the source reads the source.
CREATE FUNCTION @extschema@.waste_by_trace_sql(rel pg_catalog.text, attempt pg_catalog.bool,
		input pg_catalog.bool, rule pg_catalog.text, loop_min pg_catalog.int4)
	RETURNS pg_catalog.text
	LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	bad pg_catalog.text := @extschema@.waste_bad_span_sql('t.span_id::pg_catalog.text',
		't.cost::pg_catalog.numeric', 't.started_at', CASE WHEN attempt THEN 't.attempt' END,
		CASE WHEN input THEN 't.input_tokens' END, CASE WHEN input THEN 't.input_cost::pg_catalog.numeric' END);
	more pg_catalog.text := '';
BEGIN
	IF attempt THEN
		more := ', t.attempt::pg_catalog.int4';
	END IF;
	IF input THEN
		more := CASE WHEN attempt THEN more ELSE ', NULL::pg_catalog.int4' END
			|| ', t.input_tokens::pg_catalog.int8, t.input_cost::pg_catalog.numeric';
	END IF;
	RETURN pg_catalog.format(
		'SELECT q.workflow, q.trace_id, q.ok AND s.cost_rule IS NOT NULL AS ok, s.cost_rule, s.spans, s.total, s.essential,
				s.error_call, s.failed_attempt, s.abandoned_branch, s.stuck_loop,
				s.duplicate_tool_call, s.waste
		   FROM (SELECT q.workflow, q.trace_id, q.st, NOT q.bad AS ok
				   FROM (SELECT t.workflow::pg_catalog.text AS workflow,
								t.trace_id::pg_catalog.text AS trace_id,
								pg_catalog.bool_or((%1$s) IS TRUE) AS bad,
								@extschema@.waste_agg(t.span_id::pg_catalog.text, t.parent_id::pg_catalog.text,
									t.kind::pg_catalog.text, t.name::pg_catalog.text,
									t.args_hash::pg_catalog.text, t.status::pg_catalog.text,
									t.cost::pg_catalog.numeric, t.started_at::pg_catalog.timestamptz%2$s)
									FILTER (WHERE (%1$s) IS NOT TRUE) AS st
						   FROM %3$s t
						  GROUP BY 1, 2) q) q
		  LEFT JOIN LATERAL @extschema@.waste_summary_or_null(CASE WHEN q.ok THEN q.st END, %4$L, %5$L) s ON true',
		bad, more, rel, rule, loop_min);
END
$fn$;
COMMENT ON FUNCTION @extschema@.waste_by_trace_sql(pg_catalog.text, pg_catalog.bool, pg_catalog.bool, pg_catalog.text, pg_catalog.int4) IS
	'step of waste_by_trace() and of the BI views of attached sources: the query classifying the waste of each trace of a relation, with ok false (classes NULL) for a trace with a span waste_agg() refuses, a span id twice or parent ids in a cycle';

CREATE FUNCTION @extschema@.waste_by_trace(source pg_catalog.regclass,
		rule pg_catalog.text DEFAULT 'leaf', loop_min pg_catalog.int4 DEFAULT 3)
	RETURNS TABLE (workflow pg_catalog.text, trace_id pg_catalog.text, cost_rule pg_catalog.text,
		spans pg_catalog.int8, total pg_catalog.numeric, essential pg_catalog.numeric,
		error_call pg_catalog.numeric, failed_attempt pg_catalog.numeric,
		abandoned_branch pg_catalog.numeric, stuck_loop pg_catalog.numeric,
		duplicate_tool_call pg_catalog.numeric, waste pg_catalog.numeric)
	LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
	SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	columns pg_catalog.text[] := ARRAY['workflow', 'trace_id', 'span_id', 'parent_id', 'kind', 'name',
		'args_hash', 'status', 'cost', 'started_at'];
	kinds pg_catalog.text[] := ARRAY['id', 'id', 'id', 'id', 'string', 'string',
		'id', 'string', 'money', 'time'];
	has_attempt pg_catalog.bool;
	has_input pg_catalog.bool;
	r record;
	left_out pg_catalog.int8 := 0;
BEGIN
	has_attempt := EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
				WHERE a.attrelid = source AND a.attname = 'attempt'
				  AND a.attnum > 0 AND NOT a.attisdropped);
	IF has_attempt THEN
		columns := pg_catalog.array_append(columns, 'attempt');
		kinds := pg_catalog.array_append(kinds, 'integer');
	END IF;
	-- with input tokens and input cost, the induced cost (the attached spans views have them)
	has_input := (SELECT pg_catalog.count(*) FROM pg_catalog.pg_attribute a
				   WHERE a.attrelid = source AND a.attname IN ('input_tokens', 'input_cost')
					 AND a.attnum > 0 AND NOT a.attisdropped) = 2;
	IF has_input THEN
		columns := columns || ARRAY['input_tokens', 'input_cost'];
		kinds := kinds || ARRAY['integer', 'money'];
	END IF;
	-- through the guard: every column of a built-in type of its kind, and
	-- nothing of the table's owner may run with the caller's privileges; a
	-- trace that is not ok is left out, counted and said so in a NOTICE, as
	-- the rollups leave such a run out
	FOR r IN SELECT * FROM @extschema@.source_query(source, columns, kinds,
			'SELECT * FROM (' || @extschema@.waste_by_trace_sql(source::pg_catalog.text, has_attempt, has_input, rule, loop_min)
			|| ') q ORDER BY 1, 2')
		AS q(workflow pg_catalog.text, trace_id pg_catalog.text, ok pg_catalog.bool, cost_rule pg_catalog.text,
			 spans pg_catalog.int8, total pg_catalog.numeric, essential pg_catalog.numeric,
			 error_call pg_catalog.numeric, failed_attempt pg_catalog.numeric,
			 abandoned_branch pg_catalog.numeric, stuck_loop pg_catalog.numeric,
			 duplicate_tool_call pg_catalog.numeric, waste pg_catalog.numeric)
	LOOP
		IF NOT r.ok THEN
			left_out := left_out + 1;
			CONTINUE;
		END IF;
		workflow := r.workflow; trace_id := r.trace_id; cost_rule := r.cost_rule; spans := r.spans;
		total := r.total; essential := r.essential; error_call := r.error_call;
		failed_attempt := r.failed_attempt; abandoned_branch := r.abandoned_branch;
		stuck_loop := r.stuck_loop; duplicate_tool_call := r.duplicate_tool_call; waste := r.waste;
		RETURN NEXT;
	END LOOP;
	IF left_out > 0 THEN
		RAISE NOTICE 'tokacct.waste_by_trace: % traces of % left out (a span without an id or a finite start time, with a cost that is negative, not a number or too large, a negative attempt or input, a span id twice, or parent ids in a cycle)',
			left_out, source;
	END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@.waste_by_trace(pg_catalog.regclass, pg_catalog.text, pg_catalog.int4) IS
	'waste per trace of a span table or view with columns workflow, trace_id, span_id, parent_id, kind, name, args_hash, status, cost, started_at, optionally attempt, and optionally input_tokens and input_cost (both: the classes carry the induced cost); a trace with a span without an id or a finite start, with a cost that is negative, not a number or too large, a negative attempt or input, a span id twice, or parent ids in a cycle is left out and counted in a NOTICE';

CREATE FUNCTION @extschema@.waste_by_workflow(source pg_catalog.regclass,
		rule pg_catalog.text DEFAULT 'leaf', loop_min pg_catalog.int4 DEFAULT 3)
	RETURNS TABLE (workflow pg_catalog.text, cost_rule pg_catalog.text, traces pg_catalog.int8,
		spans pg_catalog.numeric, total pg_catalog.numeric, essential pg_catalog.numeric,
		error_call pg_catalog.numeric, failed_attempt pg_catalog.numeric,
		abandoned_branch pg_catalog.numeric, stuck_loop pg_catalog.numeric,
		duplicate_tool_call pg_catalog.numeric, waste pg_catalog.numeric,
		waste_share pg_catalog.numeric)
	LANGUAGE sql STABLE PARALLEL RESTRICTED
	SET search_path = pg_catalog, pg_temp
AS $fn$
	SELECT b.workflow, pg_catalog.min(b.cost_rule), pg_catalog.count(*),
		   pg_catalog.sum(b.spans), pg_catalog.sum(b.total), pg_catalog.sum(b.essential),
		   pg_catalog.sum(b.error_call), pg_catalog.sum(b.failed_attempt),
		   pg_catalog.sum(b.abandoned_branch), pg_catalog.sum(b.stuck_loop),
		   pg_catalog.sum(b.duplicate_tool_call), pg_catalog.sum(b.waste),
		   pg_catalog.round(pg_catalog.sum(b.waste) / NULLIF(pg_catalog.sum(b.total), 0), 4)
	  FROM @extschema@.waste_by_trace(source, rule, loop_min) b
	 GROUP BY b.workflow
	 ORDER BY b.workflow
$fn$;
COMMENT ON FUNCTION @extschema@.waste_by_workflow(pg_catalog.regclass, pg_catalog.text, pg_catalog.int4) IS
	'waste per workflow: the per-trace results of waste_by_trace summed exactly, with the waste share of the total (4 decimals)';
