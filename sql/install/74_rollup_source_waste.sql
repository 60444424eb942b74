-- ---------------------------------------------------------------------------
-- Rollups of an attached source: waste by class.
--
-- The tables a refresh keeps for waste by class, the refresh's waste part
-- (rollup_source_waste_apply(), called by rollup_source_apply() in
-- 72_rollup_source.sql after the retry part) and the monthly view.
-- ---------------------------------------------------------------------------

-- Waste by class of an attached source.  The spans view classifies an
-- item's traces together (its run, named after its first trace by start),
-- a trace without an item alone; so the unit is the run: a refresh
-- classifies again every run with a trace it recomputed (the runs of the
-- items the retry part touched, and the touched traces without an item),
-- keeps each run's classes (rollup_source_waste) and updates the day x
-- workflow sums of rollup_source_waste_daily by difference (sums
-- subtract exactly).
CREATE TABLE @extschema@.rollup_source_waste (
	source pg_catalog.text NOT NULL REFERENCES @extschema@.rollup_source ON DELETE CASCADE,
	run_id pg_catalog.text NOT NULL,
	workflow pg_catalog.text,
	item pg_catalog.text,
	day pg_catalog.date,
	spans pg_catalog.int8,
	total pg_catalog.numeric,
	essential pg_catalog.numeric,
	error_call pg_catalog.numeric,
	failed_attempt pg_catalog.numeric,
	abandoned_branch pg_catalog.numeric,
	stuck_loop pg_catalog.numeric,
	duplicate_tool_call pg_catalog.numeric,
	waste pg_catalog.numeric,
	problem pg_catalog.text
);
CREATE UNIQUE INDEX rollup_source_waste_key ON @extschema@.rollup_source_waste (source, run_id);
CREATE INDEX rollup_source_waste_item ON @extschema@.rollup_source_waste (source, item);
COMMENT ON TABLE @extschema@.rollup_source_waste IS
	'waste by class of each run of an attached source with a rollup (an item''s traces together, a trace without an item alone), as tokacct.waste_by_trace() over its spans view classifies it';
COMMENT ON COLUMN @extschema@.rollup_source_waste.source IS 'the attached source';
COMMENT ON COLUMN @extschema@.rollup_source_waste.run_id IS 'the run: the trace id of its first trace (the spans view''s trace_id)';
COMMENT ON COLUMN @extschema@.rollup_source_waste.workflow IS 'workflow of the run';
COMMENT ON COLUMN @extschema@.rollup_source_waste.item IS 'item of the run (NULL: a trace without an item)';
COMMENT ON COLUMN @extschema@.rollup_source_waste.day IS 'UTC day its first trace started';
COMMENT ON COLUMN @extschema@.rollup_source_waste.spans IS 'spans classified';
COMMENT ON COLUMN @extschema@.rollup_source_waste.total IS 'cost of its spans, USD';
COMMENT ON COLUMN @extschema@.rollup_source_waste.essential IS 'cost on the path to its result';
COMMENT ON COLUMN @extschema@.rollup_source_waste.error_call IS 'cost of calls whose own status is a failure (a billed rate limit, timeout, error)';
COMMENT ON COLUMN @extschema@.rollup_source_waste.failed_attempt IS 'cost of what failed and was tried again (an item''s failed attempts, a failed call retried)';
COMMENT ON COLUMN @extschema@.rollup_source_waste.abandoned_branch IS 'cost of what failed and was not tried again, or was discarded';
COMMENT ON COLUMN @extschema@.rollup_source_waste.stuck_loop IS 'cost of repeats in a run of identical successful calls (the first not counted)';
COMMENT ON COLUMN @extschema@.rollup_source_waste.duplicate_tool_call IS 'cost of tool calls repeating an earlier call whose result was kept';
COMMENT ON COLUMN @extschema@.rollup_source_waste.waste IS 'total - essential';
COMMENT ON COLUMN @extschema@.rollup_source_waste.problem IS 'why the run could not be classified (a span without an id, a start time or a sane cost; a span id twice; parent ids in a cycle): its classes are NULL and it is left out of rollup_source_waste_daily (NULL: classified)';

CREATE TABLE @extschema@.rollup_source_waste_daily (
	source pg_catalog.text NOT NULL REFERENCES @extschema@.rollup_source ON DELETE CASCADE,
	day pg_catalog.date,
	workflow pg_catalog.text,
	runs pg_catalog.int8 NOT NULL,
	runs_left_out pg_catalog.int8 NOT NULL,
	spans pg_catalog.int8 NOT NULL,
	total pg_catalog.numeric NOT NULL,
	essential pg_catalog.numeric NOT NULL,
	error_call pg_catalog.numeric NOT NULL,
	failed_attempt pg_catalog.numeric NOT NULL,
	abandoned_branch pg_catalog.numeric NOT NULL,
	stuck_loop pg_catalog.numeric NOT NULL,
	duplicate_tool_call pg_catalog.numeric NOT NULL,
	waste pg_catalog.numeric NOT NULL,
	updated_at pg_catalog.timestamptz NOT NULL
);
CREATE UNIQUE INDEX rollup_source_waste_daily_key ON @extschema@.rollup_source_waste_daily (source, day, workflow) NULLS NOT DISTINCT;
COMMENT ON TABLE @extschema@.rollup_source_waste_daily IS
	'waste by class of each attached source with a rollup, per UTC day a run''s first trace started x workflow, kept by tokacct.rollup_source_refresh(): equal to tokacct.waste_by_trace() over its spans view summed the same way; sum rows for any longer period';
COMMENT ON COLUMN @extschema@.rollup_source_waste_daily.source IS 'the attached source';
COMMENT ON COLUMN @extschema@.rollup_source_waste_daily.day IS 'UTC day the runs'' first traces started (NULL: without a start)';
COMMENT ON COLUMN @extschema@.rollup_source_waste_daily.workflow IS 'workflow (NULL: none)';
COMMENT ON COLUMN @extschema@.rollup_source_waste_daily.runs IS 'runs classified (an item''s traces together, a trace without an item alone)';
COMMENT ON COLUMN @extschema@.rollup_source_waste_daily.runs_left_out IS 'runs that could not be classified (tokacct.rollup_source_waste.problem says why)';
COMMENT ON COLUMN @extschema@.rollup_source_waste_daily.spans IS 'spans classified';
COMMENT ON COLUMN @extschema@.rollup_source_waste_daily.total IS 'cost of the spans, USD';
COMMENT ON COLUMN @extschema@.rollup_source_waste_daily.essential IS 'cost on the path to a result';
COMMENT ON COLUMN @extschema@.rollup_source_waste_daily.error_call IS 'cost of calls whose own status is a failure (a billed rate limit, timeout, error)';
COMMENT ON COLUMN @extschema@.rollup_source_waste_daily.failed_attempt IS 'cost of what failed and was tried again (an item''s failed attempts, a failed call retried)';
COMMENT ON COLUMN @extschema@.rollup_source_waste_daily.abandoned_branch IS 'cost of what failed and was not tried again, or was discarded';
COMMENT ON COLUMN @extschema@.rollup_source_waste_daily.stuck_loop IS 'cost of repeats in a run of identical successful calls (the first not counted)';
COMMENT ON COLUMN @extschema@.rollup_source_waste_daily.duplicate_tool_call IS 'cost of tool calls repeating an earlier call whose result was kept';
COMMENT ON COLUMN @extschema@.rollup_source_waste_daily.waste IS 'total - essential';
COMMENT ON COLUMN @extschema@.rollup_source_waste_daily.updated_at IS 'when a refresh last rebuilt the row';

-- The waste part of a refresh (see rollup_source_waste), after the retry
-- part has replaced the attempts of the traces listed in traces (every
-- trace when NULL) and left the items it touched in
-- pg_temp.rollup_source_items.  Each run to classify again is read from the
-- spans view (locked and checked) by the list of its trace ids, with what
-- the view takes from its attempts (run, workflow, attempt number, and a
-- failed attempt's root reported ok counted as an error) from the rollup's
-- own attempt facts, so that the list reaches the source's table.
CREATE FUNCTION @extschema@.rollup_source_waste_apply(source pg_catalog.text, traces pg_catalog.text[],
	spans_view pg_catalog.text)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	run_traces text[];
	runs_cond text;
	spans_from text;
	-- the summed columns of a run and of a day's row, in order
	summed text[] := ARRAY['spans', 'total', 'essential', 'error_call', 'failed_attempt', 'abandoned_branch',
						   'stuck_loop', 'duplicate_tool_call', 'waste'];
	-- a run's group (see rollup_source_group())
	gkey text := '@extschema@.rollup_source_group(%1$s.day, %1$s.workflow, NULL)';
	-- what a set of runs (%1$s) adds to each group
	sums text;
	new_runs text;
	run record;
	err text;
BEGIN
	sums := format('SELECT %%2$s AS gkey, g.day, g.workflow, count(*) FILTER (WHERE g.problem IS NULL) AS runs, '
		'count(*) FILTER (WHERE g.problem IS NOT NULL) AS runs_left_out, %s FROM %%1$s g GROUP BY 1, 2, 3',
		(SELECT string_agg(format('COALESCE(sum(g.%1$I), 0) AS %1$I', c), ', ') FROM unnest(summed) c));
	IF to_regclass('pg_temp.rollup_source_runs') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_runs;
	END IF;
	IF to_regclass('pg_temp.rollup_source_waste_old') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_waste_old;
	END IF;
	IF to_regclass('pg_temp.rollup_source_waste_new') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_waste_new;
	END IF;
	IF to_regclass('pg_temp.rollup_source_spans') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_spans;
	END IF;
	runs_cond := CASE WHEN traces IS NULL THEN 'true' ELSE 's.source_trace_id = ANY ($2)' END;

	-- the traces of the runs to classify again: every trace of the items
	-- touched (their run: the first by start, as the attempts view has it),
	-- and the touched traces without an item (each its own run)
	EXECUTE format($q$
	CREATE TEMP TABLE rollup_source_runs ON COMMIT DROP AS
	SELECT a.trace_id, a.workflow, a.item, a.succeeded, a.started_at, a.attempt, a.run_id
	  FROM (%s) a
	UNION ALL
	SELECT t.trace_id, t.workflow, NULL, t.succeeded, t.started_at, NULL::pg_catalog.int4, t.trace_id
	  FROM pg_temp.rollup_source_touched t
	 WHERE t.item IS NULL AND t.trace_id IS NOT NULL$q$, @extschema@.rollup_source_numbered(source, traces IS NOT NULL))
	USING source;
	ANALYZE pg_temp.rollup_source_runs;
	IF traces IS NOT NULL THEN
		SELECT pg_catalog.array_agg(r.trace_id) INTO run_traces FROM pg_temp.rollup_source_runs r;
	END IF;

	-- the old runs out: every run of the source, or those of the items
	-- touched and of the touched traces (a trace without an item now may
	-- have been its own run, or an item's)
	-- (each by its index: the items' runs by item, the traces' own by id)
	CREATE TEMP TABLE rollup_source_waste_old (LIKE @extschema@.rollup_source_waste) ON COMMIT DROP;
	IF traces IS NULL THEN
		DELETE FROM @extschema@.rollup_source_waste w WHERE w.source = rollup_source_waste_apply.source;
	ELSE
		WITH old AS (
			DELETE FROM @extschema@.rollup_source_waste w
			 USING (SELECT DISTINCT k.workflow, k.item FROM pg_temp.rollup_source_items k) k
			 WHERE w.source = rollup_source_waste_apply.source AND w.item = k.item
			   AND w.workflow IS NOT DISTINCT FROM k.workflow
			RETURNING w.*)
		INSERT INTO pg_temp.rollup_source_waste_old SELECT * FROM old;
		WITH old AS (
			DELETE FROM @extschema@.rollup_source_waste w
			 WHERE w.source = rollup_source_waste_apply.source AND w.run_id = ANY (traces) AND w.item IS NULL
			RETURNING w.*)
		INSERT INTO pg_temp.rollup_source_waste_old SELECT * FROM old;
	END IF;
	-- the new ones in, classified as tokacct.waste_by_trace() over the spans
	-- view classifies them (the view's status, attempt and run rebuilt from
	-- the attempt facts; spans without a trace id belong to no run).  A run
	-- with a span waste_agg() refuses (no id, no finite start, a cost or
	-- input cost out of [0, 9223372.036854775807], a negative attempt or
	-- input: the rule of waste_by_trace_sql(); a span id twice) is left out
	-- and says why;
	-- should the classification still fail (parent ids in a cycle), the runs
	-- are classified one by one and the failing ones left out with the error:
	-- their spans read from the view once (kept, by trace id, in a temporary
	-- table), not once per run (a table without an index on the trace id
	-- would be read whole per run).  ({{SPANS}}: where the spans are read;
	-- {{RUNS}}: which; {{BAD}}: the spans left out, as waste_by_trace_sql()
	-- leaves them out.)
	new_runs := $q$
	WITH new AS (
		INSERT INTO @extschema@.rollup_source_waste
		SELECT $1, q.run_id, q.workflow, q.item, q.day, s.spans, s.total, s.essential, s.error_call, s.failed_attempt,
			   s.abandoned_branch, s.stuck_loop, s.duplicate_tool_call, s.waste, q.problem
		  FROM (SELECT q.*, CASE WHEN q.bad_span THEN 'a span without an id or a finite start time, with a cost or input cost out of range, or with a negative attempt or input'
							   WHEN q.spans <> q.ids THEN 'a span id twice in the run' END AS problem
				  FROM (SELECT r.run_id, r.workflow, pg_catalog.min(r.item) AS item,
							   (pg_catalog.min(r.started_at) FILTER (WHERE r.trace_id = r.run_id) AT TIME ZONE 'UTC')::pg_catalog.date AS day,
							   pg_catalog.bool_or(x.bad) AS bad_span, pg_catalog.count(*) AS spans,
							   pg_catalog.count(DISTINCT x.span_id) AS ids,
							   @extschema@.waste_agg(x.span_id, x.parent_id, x.kind, x.name, x.args_hash, x.status,
								   x.cost, x.started_at, r.attempt, x.input_tokens, x.input_cost) FILTER (WHERE NOT x.bad) AS st
						  FROM (SELECT s.source_trace_id, s.span_id::pg_catalog.text AS span_id, s.parent_id::pg_catalog.text AS parent_id,
									   s.kind::pg_catalog.text AS kind, s.name::pg_catalog.text AS name,
									   s.args_hash::pg_catalog.text AS args_hash, s.span_status::pg_catalog.text AS span_status,
									   s.cost::pg_catalog.numeric AS cost, s.started_at::pg_catalog.timestamptz AS started_at,
									   s.input_tokens::pg_catalog.int8 AS input_tokens, s.input_cost::pg_catalog.numeric AS input_cost
								  FROM {{SPANS}} s
								 WHERE {{RUNS}}) x0
						  JOIN pg_temp.rollup_source_runs r ON r.trace_id = x0.source_trace_id,
						LATERAL (SELECT x0.*,
									 CASE WHEN x0.parent_id IS NULL AND r.succeeded IS FALSE AND x0.span_status = 'ok' THEN 'error'
										  ELSE x0.span_status END AS status,
									 {{BAD}} IS TRUE AS bad) x
						 GROUP BY r.run_id, r.workflow) q) q
		  LEFT JOIN LATERAL @extschema@.waste_summary(CASE WHEN q.problem IS NULL THEN q.st END) s ON true
		RETURNING *)
	INSERT INTO pg_temp.rollup_source_waste_new SELECT * FROM new$q$;
	new_runs := replace(new_runs, '{{BAD}}', @extschema@.waste_bad_span_sql('x0.span_id', 'x0.cost',
		'x0.started_at', 'r.attempt', 'x0.input_tokens', 'x0.input_cost'));
	CREATE TEMP TABLE rollup_source_waste_new (LIKE @extschema@.rollup_source_waste) ON COMMIT DROP;
	BEGIN
		EXECUTE replace(replace(new_runs, '{{SPANS}}', spans_view), '{{RUNS}}', runs_cond)
		USING source, run_traces;
	EXCEPTION WHEN data_exception OR program_limit_exceeded THEN
		spans_from := spans_view;
		BEGIN
			EXECUTE format('CREATE TEMP TABLE rollup_source_spans ON COMMIT DROP AS '
				'SELECT s.source_trace_id, s.span_id, s.parent_id, s.kind, s.name, s.args_hash, s.span_status, s.cost, '
				's.started_at, s.input_tokens, s.input_cost FROM %s s WHERE %s', spans_view, runs_cond)
			USING source, run_traces;
			CREATE INDEX ON pg_temp.rollup_source_spans (source_trace_id);
			ANALYZE pg_temp.rollup_source_spans;
			spans_from := 'pg_temp.rollup_source_spans';
		EXCEPTION WHEN data_exception OR program_limit_exceeded THEN
			NULL;	-- (the view refuses a row: each run read from it)
		END;
		FOR run IN SELECT r.run_id, pg_catalog.array_agg(r.trace_id) AS trace_ids FROM pg_temp.rollup_source_runs r GROUP BY 1 LOOP
			BEGIN
				EXECUTE replace(replace(new_runs, '{{SPANS}}', spans_from), '{{RUNS}}', 's.source_trace_id = ANY ($2)')
				USING source, run.trace_ids;
			EXCEPTION WHEN data_exception OR program_limit_exceeded THEN
				GET STACKED DIAGNOSTICS err = MESSAGE_TEXT;
				INSERT INTO @extschema@.rollup_source_waste (source, run_id, workflow, item, day, problem)
				SELECT source, r.run_id, r.workflow, pg_catalog.min(r.item),
					   (pg_catalog.min(r.started_at) FILTER (WHERE r.trace_id = r.run_id) AT TIME ZONE 'UTC')::pg_catalog.date, err
				  FROM pg_temp.rollup_source_runs r WHERE r.run_id = run.run_id GROUP BY r.run_id, r.workflow;
				INSERT INTO pg_temp.rollup_source_waste_new SELECT * FROM @extschema@.rollup_source_waste w
				 WHERE w.source = rollup_source_waste_apply.source AND w.run_id = run.run_id;
			END;
		END LOOP;
	END;

	-- each day x workflow group touched: its row less the old runs plus the new
	PERFORM @extschema@.rollup_source_days(source, 'rollup_source_waste_daily',
		CASE WHEN traces IS NOT NULL THEN format(sums, 'pg_temp.rollup_source_waste_old', format(gkey, 'g')) END,
		format(sums, 'pg_temp.rollup_source_waste_new', format(gkey, 'g')),
		ARRAY['runs', 'runs_left_out'] || summed, 'x.runs + x.runs_left_out > 0');
	DROP TABLE pg_temp.rollup_source_runs, pg_temp.rollup_source_waste_old, pg_temp.rollup_source_waste_new;
	IF to_regclass('pg_temp.rollup_source_spans') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_spans;
	END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@.rollup_source_waste_apply(pg_catalog.text, pg_catalog.text[], pg_catalog.text) IS
	'step of rollup_source_refresh(): classify again the runs with a trace recomputed and update the day x workflow rows of rollup_source_waste_daily';

CREATE VIEW @extschema@.rollup_source_waste_monthly WITH (security_invoker = true) AS
	SELECT d.source, pg_catalog.date_trunc('month', d.day::pg_catalog.timestamp)::pg_catalog.date AS month, d.workflow,
		   pg_catalog.sum(d.runs)::pg_catalog.int8 AS runs, pg_catalog.sum(d.runs_left_out)::pg_catalog.int8 AS runs_left_out,
		   pg_catalog.sum(d.spans)::pg_catalog.int8 AS spans,
		   pg_catalog.sum(d.total) AS total, pg_catalog.sum(d.essential) AS essential,
		   pg_catalog.sum(d.error_call) AS error_call, pg_catalog.sum(d.failed_attempt) AS failed_attempt,
		   pg_catalog.sum(d.abandoned_branch) AS abandoned_branch, pg_catalog.sum(d.stuck_loop) AS stuck_loop,
		   pg_catalog.sum(d.duplicate_tool_call) AS duplicate_tool_call, pg_catalog.sum(d.waste) AS waste,
		   (pg_catalog.sum(d.waste) / NULLIF(pg_catalog.sum(d.total), 0))::pg_catalog.float8 AS waste_share
	  FROM @extschema@.rollup_source_waste_daily d
	 GROUP BY d.source, 2, d.workflow;
COMMENT ON VIEW @extschema@.rollup_source_waste_monthly IS 'the waste by class of attached sources summed per calendar month (UTC) a run''s first trace started x workflow: every dollar of the runs in one class, exactly';
COMMENT ON COLUMN @extschema@.rollup_source_waste_monthly.source IS 'the attached source';
COMMENT ON COLUMN @extschema@.rollup_source_waste_monthly.month IS 'first day of the month (NULL for runs without a start)';
COMMENT ON COLUMN @extschema@.rollup_source_waste_monthly.workflow IS 'workflow (NULL: none)';
COMMENT ON COLUMN @extschema@.rollup_source_waste_monthly.runs IS 'runs classified (an item''s traces together, a trace without an item alone)';
COMMENT ON COLUMN @extschema@.rollup_source_waste_monthly.runs_left_out IS 'runs that could not be classified (tokacct.rollup_source_waste.problem says why)';
COMMENT ON COLUMN @extschema@.rollup_source_waste_monthly.spans IS 'spans classified';
COMMENT ON COLUMN @extschema@.rollup_source_waste_monthly.total IS 'cost of the spans, USD';
COMMENT ON COLUMN @extschema@.rollup_source_waste_monthly.essential IS 'cost on the path to a result';
COMMENT ON COLUMN @extschema@.rollup_source_waste_monthly.error_call IS 'cost of calls whose own status is a failure';
COMMENT ON COLUMN @extschema@.rollup_source_waste_monthly.failed_attempt IS 'cost of what failed and was tried again';
COMMENT ON COLUMN @extschema@.rollup_source_waste_monthly.abandoned_branch IS 'cost of what failed and was not tried again, or was discarded';
COMMENT ON COLUMN @extschema@.rollup_source_waste_monthly.stuck_loop IS 'cost of repeats in a run of identical successful calls';
COMMENT ON COLUMN @extschema@.rollup_source_waste_monthly.duplicate_tool_call IS 'cost of tool calls repeating an earlier call whose result was kept';
COMMENT ON COLUMN @extschema@.rollup_source_waste_monthly.waste IS 'total - essential';
COMMENT ON COLUMN @extschema@.rollup_source_waste_monthly.waste_share IS 'waste / total';
