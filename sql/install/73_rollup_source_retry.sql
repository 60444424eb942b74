-- ---------------------------------------------------------------------------
-- Rollups of an attached source: retry economics.
--
-- The tables a refresh keeps for retry economics, retry_subtract() that
-- takes an item's old state out of a day's row, the refresh's retry part
-- (rollup_source_retry_apply(), called by rollup_source_apply() in
-- 72_rollup_source.sql) and the monthly view.
-- ---------------------------------------------------------------------------

-- Retry economics of an attached source.  An attempt's number depends on
-- every trace of its item (numbered by start, or as the source records
-- them), so the unit here is the item: a refresh keeps the attempt facts
-- of each trace with an item (rollup_source_attempt), recomputes from them
-- each item one of whose traces it recomputed (rollup_source_item: its
-- retry_economics() state, or why it is left out), and updates the day x
-- workflow rows of rollup_source_retry by difference (retry_subtract()).
CREATE TABLE @extschema@.rollup_source_attempt (
	source pg_catalog.text NOT NULL REFERENCES @extschema@.rollup_source ON DELETE CASCADE,
	trace_id pg_catalog.text NOT NULL,
	workflow pg_catalog.text,
	item pg_catalog.text NOT NULL,
	started_at pg_catalog.timestamptz,
	succeeded pg_catalog.bool,
	cost pg_catalog.numeric,
	recorded_attempt pg_catalog.int4
);
CREATE UNIQUE INDEX rollup_source_attempt_key ON @extschema@.rollup_source_attempt (source, trace_id);
CREATE INDEX rollup_source_attempt_item ON @extschema@.rollup_source_attempt (source, item);
COMMENT ON TABLE @extschema@.rollup_source_attempt IS
	'the attempt facts of each trace with an item of an attached source with a rollup, as its attempts view has them less the attempt number, kept so that a refresh can number an item''s attempts again without reading its traces';
COMMENT ON COLUMN @extschema@.rollup_source_attempt.source IS 'the attached source';
COMMENT ON COLUMN @extschema@.rollup_source_attempt.trace_id IS 'the trace: one attempt';
COMMENT ON COLUMN @extschema@.rollup_source_attempt.workflow IS 'workflow of the trace';
COMMENT ON COLUMN @extschema@.rollup_source_attempt.item IS 'item the trace works on';
COMMENT ON COLUMN @extschema@.rollup_source_attempt.started_at IS 'start of the trace (an item''s attempts are numbered in this order, then by trace id)';
COMMENT ON COLUMN @extschema@.rollup_source_attempt.succeeded IS 'whether the attempt succeeded (NULL: unknown)';
COMMENT ON COLUMN @extschema@.rollup_source_attempt.cost IS 'exact cost of the attempt (its calls, or its agent spans'' usage when it has no call); NULL when a call is left out of the money';
COMMENT ON COLUMN @extschema@.rollup_source_attempt.recorded_attempt IS 'the attempt number the trace records (sources attached with an attempt column)';

CREATE TABLE @extschema@.rollup_source_item (
	source pg_catalog.text NOT NULL REFERENCES @extschema@.rollup_source ON DELETE CASCADE,
	workflow pg_catalog.text,
	item pg_catalog.text NOT NULL,
	day pg_catalog.date,
	attempts pg_catalog.int8 NOT NULL,
	retry @extschema@.retry_state,
	problem pg_catalog.text
);
CREATE UNIQUE INDEX rollup_source_item_key ON @extschema@.rollup_source_item (source, item, workflow) NULLS NOT DISTINCT;
CREATE INDEX rollup_source_item_group ON @extschema@.rollup_source_item
	(source, @extschema@.rollup_source_group(day, workflow, NULL));
COMMENT ON TABLE @extschema@.rollup_source_item IS
	'each item of an attached source with a rollup: its retry_economics() state over its attempts, or why it is left out of tokacct.rollup_source_retry';
COMMENT ON COLUMN @extschema@.rollup_source_item.source IS 'the attached source';
COMMENT ON COLUMN @extschema@.rollup_source_item.workflow IS 'workflow (NULL: none)';
COMMENT ON COLUMN @extschema@.rollup_source_item.item IS 'the item';
COMMENT ON COLUMN @extschema@.rollup_source_item.day IS 'UTC day its first attempt started (NULL when its attempts have no start)';
COMMENT ON COLUMN @extschema@.rollup_source_item.attempts IS 'attempts (traces) of the item';
COMMENT ON COLUMN @extschema@.rollup_source_item.retry IS 'retry_economics() of its attempts (NULL when it is left out)';
COMMENT ON COLUMN @extschema@.rollup_source_item.problem IS 'why it is left out of the retry economics (NULL: counted)';

CREATE TABLE @extschema@.rollup_source_retry (
	source pg_catalog.text NOT NULL REFERENCES @extschema@.rollup_source ON DELETE CASCADE,
	day pg_catalog.date,
	workflow pg_catalog.text,
	items pg_catalog.int8 NOT NULL,
	items_left_out pg_catalog.int8 NOT NULL,
	retry @extschema@.retry_state,
	updated_at pg_catalog.timestamptz NOT NULL
);
CREATE UNIQUE INDEX rollup_source_retry_key ON @extschema@.rollup_source_retry (source, day, workflow) NULLS NOT DISTINCT;
COMMENT ON TABLE @extschema@.rollup_source_retry IS
	'retry economics of each attached source with a rollup, per UTC day an item''s first attempt started x workflow, kept by tokacct.rollup_source_refresh(): equal to retry_economics() over the attempts view''s rows of the items counted; merge rows for any longer period';
COMMENT ON COLUMN @extschema@.rollup_source_retry.source IS 'the attached source';
COMMENT ON COLUMN @extschema@.rollup_source_retry.day IS 'UTC day the items'' first attempts started (NULL: attempts without a start)';
COMMENT ON COLUMN @extschema@.rollup_source_retry.workflow IS 'workflow (NULL: none)';
COMMENT ON COLUMN @extschema@.rollup_source_retry.items IS 'items counted in retry';
COMMENT ON COLUMN @extschema@.rollup_source_retry.items_left_out IS 'items left out (tokacct.rollup_source_item.problem says why): an attempt''s cost or success unknown, or attempts not numbered 1, 2, 3, ... up to the first success';
COMMENT ON COLUMN @extschema@.rollup_source_retry.retry IS 'retry_economics() over the attempts of the items counted (NULL when none); tokacct.merge() merges days, tokacct.retry_report() reads it';
COMMENT ON COLUMN @extschema@.rollup_source_retry.updated_at IS 'when a refresh last rebuilt the row';

-- The retry state of a's attempt rows less b's, when a and b alone tell it
-- (src/agg_retry.c); NULL otherwise: then the day's row is merged again
-- from its items.
CREATE FUNCTION @extschema@.retry_subtract(a @extschema@.retry_state, b @extschema@.retry_state)
	RETURNS @extschema@.retry_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'retry_subtract';
COMMENT ON FUNCTION @extschema@.retry_subtract(@extschema@.retry_state, @extschema@.retry_state) IS
	'step of rollup_source_refresh(): the retry state of a''s attempt rows less b''s (b''s rows a part of a''s), when it is known exactly (its largest attempt number told); NULL otherwise';

-- The SQL of the attempt rows of a source numbered as its attempts view
-- numbers them (the attempt number the source records, else by start then
-- trace id within the workflow's item), each with its run: the item's
-- first trace by the same order.  touched: only the items listed in
-- pg_temp.rollup_source_items; $1 is the source.  The retry part and the
-- waste part of a refresh read the attempts through it.
CREATE FUNCTION @extschema@.rollup_source_numbered(source pg_catalog.text, touched pg_catalog.bool)
	RETURNS pg_catalog.text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	RETURN pg_catalog.format('SELECT a.*, %s AS attempt, pg_catalog.first_value(a.trace_id) OVER w AS run_id '
		'FROM @extschema@.rollup_source_attempt a%s WHERE a.source = $1 '
		'WINDOW w AS (PARTITION BY a.workflow, a.item ORDER BY a.started_at, a.trace_id COLLATE "C")',
		CASE WHEN (SELECT a.options ? 'attempt' AND jsonb_typeof(a.options -> 'attempt') <> 'null'
					 FROM @extschema@.attachment a WHERE a.source = rollup_source_numbered.source)
			 THEN 'a.recorded_attempt' ELSE '(pg_catalog.row_number() OVER w)::pg_catalog.int4' END,
		CASE WHEN touched THEN ' JOIN pg_temp.rollup_source_items k ON k.item = a.item AND k.workflow IS NOT DISTINCT FROM a.workflow' ELSE '' END);
COMMENT ON FUNCTION @extschema@.rollup_source_numbered(pg_catalog.text, pg_catalog.bool) IS
	'step of rollup_source_refresh(): the SQL of a source''s attempt rows (of the touched items, or all) numbered as its attempts view numbers them, each with its run';

-- The retry economics part of a refresh (see rollup_source_attempt), once
-- rollup_source_apply() has replaced the call contributions of the traces
-- listed in traces (every trace when NULL) and left their rows of the
-- traces view in pg_temp.rollup_source_touched.  spans_view: the source's
-- spans view, locked and checked, read for the traces without a call only
-- (their attempt costs their agent spans' usage).
CREATE FUNCTION @extschema@.rollup_source_retry_apply(source pg_catalog.text, traces pg_catalog.text[],
	spans_view pg_catalog.text)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	agent_only text[];
	-- an item's group (see rollup_source_group())
	gkey text := '@extschema@.rollup_source_group(%1$s.day, %1$s.workflow, NULL)';
	-- what a set of item rows (%1$s) adds to each group
	sums text := 'SELECT %2$s AS gkey, g.day, g.workflow, count(*) FILTER (WHERE g.problem IS NULL) AS items, '
		'count(*) FILTER (WHERE g.problem IS NOT NULL) AS items_left_out, '
		'CASE WHEN count(*) FILTER (WHERE g.problem IS NULL) > 0 THEN @extschema@.merge(g.retry) END AS retry '
		'FROM %1$s g GROUP BY 1, 2, 3';
	-- the items (workflow, item) in pg_temp.rollup_source_items, or all,
	-- recomputed from their attempts: numbered as the attempts view numbers
	-- them, each item's state over its attempts when they are whole
	items_sql text := $q$
SELECT $1, x.workflow, x.item, x.day, x.attempts,
	   CASE WHEN x.problem IS NULL THEN x.retry END, x.problem
  FROM (SELECT n.workflow, n.item,
			   (pg_catalog.min(n.started_at) AT TIME ZONE 'UTC')::pg_catalog.date AS day,
			   pg_catalog.count(*) AS attempts,
			   -- (an attempt's cost is one money value of the state: at
			   -- most 9223372.036854775807 once rounded to 12 decimals)
			   @extschema@.retry_economics(n.attempt, n.succeeded, n.cost)
				   FILTER (WHERE n.attempt >= 1 AND n.cost >= 0
						   AND pg_catalog.round(n.cost, 12) <= 9223372.036854775807) AS retry,
			   CASE WHEN pg_catalog.bool_or(n.cost IS NULL) THEN 'an attempt''s calls are left out of the money'
					WHEN pg_catalog.bool_or(n.succeeded IS NULL) THEN 'an attempt''s success is unknown (no root span)'
					WHEN pg_catalog.bool_or(n.attempt IS NULL) THEN 'an attempt number is not a whole number'
					WHEN pg_catalog.bool_or(n.cost < 0) THEN 'an attempt has a negative cost'
					WHEN pg_catalog.bool_or(pg_catalog.round(n.cost, 12) > 9223372.036854775807)
					THEN 'an attempt costs more than a retry state keeps exactly (9223372.036854775807)'
					WHEN pg_catalog.min(n.attempt) <> 1 OR pg_catalog.max(n.attempt) <> pg_catalog.count(*)
						 OR pg_catalog.count(DISTINCT n.attempt) <> pg_catalog.count(*)
					THEN 'attempts not numbered 1, 2, 3, ...'
					WHEN pg_catalog.bool_or(n.succeeded AND n.attempt < n.last)
					THEN 'an attempt after the item''s success' END AS problem
		  FROM (SELECT a.workflow, a.item, a.started_at, a.succeeded, a.cost, a.attempt,
					   pg_catalog.max(a.attempt) OVER (PARTITION BY a.workflow, a.item) AS last
				  FROM (%s) a) n
		 GROUP BY n.workflow, n.item) x$q$;
BEGIN
	items_sql := format(items_sql, @extschema@.rollup_source_numbered(source, traces IS NOT NULL));
	IF to_regclass('pg_temp.rollup_source_items') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_items;
	END IF;
	IF to_regclass('pg_temp.rollup_source_items_old') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_items_old;
	END IF;
	IF to_regclass('pg_temp.rollup_source_items_new') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_items_new;
	END IF;
	IF to_regclass('pg_temp.rollup_source_retry_groups') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_retry_groups;
	END IF;
	IF to_regclass('pg_temp.rollup_source_items_k') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_items_k;
	END IF;

	-- the attempts of the traces recomputed: out with the old (their items
	-- are touched), in with the new
	CREATE TEMP TABLE rollup_source_items (workflow text, item text) ON COMMIT DROP;
	IF traces IS NULL THEN
		DELETE FROM @extschema@.rollup_source_attempt a WHERE a.source = rollup_source_retry_apply.source;
	ELSE
		WITH old AS (
			DELETE FROM @extschema@.rollup_source_attempt a
			 WHERE a.source = rollup_source_retry_apply.source AND a.trace_id = ANY (traces)
			RETURNING a.workflow, a.item)
		INSERT INTO pg_temp.rollup_source_items SELECT o.workflow, o.item FROM old o;
	END IF;
	-- A trace's attempt costs its calls (its contributions, just replaced),
	-- or where it has none its agent spans' usage (the spans view), as the
	-- attempts view says; NULL when one of them is left out of the money.
	SELECT pg_catalog.array_agg(t.trace_id) INTO agent_only
	  FROM pg_temp.rollup_source_touched t
	 WHERE t.item IS NOT NULL AND t.trace_id IS NOT NULL
	   AND NOT EXISTS (SELECT 1 FROM @extschema@.rollup_source_trace x
						WHERE x.source = rollup_source_retry_apply.source AND x.trace_id = t.trace_id);
	EXECUTE format($q$
	WITH new AS (
		INSERT INTO @extschema@.rollup_source_attempt
		SELECT $1, t.trace_id, t.workflow, t.item, t.started_at, t.succeeded,
			   CASE WHEN c.trace_id IS NOT NULL THEN CASE WHEN c.left_out = 0 THEN c.cost END
					WHEN s.left_out = 0 THEN COALESCE(s.cost, 0) END,
			   t.recorded_attempt
		  FROM pg_temp.rollup_source_touched t
		  LEFT JOIN (SELECT x.trace_id, pg_catalog.sum(x.calls_left_out) AS left_out, pg_catalog.sum(x.cost) AS cost
					   FROM @extschema@.rollup_source_trace x
					  WHERE x.source = $1 AND x.trace_id IN (SELECT y.trace_id FROM pg_temp.rollup_source_touched y
															  WHERE y.item IS NOT NULL)
					  GROUP BY x.trace_id) c ON c.trace_id = t.trace_id
		  LEFT JOIN (%s) s ON s.trace_id = t.trace_id
		 WHERE t.item IS NOT NULL AND t.trace_id IS NOT NULL
		RETURNING workflow, item)
	INSERT INTO pg_temp.rollup_source_items SELECT n.workflow, n.item FROM new n$q$,
		CASE WHEN agent_only IS NULL
			THEN 'SELECT NULL::pg_catalog.text AS trace_id, NULL::pg_catalog.numeric AS cost, NULL::pg_catalog.int8 AS left_out WHERE false'
			ELSE format('SELECT s.source_trace_id AS trace_id, pg_catalog.sum(s.cost) AS cost, '
				'pg_catalog.count(*) FILTER (WHERE s.cost IS NULL) AS left_out '
				'FROM %s s WHERE s.source_trace_id = ANY ($2) GROUP BY s.source_trace_id', spans_view) END)
	USING source, agent_only;

	IF traces IS NULL THEN
		-- every item and every day again
		DELETE FROM @extschema@.rollup_source_item i WHERE i.source = rollup_source_retry_apply.source;
		DELETE FROM @extschema@.rollup_source_retry r WHERE r.source = rollup_source_retry_apply.source;
		EXECUTE 'INSERT INTO @extschema@.rollup_source_item ' || items_sql USING source;
		EXECUTE format($q$
		INSERT INTO @extschema@.rollup_source_retry
		SELECT $1, x.day, x.workflow, x.items, x.items_left_out, x.retry, statement_timestamp()
		  FROM (%s) x$q$, format(sums, format('(SELECT i.* FROM @extschema@.rollup_source_item i WHERE i.source = $1)'),
								format(gkey, 'g')))
		USING source;
		RETURN;
	END IF;

	-- (the touched items once each, analyzed: the joins below and in
	-- items_sql, and the waste part's, then reach the touched items' rows
	-- by their index instead of reading every item of every source)
	CREATE TEMP TABLE rollup_source_items_k ON COMMIT DROP AS SELECT DISTINCT k.workflow, k.item FROM pg_temp.rollup_source_items k;
	DROP TABLE pg_temp.rollup_source_items;
	ALTER TABLE pg_temp.rollup_source_items_k RENAME TO rollup_source_items;
	ANALYZE pg_temp.rollup_source_items;
	-- the touched items: their rows as they were out, recomputed in
	CREATE TEMP TABLE rollup_source_items_old ON COMMIT DROP AS
	WITH old AS (
		DELETE FROM @extschema@.rollup_source_item i
		 USING pg_temp.rollup_source_items k
		 WHERE i.source = rollup_source_retry_apply.source AND i.item = k.item AND i.workflow IS NOT DISTINCT FROM k.workflow
		RETURNING i.*)
	SELECT * FROM old;
	CREATE TEMP TABLE rollup_source_items_new (LIKE @extschema@.rollup_source_item) ON COMMIT DROP;
	EXECUTE format('WITH new AS (INSERT INTO @extschema@.rollup_source_item %s RETURNING *) '
		'INSERT INTO pg_temp.rollup_source_items_new SELECT * FROM new', items_sql) USING source;

	-- Each day x workflow group touched: its row less the old items plus the
	-- new.  Counts subtract; a retry state does unless its largest attempt
	-- number goes out with the old items (retry_subtract() is NULL): those
	-- groups are merged again from their items.
	EXECUTE format($q$
	CREATE TEMP TABLE rollup_source_retry_groups ON COMMIT DROP AS
	SELECT k.gkey, k.day, k.workflow,
		   o.gkey IS NULL OR (d.gkey IS NOT NULL AND (o.retry IS NULL OR kept.s IS NOT NULL)) AS exact,
		   COALESCE(d.items, 0) - COALESCE(o.items, 0) + COALESCE(n.items, 0) AS items,
		   COALESCE(d.items_left_out, 0) - COALESCE(o.items_left_out, 0) + COALESCE(n.items_left_out, 0) AS items_left_out,
		   -- (no item counted: NULL, as retry_economics() over no row)
		   CASE WHEN COALESCE(d.items, 0) - COALESCE(o.items, 0) + COALESCE(n.items, 0) > 0
				THEN (SELECT @extschema@.merge(v.s) FROM (VALUES (kept.s), (n.retry)) v(s)) END AS retry
	  FROM (SELECT x.gkey, x.day, x.workflow FROM (%1$s) x UNION SELECT x.gkey, x.day, x.workflow FROM (%2$s) x) k
	  LEFT JOIN (%1$s) o ON o.gkey = k.gkey
	  LEFT JOIN (%2$s) n ON n.gkey = k.gkey
	  LEFT JOIN (SELECT %3$s AS gkey, d.* FROM @extschema@.rollup_source_retry d WHERE d.source = $1) d ON d.gkey = k.gkey,
	LATERAL (SELECT CASE WHEN o.retry IS NULL THEN d.retry ELSE @extschema@.retry_subtract(d.retry, o.retry) END AS s) kept$q$,
		format(sums, 'pg_temp.rollup_source_items_old', format(gkey, 'g')),
		format(sums, 'pg_temp.rollup_source_items_new', format(gkey, 'g')),
		format(gkey, 'd'))
	USING source;
	EXECUTE format('DELETE FROM @extschema@.rollup_source_retry d USING pg_temp.rollup_source_retry_groups g '
		'WHERE d.source = $1 AND %s = g.gkey', format(gkey, 'd')) USING source;
	EXECUTE format($q$
	INSERT INTO @extschema@.rollup_source_retry
	SELECT $1, x.day, x.workflow, x.items, x.items_left_out, x.retry, statement_timestamp()
	  FROM pg_temp.rollup_source_retry_groups x
	 WHERE x.exact AND x.items + x.items_left_out > 0
	UNION ALL
	SELECT $1, x.day, x.workflow, x.items, x.items_left_out, x.retry, statement_timestamp()
	  FROM pg_temp.rollup_source_retry_groups r,
	LATERAL (%s) x
	 WHERE NOT r.exact$q$,
		format(sums, format('(SELECT i.* FROM @extschema@.rollup_source_item i WHERE i.source = $1 AND %s = r.gkey)',
							format(gkey, 'i')), format(gkey, 'g')))
	USING source;
	-- (rollup_source_items stays: the waste part reads it)
	DROP TABLE pg_temp.rollup_source_items_old, pg_temp.rollup_source_items_new, pg_temp.rollup_source_retry_groups;
END
$fn$;
COMMENT ON FUNCTION @extschema@.rollup_source_retry_apply(pg_catalog.text, pg_catalog.text[], pg_catalog.text) IS
	'step of rollup_source_refresh(): replace the attempts of the traces recomputed, recompute their items and update the day x workflow rows of rollup_source_retry';

CREATE VIEW @extschema@.rollup_source_retry_monthly WITH (security_invoker = true) AS
	SELECT m.source, m.month, m.workflow, m.items_left_out, r.items, r.attempts, r.solved, r.p1,
		   r.attempts_per_item, r.total_cost, r.failed_cost, r.failed_share, r.cost_per_solved,
		   r.naive_cost_per_solved, r.tail_factor, r.max_attempt, m.retry
	  FROM (SELECT d.source, pg_catalog.date_trunc('month', d.day::pg_catalog.timestamp)::pg_catalog.date AS month,
				   d.workflow, pg_catalog.sum(d.items_left_out)::pg_catalog.int8 AS items_left_out,
				   @extschema@.merge(d.retry) AS retry
			  FROM @extschema@.rollup_source_retry d
			 GROUP BY d.source, 2, d.workflow) m
	  LEFT JOIN LATERAL @extschema@.retry_report(m.retry) r ON true;
COMMENT ON VIEW @extschema@.rollup_source_retry_monthly IS 'the retry economics of attached sources merged per calendar month (UTC) an item''s first attempt started x workflow: the items counted, first-try success, attempts per item, spend on failed attempts, cost per solved item and the tail factor (tokacct.retry_report() of the merged state)';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.source IS 'the attached source';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.month IS 'first day of the month (NULL for items whose attempts have no start)';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.workflow IS 'workflow (NULL: none)';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.items_left_out IS 'items left out (tokacct.rollup_source_item.problem says why)';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.items IS 'items counted (NULL when none)';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.attempts IS 'their attempts';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.solved IS 'items solved';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.p1 IS 'first-try success rate';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.attempts_per_item IS 'attempts per item';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.total_cost IS 'exact cost of all attempts, USD';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.failed_cost IS 'exact cost of the attempts that failed';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.failed_share IS 'failed_cost / total_cost';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.cost_per_solved IS 'all spend / items solved';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.naive_cost_per_solved IS 'mean attempt cost / p1: what p1 alone predicts';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.tail_factor IS 'cost_per_solved / naive_cost_per_solved: above 1 when hard items retry more than p1 predicts';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.max_attempt IS 'largest attempt number';
COMMENT ON COLUMN @extschema@.rollup_source_retry_monthly.retry IS 'the merged retry_state (tokacct.retry_projection() replays it with a retry cap)';
