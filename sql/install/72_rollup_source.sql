
-- ---------------------------------------------------------------------------
-- Rollups of an attached source (issue 15, attached sources).
--
-- tokacct.rollup_source_create('acme') defines a rollup over the calls view
-- of the attached source acme; tokacct.rollup_source_refresh('acme') keeps
-- tokacct.rollup_source_daily (per source x UTC day x workflow x model:
-- counts, exact money, tokens by kind, a cost sketch) equal to the same
-- aggregate taken directly over the calls view, without copying the calls
-- and without altering the user's tables.
--
-- How.  The calls of a trace depend on the whole trace (its workflow comes
-- from its root span), so the unit of work is the trace: each trace's
-- contribution (one row per trace x day x workflow x model) is kept in
-- tokacct.rollup_source_trace.  A refresh
--   1. takes a snapshot once it holds the source's refresh lock;
--   2. finds the traces touched since the previous refresh: those with a row
--      whose xmin (the transaction that inserted or last updated it) is not
--      older than the previous snapshot's xmin, a scan that reads only the
--      trace key and xmin of the source's tables;
--   3. recomputes those traces whole from the calls view, replaces their
--      contributions, and rebuilds the daily rows of the groups their old
--      or new contributions fall in, from the contributions;
--   4. saves the snapshot in the same transaction.
-- Every transaction that was still running at the previous snapshot, or
-- began after it, has an id at least that snapshot's xmin (a
-- subtransaction's id is above its parent's), so no row is missed: late
-- spans of an old trace, a trace whose spans arrive in several
-- transactions, rows of a transaction open during the previous refresh.  A
-- trace recomputed twice is replaced, never added twice, so a refresh that
-- takes more than it needs (rows the previous one had seen already) costs
-- time, not exactness.  A refresh that dies leaves everything as it was.
--
-- Deleted rows leave no row to see: a trace whose spans are deleted (or
-- moved to another trace, their trace id updated: the new trace is seen,
-- the old is not) keeps its contribution until a row of it is inserted or
-- updated again, or until tokacct.rollup_source_rebuild().  The refresh after 2^31 transactions
-- without one (or more: xmin is 32 bits) recomputes everything, and so
-- does the first after the source was attached again with other views
-- (options, columns: its calls may count otherwise with no row written).
--
-- This file holds the calls part and the refresh itself; a refresh of a
-- source with the traces and spans views goes on with the retry economics
-- (73_rollup_source_retry.sql), waste by class (74_rollup_source_waste.sql)
-- and context growth (75_rollup_source_context.sql) of the same traces.
-- Tracking, asked for, is in 76_rollup_source_track.sql.
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.rollup_source (
	source pg_catalog.text PRIMARY KEY,
	snapshot pg_catalog.pg_snapshot,
	runs pg_catalog.int8 NOT NULL DEFAULT 0,
	created_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	last_run_at pg_catalog.timestamptz,
	last_full pg_catalog.bool,
	last_traces pg_catalog.int8,
	last_groups pg_catalog.int8,
	last_duration pg_catalog.interval,
	tracked_xmax pg_catalog.xid8,
	definition pg_catalog.text
);
COMMENT ON TABLE @extschema@.rollup_source IS
	'attached sources rolled up into tokacct.rollup_source_daily (tokacct.rollup_source_create()), and how far tokacct.rollup_source_refresh() has counted each, saved with the rollup rows in one transaction';
COMMENT ON COLUMN @extschema@.rollup_source.source IS 'the attached source (tokacct.attachment)';
COMMENT ON COLUMN @extschema@.rollup_source.snapshot IS 'snapshot of the last refresh: rows of transactions from its xmin on are looked at again by the next (NULL: never refreshed, the next refresh counts everything)';
COMMENT ON COLUMN @extschema@.rollup_source.runs IS 'refreshes committed';
COMMENT ON COLUMN @extschema@.rollup_source.created_at IS 'when the rollup was defined';
COMMENT ON COLUMN @extschema@.rollup_source.last_run_at IS 'start of the last refresh';
COMMENT ON COLUMN @extschema@.rollup_source.last_full IS 'the last refresh counted every trace (the first, a rebuild, the first after the source was attached again with other views, or after 2^31 transactions)';
COMMENT ON COLUMN @extschema@.rollup_source.last_traces IS 'traces the last refresh recomputed';
COMMENT ON COLUMN @extschema@.rollup_source.last_groups IS 'day x workflow x model rows the last refresh rebuilt';
COMMENT ON COLUMN @extschema@.rollup_source.last_duration IS 'how long the last refresh took';
COMMENT ON COLUMN @extschema@.rollup_source.tracked_xmax IS 'set by tokacct.rollup_source_track(): the source''s tables stamp each row written from then on, and every row written before (or while a stamp''s trigger was off) by a transaction older than this id; refreshes go by the stamps once their previous snapshot is past it (NULL: not tracked)';
COMMENT ON COLUMN @extschema@.rollup_source.definition IS 'the definition of the source''s views (tokacct.attachment.definition) the last refresh read; attached again with other views, the next refresh counts everything';
-- The definitions are dumped; the traces and days are derived and are not:
-- after a restore the first refresh counts everything again.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rollup_source', '');

CREATE TABLE @extschema@.rollup_source_trace (
	source pg_catalog.text NOT NULL REFERENCES @extschema@.rollup_source ON DELETE CASCADE,
	trace_id pg_catalog.text,
	day pg_catalog.date,
	workflow pg_catalog.text,
	model pg_catalog.text,
	calls pg_catalog.int8 NOT NULL,
	calls_left_out pg_catalog.int8 NOT NULL,
	input_tokens pg_catalog.numeric NOT NULL,
	output_tokens pg_catalog.numeric NOT NULL,
	cache_read_tokens pg_catalog.numeric NOT NULL,
	cache_write_tokens pg_catalog.numeric NOT NULL,
	reasoning_tokens pg_catalog.numeric NOT NULL,
	cost pg_catalog.numeric NOT NULL,
	reported_cost pg_catalog.numeric NOT NULL,
	list_cost pg_catalog.numeric NOT NULL,
	cost_sketch @extschema@.sketch_state
);
CREATE UNIQUE INDEX rollup_source_trace_key ON @extschema@.rollup_source_trace
	(source, trace_id, day, workflow, model) NULLS NOT DISTINCT;
-- A day x workflow x model group as one value, NULLs told apart from every
-- value (immutable: the day as a day number, or infinity / -infinity: a
-- call's start time may be infinite), so that the contributions of the
-- groups a refresh rebuilds are found by an index, whatever is NULL.
CREATE FUNCTION @extschema@.rollup_source_group(day pg_catalog.date, workflow pg_catalog.text, model pg_catalog.text)
	RETURNS pg_catalog.text
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	RETURN COALESCE(CASE WHEN pg_catalog.isfinite(day)
			THEN (day OPERATOR(pg_catalog.-) '2000-01-01'::pg_catalog.date)::pg_catalog.text
			WHEN day OPERATOR(pg_catalog.>) '2000-01-01'::pg_catalog.date THEN 'infinity'
			WHEN day OPERATOR(pg_catalog.<) '2000-01-01'::pg_catalog.date THEN '-infinity' END, '-')
		OPERATOR(pg_catalog.||) pg_catalog.chr(31) OPERATOR(pg_catalog.||) COALESCE(pg_catalog.quote_literal(workflow), '-')
		OPERATOR(pg_catalog.||) pg_catalog.chr(31) OPERATOR(pg_catalog.||) COALESCE(pg_catalog.quote_literal(model), '-');
COMMENT ON FUNCTION @extschema@.rollup_source_group(pg_catalog.date, pg_catalog.text, pg_catalog.text) IS
	'step of rollup_source_refresh(): a day x workflow x model group of the rollup as one text (NULLs told apart from every value)';
CREATE INDEX rollup_source_trace_group ON @extschema@.rollup_source_trace
	(source, @extschema@.rollup_source_group(day, workflow, model));
-- A workflow, item, model or conversation id as the rollup keeps it: as it
-- is up to 400 bytes, else its first 60 characters, its length and its md5
-- (at most about 300 bytes, so applied twice it changes nothing).  Every
-- index of the rollup holds such names beside a trace id; a btree key may
-- not pass about 2,700 bytes, and a source's text may be any length.  A
-- trace id longer than 400 bytes cannot be shortened (the refresh finds
-- traces by it): such a trace is left out of the rollup, and said so.
-- (Not STRICT, NULL giving NULL all the same: a strict function's CASE is
-- not inlined, and a call per row cost the demo's first refresh 15%.)
CREATE FUNCTION @extschema@.rollup_source_key(v pg_catalog.text)
	RETURNS pg_catalog.text
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	RETURN CASE WHEN pg_catalog.octet_length(v) OPERATOR(pg_catalog.<=) 400 THEN v
		ELSE pg_catalog.left(v, 60) OPERATOR(pg_catalog.||) ' ... (' OPERATOR(pg_catalog.||)
			pg_catalog.octet_length(v)::pg_catalog.text OPERATOR(pg_catalog.||) ' bytes, md5 '
			OPERATOR(pg_catalog.||) pg_catalog.md5(v) OPERATOR(pg_catalog.||) ')' END;
COMMENT ON FUNCTION @extschema@.rollup_source_key(pg_catalog.text) IS
	'a workflow, item, model, team, tag or conversation id as a rollup (of the ledger or of an attached source) keeps it: itself up to 400 bytes, else its first 60 characters, its length and its md5';

-- The day x workflow rows of a part of a refresh whose columns are all sums
-- (waste, context growth): daily, the table (source, day, workflow, then
-- columns in order, then updated_at); old_sums and new_sums, queries giving
-- what the old and the new rows of the part add to each group (gkey, day,
-- workflow, columns); old_sums NULL in a full run, which writes the new
-- sums alone.  Each group touched becomes its row less the old plus the new
-- (sums subtract exactly), kept where keep (over x) holds.
CREATE FUNCTION @extschema@.rollup_source_days(source pg_catalog.text, daily pg_catalog.text,
	old_sums pg_catalog.text, new_sums pg_catalog.text, columns pg_catalog.text[], keep pg_catalog.text)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	gkey text := '@extschema@.rollup_source_group(d.day, d.workflow, NULL)';
	cols text := (SELECT string_agg(format('x.%I', c), ', ') FROM unnest(columns) c);
BEGIN
	IF old_sums IS NULL THEN
		EXECUTE format('DELETE FROM @extschema@.%I d WHERE d.source = $1', daily) USING source;
		EXECUTE format('INSERT INTO @extschema@.%I SELECT $1, x.day, x.workflow, %s, statement_timestamp() FROM (%s) x',
			daily, cols, new_sums)
		USING source;
		RETURN;
	END IF;
	IF to_regclass('pg_temp.rollup_source_day_groups') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_day_groups;
	END IF;
	EXECUTE format($q$
	CREATE TEMP TABLE rollup_source_day_groups ON COMMIT DROP AS
	SELECT k.gkey, k.day, k.workflow, %5$s
	  FROM (SELECT x.gkey, x.day, x.workflow FROM (%2$s) x UNION SELECT x.gkey, x.day, x.workflow FROM (%3$s) x) k
	  LEFT JOIN (%2$s) o ON o.gkey = k.gkey
	  LEFT JOIN (%3$s) n ON n.gkey = k.gkey
	  LEFT JOIN (SELECT %4$s AS gkey, d.* FROM @extschema@.%1$I d WHERE d.source = $1) d
		ON d.gkey = k.gkey$q$,
		daily, old_sums, new_sums, gkey,
		(SELECT string_agg(format('COALESCE(d.%1$I, 0) - COALESCE(o.%1$I, 0) + COALESCE(n.%1$I, 0) AS %1$I', c), ', ')
		   FROM unnest(columns) c))
	USING source;
	EXECUTE format('DELETE FROM @extschema@.%I d USING pg_temp.rollup_source_day_groups g '
		'WHERE d.source = $1 AND %s = g.gkey', daily, gkey) USING source;
	EXECUTE format('INSERT INTO @extschema@.%I SELECT $1, x.day, x.workflow, %s, statement_timestamp() '
		'FROM pg_temp.rollup_source_day_groups x WHERE %s', daily, cols, keep)
	USING source;
	DROP TABLE pg_temp.rollup_source_day_groups;
END
$fn$;
COMMENT ON FUNCTION @extschema@.rollup_source_days(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text[], pg_catalog.text) IS
	'step of rollup_source_refresh(): update the day x workflow rows of a part whose columns are sums (waste, context growth) by the old and new rows'' sums of the groups they touch';

-- The sketch of a's costs once b's are taken out, when a and b alone tell
-- it exactly: b's costs strictly inside a's min and max (src/agg_sketch.c);
-- NULL otherwise.  A refresh takes a trace's old contribution out of a
-- rollup row with it instead of merging every other contribution again.
CREATE FUNCTION @extschema@.sketch_subtract(a @extschema@.sketch_state, b @extschema@.sketch_state)
	RETURNS @extschema@.sketch_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'sketch_subtract';
COMMENT ON FUNCTION @extschema@.sketch_subtract(@extschema@.sketch_state, @extschema@.sketch_state) IS
	'step of rollup_source_refresh(): the cost sketch of a''s costs less b''s (b''s costs a part of a''s), when it is known exactly (b''s costs strictly between a''s min and max); NULL otherwise';
COMMENT ON TABLE @extschema@.rollup_source_trace IS
	'what each trace of an attached source adds to tokacct.rollup_source_daily (one row per trace x day x workflow x model), so a refresh can replace a trace''s contribution when the trace changes';
COMMENT ON COLUMN @extschema@.rollup_source_trace.source IS 'the attached source';
COMMENT ON COLUMN @extschema@.rollup_source_trace.trace_id IS 'the trace (NULL: the calls without a trace id, taken as one trace)';
COMMENT ON COLUMN @extschema@.rollup_source_trace.day IS 'UTC day of the calls (their started_at)';
COMMENT ON COLUMN @extschema@.rollup_source_trace.workflow IS 'workflow of the trace';
COMMENT ON COLUMN @extschema@.rollup_source_trace.model IS 'model of the calls';
COMMENT ON COLUMN @extschema@.rollup_source_trace.calls IS 'calls';
COMMENT ON COLUMN @extschema@.rollup_source_trace.calls_left_out IS 'calls left out of the money (cost NULL in the calls view)';
COMMENT ON COLUMN @extschema@.rollup_source_trace.input_tokens IS 'input tokens';
COMMENT ON COLUMN @extschema@.rollup_source_trace.output_tokens IS 'output tokens';
COMMENT ON COLUMN @extschema@.rollup_source_trace.cache_read_tokens IS 'cache read tokens';
COMMENT ON COLUMN @extschema@.rollup_source_trace.cache_write_tokens IS 'cache write tokens';
COMMENT ON COLUMN @extschema@.rollup_source_trace.reasoning_tokens IS 'reasoning tokens';
COMMENT ON COLUMN @extschema@.rollup_source_trace.cost IS 'exact cost of the counted calls';
COMMENT ON COLUMN @extschema@.rollup_source_trace.reported_cost IS 'the part of cost the trace reported';
COMMENT ON COLUMN @extschema@.rollup_source_trace.list_cost IS 'catalog list price of the calls the catalog prices';
COMMENT ON COLUMN @extschema@.rollup_source_trace.cost_sketch IS 'cost_sketch() of the counted calls'' costs (NULL when none)';

CREATE TABLE @extschema@.rollup_source_daily (
	source pg_catalog.text NOT NULL REFERENCES @extschema@.rollup_source ON DELETE CASCADE,
	day pg_catalog.date,
	workflow pg_catalog.text,
	model pg_catalog.text,
	traces pg_catalog.int8 NOT NULL,
	calls pg_catalog.int8 NOT NULL,
	calls_left_out pg_catalog.int8 NOT NULL,
	input_tokens pg_catalog.numeric NOT NULL,
	output_tokens pg_catalog.numeric NOT NULL,
	cache_read_tokens pg_catalog.numeric NOT NULL,
	cache_write_tokens pg_catalog.numeric NOT NULL,
	reasoning_tokens pg_catalog.numeric NOT NULL,
	cost pg_catalog.numeric NOT NULL,
	reported_cost pg_catalog.numeric NOT NULL,
	list_cost pg_catalog.numeric NOT NULL,
	cost_sketch @extschema@.sketch_state,
	updated_at pg_catalog.timestamptz NOT NULL
) WITH (toast_tuple_target = 8160);
-- toast_tuple_target: as for rollup_daily, a refresh does not compress a
-- row's sketch again at every update.
CREATE UNIQUE INDEX rollup_source_daily_key ON @extschema@.rollup_source_daily (source, day, workflow, model) NULLS NOT DISTINCT;
COMMENT ON TABLE @extschema@.rollup_source_daily IS
	'the calls view of each attached source with a rollup, per UTC day x workflow x model, kept by tokacct.rollup_source_refresh(): counts, exact money, tokens by kind and a cost sketch; equal to the same aggregate over the view as of the last refresh; sum or merge rows for any longer period';
COMMENT ON COLUMN @extschema@.rollup_source_daily.source IS 'the attached source';
COMMENT ON COLUMN @extschema@.rollup_source_daily.day IS 'UTC day of the calls (their started_at; NULL when a call has none)';
COMMENT ON COLUMN @extschema@.rollup_source_daily.workflow IS 'workflow of the calls'' traces (NULL: none)';
COMMENT ON COLUMN @extschema@.rollup_source_daily.model IS 'model as the calls report it (the calls view''s model)';
COMMENT ON COLUMN @extschema@.rollup_source_daily.traces IS 'traces with calls in the row (the calls without a trace id not counted as one)';
COMMENT ON COLUMN @extschema@.rollup_source_daily.calls IS 'calls';
COMMENT ON COLUMN @extschema@.rollup_source_daily.calls_left_out IS 'calls left out of the money (their problem is in the source''s problems view): in calls and the token counts, not in the money';
COMMENT ON COLUMN @extschema@.rollup_source_daily.input_tokens IS 'input tokens, cache reads and writes included';
COMMENT ON COLUMN @extschema@.rollup_source_daily.output_tokens IS 'output tokens, reasoning included';
COMMENT ON COLUMN @extschema@.rollup_source_daily.cache_read_tokens IS 'input tokens read from the cache';
COMMENT ON COLUMN @extschema@.rollup_source_daily.cache_write_tokens IS 'input tokens written to the cache';
COMMENT ON COLUMN @extschema@.rollup_source_daily.reasoning_tokens IS 'output tokens spent on reasoning';
COMMENT ON COLUMN @extschema@.rollup_source_daily.cost IS 'exact cost of the counted calls, USD (the calls view''s cost)';
COMMENT ON COLUMN @extschema@.rollup_source_daily.reported_cost IS 'the part of cost the traces reported';
COMMENT ON COLUMN @extschema@.rollup_source_daily.list_cost IS 'catalog list price of the calls the catalog prices';
COMMENT ON COLUMN @extschema@.rollup_source_daily.cost_sketch IS 'cost_sketch() of the counted calls'' costs (NULL when none); tokacct.merge() merges days';
COMMENT ON COLUMN @extschema@.rollup_source_daily.updated_at IS 'when a refresh last rebuilt the row';

-- Whether a row (or catalog row) with an xmin of this age was written in the
-- window of a refresh: the window's newest age h and the age lw just older
-- than it (see rollup_source_keys()); when lw lies below -2^31 - 1 the
-- window wraps around the ages' 32 bits.  A SQL expression (no SET):
-- inlined, with h and lw constants, into the scan of every row.
CREATE FUNCTION @extschema@.rollup_source_written(age pg_catalog.int4, h pg_catalog.int8, lw pg_catalog.int8)
	RETURNS pg_catalog.bool
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	RETURN CASE WHEN lw OPERATOR(pg_catalog.>=) -2147483649
		THEN age OPERATOR(pg_catalog.<=) h AND age OPERATOR(pg_catalog.>) lw
		ELSE age OPERATOR(pg_catalog.<=) h OR age OPERATOR(pg_catalog.>) (lw OPERATOR(pg_catalog.+) 4294967296) END;
COMMENT ON FUNCTION @extschema@.rollup_source_written(pg_catalog.int4, pg_catalog.int8, pg_catalog.int8) IS
	'step of rollup_source_refresh(): whether an xmin of this age (age(xmin)) lies in a refresh''s window of new transactions';

-- Hold a source table's definition (and its partitions' and children's)
-- until the transaction ends: no index, statistics, child table or
-- partition may be added between the check of its code and the reads
-- (src/source_guard.c says why, and which lock).
CREATE FUNCTION @extschema@.rollup_source_hold(source pg_catalog.regclass) RETURNS void
	LANGUAGE c STRICT
	AS 'MODULE_PATHNAME', 'rollup_source_hold';
COMMENT ON FUNCTION @extschema@.rollup_source_hold(pg_catalog.regclass) IS
	'step of rollup_source_refresh(): lock a source table and every table under it in SHARE UPDATE EXCLUSIVE mode until the end of the transaction (writes go on; DDL that could add code waits)';

-- The SQL of a query listing the trace ids of every row of the source's
-- tables whose transaction id (xmin) is lo or newer (every row when lo is
-- NULL): a union over the tables, each
-- read for its trace key and xmin only.  Sources whose trace key is a
-- column: otel (its trace_id column) and langfuse (observations, traces,
-- scores).
CREATE FUNCTION @extschema@.rollup_source_keys(source pg_catalog.text, lo pg_catalog.int8)
	RETURNS pg_catalog.text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	a @extschema@.attachment%ROWTYPE;
	parts text[] := '{}';
	rel regclass;
	col text;
	i int;
	cond text;
	h int8;
	width int8;
	lw int8;
	tracked xid8;
	joined oid[];
BEGIN
	SELECT * INTO a FROM @extschema@.attachment t WHERE t.source = rollup_source_keys.source;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'source "%" is not attached', source
			USING ERRCODE = 'undefined_object',
				  HINT = 'Attach it again (tokacct.attach_otel(), attach_langfuse()), or drop its rollup with tokacct.rollup_source_drop().';
	END IF;
	-- xmin is 32 bits, read by age() against one reference transaction (the
	-- same for the whole transaction; age() is parallel restricted, so never
	-- another in a worker).  A row is new when its xmin is in [lo, lo +
	-- width), width reaching the newest xmin a row read can have (below the
	-- snapshot's xmax, or this transaction's own id): when its age is in
	-- (h - width, h], h lo's age, modulo 2^32.  That window only, not every
	-- age below h: a frozen row keeps its xmin, which reads as newer than
	-- the reference (a negative age) 2^31 transactions after it was written.
	IF lo IS NULL THEN
		cond := 'true';
	ELSE
		h := pg_catalog.age((lo % 4294967296)::text::xid);
		width := greatest(pg_snapshot_xmax(pg_current_snapshot())::text::int8 - lo, h + 1);
		lw := h - width;
		cond := format('@extschema@.rollup_source_written(pg_catalog.age(r.xmin), %s, %s)', h, lw);
	END IF;
	-- Tracked tables (rollup_source_track()) say which rows are new by their
	-- stamp, through its index: the rows written since lo.  Only once every
	-- transaction that wrote a row before the tracking began is older than
	-- lo (else a row without a stamp could still be new to this refresh),
	-- and only when every table (every partition of a partitioned one,
	-- every child of an inheritance parent: the scan reads them all) has
	-- had the stamp and its trigger, always enabled, since before lo (their
	-- catalog rows older than lo): else by xmin.
	IF lo IS NOT NULL THEN
		SELECT p.tracked_xmax INTO tracked FROM @extschema@.rollup_source p WHERE p.source = rollup_source_keys.source;
		IF tracked IS NOT NULL AND lo >= tracked::text::int8 AND (SELECT pg_catalog.bool_and(EXISTS (
				SELECT 1 FROM pg_attribute c JOIN pg_trigger g ON g.tgrelid = c.attrelid
				 WHERE c.attrelid = t.relid AND c.attname = 'tokacct_written_xid' AND NOT c.attisdropped
				   AND c.atttypid = 'pg_catalog.xid8'::regtype
				   AND g.tgname = 'tokacct_written_xid' AND g.tgenabled = 'A'
				   AND g.tgfoid = '@extschema@.rollup_source_stamp()'::regprocedure
				   -- and so since before lo: a trigger disabled and enabled
				   -- again (or a column added again) since lo may have let
				   -- rows written meanwhile go unstamped
				   AND NOT @extschema@.rollup_source_written(pg_catalog.age(g.xmin), h, lw)
				   AND NOT @extschema@.rollup_source_written(pg_catalog.age(c.xmin), h, lw)))
			  FROM (WITH RECURSIVE d(relid) AS (
						SELECT r.rel::oid FROM unnest(a.relations) r(rel)
						UNION SELECT i.inhrelid FROM pg_inherits i JOIN d ON i.inhparent = d.relid)
					SELECT d.relid FROM d) t) THEN
			cond := format('r.tokacct_written_xid OPERATOR(pg_catalog.>=) %L::pg_catalog.xid8', lo);
		END IF;
	END IF;
	FOR i IN 1 .. array_length(a.relations, 1) LOOP
		rel := a.relations[i];
		-- held before it is checked, until the refresh commits: what is
		-- checked is what the refresh reads
		PERFORM @extschema@.rollup_source_hold(rel);
		IF a.kind = 'otel' THEN
			col := coalesce(a.options -> 'columns' ->> 'trace_id', 'TraceId');
		ELSIF a.kind = 'langfuse' THEN
			-- attach_langfuse stores observations, traces[, scores]
			col := CASE i WHEN 2 THEN 'id' ELSE 'trace_id' END;
		ELSE
			RAISE EXCEPTION 'a rollup of source "%" is not supported: its kind is %', source, a.kind
				USING ERRCODE = 'feature_not_supported',
					  DETAIL = 'A refresh finds the traces touched since the last one by a column holding the trace id; sources of kind otel and langfuse have one.',
					  HINT = 'Aggregate its calls view directly.';
		END IF;
		IF NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = rel AND c.relkind IN ('r', 'p')) THEN
			RAISE EXCEPTION 'a rollup of source "%" needs tables: % is not one', source, rel
				USING ERRCODE = 'feature_not_supported',
					  DETAIL = 'A refresh finds the rows written since the last one by their xmin, which only tables have.',
					  HINT = 'Aggregate its calls view directly.';
		END IF;
		-- read as every caller-named relation is (the trace key only)
		PERFORM @extschema@.source_check(rel, ARRAY[col], ARRAY['id']);
		-- A partition attached (or an inheritance child added) since lo
		-- brings rows written before, whatever their xmin or stamp: such a
		-- table (every table under it) is read whole, once.
		joined := NULL;
		IF lo IS NOT NULL THEN
			WITH RECURSIVE d(relid, new) AS (
				SELECT i.inhrelid, @extschema@.rollup_source_written(pg_catalog.age(i.xmin), h, lw)
				  FROM pg_inherits i WHERE i.inhparent = rel
				UNION
				SELECT i.inhrelid, d.new OR @extschema@.rollup_source_written(pg_catalog.age(i.xmin), h, lw)
				  FROM pg_inherits i JOIN d ON i.inhparent = d.relid)
			SELECT pg_catalog.array_agg(DISTINCT d.relid) FILTER (WHERE d.new) INTO joined FROM d;
		END IF;
		parts := parts || format('SELECT %s AS trace_id FROM %s r WHERE %s',
			@extschema@.attach_column(rel, col, 'text', 'trace id'), rel,
			CASE WHEN joined IS NULL THEN cond
				ELSE format('(%s) OR r.tableoid OPERATOR(pg_catalog.=) ANY (%L::pg_catalog.oid[])', cond, joined) END);
	END LOOP;
	RETURN format('SELECT DISTINCT k.trace_id FROM (%s) k', array_to_string(parts, ' UNION ALL '));
END
$fn$;
COMMENT ON FUNCTION @extschema@.rollup_source_keys(pg_catalog.text, pg_catalog.int8) IS
	'step of rollup_source_refresh(): the SQL listing the traces of a source with rows written by transaction lo or later (every trace when NULL)';

-- Recompute the traces of the source listed in traces (every trace when
-- NULL) from its calls view, replace their contributions and rebuild the
-- daily rows they touch; returns the traces recomputed and the rows rebuilt.
CREATE FUNCTION @extschema@.rollup_source_apply(source pg_catalog.text, traces pg_catalog.text[],
	OUT traces_done pg_catalog.int8, OUT groups_done pg_catalog.int8)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	a @extschema@.attachment%ROWTYPE;
	calls_view text;
	per_trace text;
	sums text;
	-- the summed columns of a contribution and of a day's row, in order
	summed text[] := ARRAY['calls', 'calls_left_out', 'input_tokens', 'output_tokens', 'cache_read_tokens',
						   'cache_write_tokens', 'reasoning_tokens', 'cost', 'reported_cost', 'list_cost'];
	-- the calls without a trace id, when they are among the traces
	no_trace text := 'c.trace_id IS NULL AND pg_catalog.array_position($2, NULL::pg_catalog.text) IS NOT NULL';
	-- (a full run's condition on the calls: no trace id too long for the keys)
	short_id text := '(c.trace_id IS NULL OR pg_catalog.octet_length(c.trace_id) <= 400)';
	too_long int8;
	traces_view text;
	spans_view text;
	v text;
	-- a group's key (see rollup_source_group())
	gkey text := '@extschema@.rollup_source_group(%1$s.day, %1$s.workflow, %1$s.model)';
BEGIN
	SELECT * INTO a FROM @extschema@.attachment t WHERE t.source = rollup_source_apply.source;
	calls_view := format('%I.%I', a.view_schema, a.view_prefix || 'calls');
	traces_view := format('%I.%I', a.view_schema, a.view_prefix || 'traces');
	IF to_regclass(traces_view) IS NULL OR NOT traces_view = ANY (a.views) THEN
		traces_view := NULL;
	END IF;
	-- Retry economics and waste need the traces view's attempt facts and
	-- the spans view's own status (a source attached before they had them
	-- has neither until attached again, which makes the next refresh count
	-- everything).
	spans_view := format('%I.%I', a.view_schema, a.view_prefix || 'spans');
	IF traces_view IS NULL OR NOT spans_view = ANY (a.views) OR (
			SELECT count(*) FROM pg_attribute c
			 WHERE (c.attrelid, c.attname) IN ((to_regclass(traces_view), 'recorded_attempt'), (to_regclass(spans_view), 'span_status'))
			   AND NOT c.attisdropped) < 2 THEN
		spans_view := NULL;
	END IF;
	-- The views belong to whoever attached the source, who can replace them
	-- (and tokacct.attachment, where their names come from, is written by
	-- admins): their functions run as the caller, so read them only when
	-- their owner has the caller's privileges, as source_check() does for a
	-- view.  Each is locked first, then checked: the owner of the view
	-- schema may drop a view and create another under its name, and a
	-- refresh that checked the view by its name and read it later would
	-- read the new one (waiting, when it reads, for the lock of the
	-- transaction that dropped the old).  Locked, the name keeps its view
	-- until this transaction ends.
	FOREACH v IN ARRAY array_remove(ARRAY[calls_view, traces_view, spans_view], NULL) LOOP
		IF to_regclass(v) IS NULL THEN
			RAISE EXCEPTION 'cannot refresh the rollup of source "%": its % view % is missing', source,
				CASE v WHEN calls_view THEN 'calls' WHEN traces_view THEN 'traces' ELSE 'spans' END, v
				USING ERRCODE = 'undefined_table',
					  HINT = 'Attach the source again (its attach function with the same arguments makes the views), or drop its rollup with tokacct.rollup_source_drop().';
		END IF;
		EXECUTE format('LOCK TABLE %s IN ACCESS SHARE MODE', v);
		IF NOT EXISTS (SELECT 1 FROM pg_class c
						WHERE c.oid = to_regclass(v) AND c.relkind = 'v'
						  AND pg_has_role(c.relowner, current_user, 'USAGE')) THEN
			RAISE EXCEPTION 'cannot refresh the rollup of source "%": its % view % is not one this role can read safely',
				source, CASE v WHEN calls_view THEN 'calls' WHEN traces_view THEN 'traces' ELSE 'spans' END, v
				USING ERRCODE = 'insufficient_privilege',
					  DETAIL = format('The view is missing or owned by %s, who lacks the privileges of role "%s"; reading it would run that role''s code with yours.',
							coalesce((SELECT c.relowner::regrole::text FROM pg_class c WHERE c.oid = to_regclass(v)), 'nobody'), current_user),
					  HINT = 'Refresh as the role that attached the source (or one whose privileges it has), or attach it again as this role.';
		END IF;
	END LOOP;
	-- No trace written since the last refresh (a schedule running over an
	-- idle source): the views checked, nothing to recompute.
	IF cardinality(traces) = 0 THEN
		traces_done := 0;
		groups_done := 0;
		RETURN;
	END IF;
	-- What a set of contributions adds to each group it falls in (%1$s: the
	-- rows, %2$s: their group key).
	sums := format('SELECT %%2$s AS gkey, g.day, g.workflow, g.model, count(g.trace_id) AS traces, %s, '
		'@extschema@.merge(g.cost_sketch) AS cost_sketch FROM %%1$s g GROUP BY 1, 2, 3, 4',
		(SELECT string_agg(format('sum(g.%1$I) AS %1$I', c), ', ') FROM unnest(summed) c));
	-- (left by an earlier refresh of this transaction that failed in a
	-- subtransaction)
	IF to_regclass('pg_temp.rollup_source_old') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_old;
	END IF;
	IF to_regclass('pg_temp.rollup_source_new') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_new;
	END IF;
	IF to_regclass('pg_temp.rollup_source_groups') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_groups;
	END IF;
	IF to_regclass('pg_temp.rollup_source_touched') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_touched;
	END IF;
	-- the old contributions of the traces, summed per group
	EXECUTE format($q$
	CREATE TEMP TABLE rollup_source_old ON COMMIT DROP AS
	WITH old AS (
		DELETE FROM @extschema@.rollup_source_trace t
		 WHERE t.source = $1 AND %s
		RETURNING t.*
	)
	%s$q$, CASE WHEN traces IS NULL THEN 'true'
		-- (in two conditions the index on the trace id answers)
		ELSE '(t.trace_id = ANY ($2) OR (t.trace_id IS NULL AND array_position($2, NULL::text) IS NOT NULL))' END,
		format(sums, 'old', format(gkey, 'g')))
	USING source, traces;
	-- their new contributions, from the calls view, summed per group.  The
	-- touched traces are read in one pass: their calls from the calls view
	-- (read without the workflow, which the view would take from every
	-- trace of the source: PostgreSQL passes a list of trace ids down to
	-- the table, not through a join), their workflow from the traces view
	-- (a list of trace ids reaches the table through its GROUP BY), whose
	-- rows the retry part reads too.  A source attached before the traces
	-- view existed (it has none until attached again) takes the calls view
	-- whole.
	IF traces_view IS NOT NULL THEN
		EXECUTE format('CREATE TEMP TABLE rollup_source_touched ON COMMIT DROP AS '
			'SELECT t.trace_id, @extschema@.rollup_source_key(t.workflow) AS workflow%s FROM %s t%s',
			CASE WHEN spans_view IS NOT NULL
				THEN ', @extschema@.rollup_source_key(t.item) AS item, t.started_at, t.succeeded, t.recorded_attempt' END,
			traces_view, CASE WHEN traces IS NOT NULL THEN ' WHERE t.trace_id = ANY ($1)' END)
		USING traces;
		-- (a full run: the traces whose id is too long for the rollup's
		-- keys are left out; a refresh's list has none)
		DELETE FROM pg_temp.rollup_source_touched t WHERE pg_catalog.octet_length(t.trace_id) > 400;
		GET DIAGNOSTICS too_long = ROW_COUNT;
		IF too_long > 0 THEN
			RAISE NOTICE 'tokacct: % traces of source "%" left out of its rollup: a trace id longer than 400 bytes', too_long, source;
		END IF;
		ANALYZE pg_temp.rollup_source_touched;
	END IF;
	-- With the context part, the touched calls are kept for it (read once).
	IF to_regclass('pg_temp.rollup_source_calls') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_calls;
	END IF;
	IF spans_view IS NOT NULL THEN
		EXECUTE format('CREATE TEMP TABLE rollup_source_calls ON COMMIT DROP AS '
			'SELECT c.trace_id, c.span_id, @extschema@.rollup_source_key(c.conversation_id) AS conversation_id, '
			'c.started_at, t.workflow, @extschema@.rollup_source_key(c.model) AS model, c.input_tokens, '
			'c.output_tokens, c.cache_read_tokens, c.cache_write_tokens, c.reasoning_tokens, c.cost, c.cost_source, c.list_cost '
			'FROM %1$s c LEFT JOIN pg_temp.rollup_source_touched t ON t.trace_id = c.trace_id WHERE %2$s',
			calls_view, CASE WHEN traces IS NULL THEN short_id ELSE 'c.trace_id = ANY ($2)' END)
		USING source, traces;
		IF traces IS NOT NULL THEN
			EXECUTE format('INSERT INTO pg_temp.rollup_source_calls '
				'SELECT c.trace_id, c.span_id, @extschema@.rollup_source_key(c.conversation_id), c.started_at, NULL, '
				'@extschema@.rollup_source_key(c.model), c.input_tokens, '
				'c.output_tokens, c.cache_read_tokens, c.cache_write_tokens, c.reasoning_tokens, c.cost, c.cost_source, c.list_cost '
				'FROM %1$s c WHERE %2$s', calls_view, no_trace)
			USING source, traces;
		END IF;
	END IF;
	per_trace := $q$
		SELECT c.trace_id, (c.started_at AT TIME ZONE 'UTC')::date AS day,
			   @extschema@.rollup_source_key(%3$s) AS workflow, @extschema@.rollup_source_key(c.model) AS model,
			   count(*), count(*) FILTER (WHERE c.cost IS NULL),
			   coalesce(sum(c.input_tokens), 0), coalesce(sum(c.output_tokens), 0),
			   coalesce(sum(c.cache_read_tokens), 0), coalesce(sum(c.cache_write_tokens), 0),
			   coalesce(sum(c.reasoning_tokens), 0),
			   coalesce(sum(c.cost), 0), coalesce(sum(c.cost) FILTER (WHERE c.cost_source = 'reported'), 0),
			   coalesce(sum(c.list_cost), 0), @extschema@.cost_sketch(c.cost)
		  FROM %1$s c%4$s
		 WHERE %2$s
		 GROUP BY 1, 2, 3, 4$q$;
	EXECUTE format($q$
	CREATE TEMP TABLE rollup_source_new ON COMMIT DROP AS
	WITH new AS (
		INSERT INTO @extschema@.rollup_source_trace
		SELECT $1, x.* FROM (%1$s) x
		RETURNING *
	)
	%2$s$q$,
		CASE WHEN spans_view IS NOT NULL THEN format(per_trace, 'pg_temp.rollup_source_calls', 'true', 'c.workflow', '')
		WHEN traces_view IS NULL AND traces IS NULL THEN format(per_trace, calls_view, short_id, 'c.workflow', '')
		WHEN traces_view IS NULL THEN format(per_trace, calls_view, 'c.trace_id = ANY ($2) OR ' || no_trace, 'c.workflow', '')
		WHEN traces IS NULL THEN format(per_trace, calls_view, short_id, 't.workflow',
				' LEFT JOIN pg_temp.rollup_source_touched t ON t.trace_id = c.trace_id')
		ELSE format(per_trace, calls_view, 'c.trace_id = ANY ($2)', 't.workflow',
				' LEFT JOIN pg_temp.rollup_source_touched t ON t.trace_id = c.trace_id')
			|| ' UNION ALL ' || format(per_trace, calls_view, no_trace, 'NULL::pg_catalog.text', '') END,
		format(sums, 'new', format(gkey, 'g')))
	USING source, traces;
	-- (a full run: every trace, with calls or not, as the traces view has
	-- them; the calls' traces where the source has no traces view)
	IF traces IS NOT NULL THEN
		traces_done := coalesce(array_length(traces, 1), 0);
	ELSIF traces_view IS NOT NULL THEN
		traces_done := (SELECT count(*) FROM pg_temp.rollup_source_touched);
	ELSE
		traces_done := (SELECT count(DISTINCT t.trace_id) FROM @extschema@.rollup_source_trace t
						 WHERE t.source = rollup_source_apply.source);
	END IF;

	-- Each group touched: its row as it was, less the old contributions,
	-- plus the new ones (one row per group; in a full run every contribution
	-- is new and the rows are the new sums).  Sums subtract exactly; a cost
	-- sketch does when the costs taken out lie strictly inside the row's
	-- min and max (sketch_subtract() is NULL otherwise): those groups are
	-- rebuilt from their contributions.
	EXECUTE format($q$
	CREATE TEMP TABLE rollup_source_groups ON COMMIT DROP AS
	SELECT k.gkey, k.day, k.workflow, k.model,
		   o.gkey IS NULL OR (d.gkey IS NOT NULL AND (o.cost_sketch IS NULL OR kept.s IS NOT NULL)) AS exact,
		   %2$s,
		   (SELECT @extschema@.merge(v.s) FROM (VALUES (kept.s), (n.cost_sketch)) v(s)) AS cost_sketch
	  FROM (SELECT x.gkey, x.day, x.workflow, x.model FROM pg_temp.rollup_source_old x
			UNION SELECT x.gkey, x.day, x.workflow, x.model FROM pg_temp.rollup_source_new x) k
	  LEFT JOIN pg_temp.rollup_source_old o ON o.gkey = k.gkey AND NOT $2
	  LEFT JOIN pg_temp.rollup_source_new n ON n.gkey = k.gkey
	  LEFT JOIN (SELECT %1$s AS gkey, d.* FROM @extschema@.rollup_source_daily d WHERE d.source = $1) d
		ON d.gkey = k.gkey AND NOT $2,
	-- the row's sketch less the old contributions' (NULL when not exact)
	LATERAL (SELECT CASE WHEN o.cost_sketch IS NULL THEN d.cost_sketch
						 ELSE @extschema@.sketch_subtract(d.cost_sketch, o.cost_sketch) END AS s) kept$q$,
		format(gkey, 'd'),
		(SELECT string_agg(format('coalesce(d.%1$I, 0) - coalesce(o.%1$I, 0) + coalesce(n.%1$I, 0) AS %1$I', c), ', ')
		   FROM unnest('traces'::text || summed) c))
	USING source, traces IS NULL;
	groups_done := (SELECT count(*) FROM pg_temp.rollup_source_groups);
	-- the daily rows of those groups replaced: by the sums above, or rebuilt
	-- group by group (each group's contributions found by the index)
	EXECUTE format('DELETE FROM @extschema@.rollup_source_daily d USING pg_temp.rollup_source_groups g '
		'WHERE d.source = $1 AND %s = g.gkey', format(gkey, 'd')) USING source;
	EXECUTE format($q$
	INSERT INTO @extschema@.rollup_source_daily
	SELECT $1, x.day, x.workflow, x.model, x.traces, %1$s, x.cost_sketch, statement_timestamp()
	  FROM pg_temp.rollup_source_groups x
	 WHERE x.exact AND x.calls > 0
	UNION ALL
	SELECT $1, x.day, x.workflow, x.model, x.traces, %1$s, x.cost_sketch, statement_timestamp()
	  FROM pg_temp.rollup_source_groups r,
	LATERAL (%2$s) x
	 WHERE NOT r.exact$q$,
		(SELECT string_agg(format('x.%I', c), ', ') FROM unnest(summed) c),
		format(sums, format('(SELECT t.* FROM @extschema@.rollup_source_trace t WHERE t.source = $1 AND %s = r.gkey)',
							format(gkey, 't')), format(gkey, 'g')))
	USING source;
	IF spans_view IS NOT NULL THEN
		PERFORM @extschema@.rollup_source_retry_apply(source, traces, spans_view);
		PERFORM @extschema@.rollup_source_waste_apply(source, traces, spans_view);
		PERFORM @extschema@.rollup_source_context_apply(source, traces, calls_view, traces_view);
		DROP TABLE pg_temp.rollup_source_items, pg_temp.rollup_source_calls;
	END IF;
	DROP TABLE pg_temp.rollup_source_old, pg_temp.rollup_source_new, pg_temp.rollup_source_groups;
	IF traces_view IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_touched;
	END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@.rollup_source_apply(pg_catalog.text, pg_catalog.text[]) IS
	'step of rollup_source_refresh(): recompute some traces (all when NULL) of a source from its calls view, replace their contributions and rebuild the daily rows they touch';

-- The body of a refresh, once the caller holds the source's refresh lock.
-- A refresh reads a few rows of each table by key (the touched traces,
-- their items, runs and conversations), from tables it has just read or
-- written: fetched by index, those pages are in memory.  At the default
-- cost of a random page (4 times a sequential one) the planner reads
-- whole tables instead once a refresh touches a few percent of the traces
-- (every statement then costs the table's size, not the new rows'); so a
-- refresh plans with the cost of a random page of a cached table.
CREATE FUNCTION @extschema@.rollup_source_run(source pg_catalog.text, full_run pg_catalog.bool)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	SET random_page_cost = 1.1
	AS $fn$
DECLARE
	prev pg_snapshot;
	prev_def text;
	def text;
	cur pg_snapshot;
	dist int8;
	touched text[];
	kept text[];
	r record;
	rel regclass;
	started timestamptz := clock_timestamp();
BEGIN
	SELECT p.snapshot, p.definition INTO prev, prev_def FROM @extschema@.rollup_source p
	 WHERE p.source = rollup_source_run.source FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'source "%" has no rollup', source
			USING ERRCODE = 'undefined_object',
				  HINT = format('Define it with CALL @extschema@.rollup_source_create(%L).', source);
	END IF;
	-- A restored database has the rollup's definition (dumped) without its
	-- traces and days (derived, not dumped) and with a snapshot of another
	-- cluster, whose ids mean nothing here: with no trace stored, count
	-- everything (cheap when the source was empty at the last refresh).  A
	-- trace without calls is stored too, as an attempt or a run: a source
	-- whose usage is on agent spans only is no restored one.
	IF prev IS NOT NULL
	   AND NOT EXISTS (SELECT 1 FROM @extschema@.rollup_source_trace t WHERE t.source = rollup_source_run.source)
	   AND NOT EXISTS (SELECT 1 FROM @extschema@.rollup_source_attempt a WHERE a.source = rollup_source_run.source)
	   AND NOT EXISTS (SELECT 1 FROM @extschema@.rollup_source_waste w WHERE w.source = rollup_source_run.source) THEN
		prev := NULL;
	END IF;
	-- taken once the lock is held and before the scan: every row the scan
	-- misses belongs to a transaction at least as new as cur's xmin
	cur := pg_current_snapshot();
	-- The views the refresh reads: a source attached again with other
	-- options or columns counts otherwise with no row written, so its
	-- every trace is counted again.  (Read after cur: the views read later
	-- are at least as new; a source attached again meanwhile is counted
	-- again by the next refresh.)
	def := (SELECT a.definition FROM @extschema@.attachment a WHERE a.source = rollup_source_run.source);
	IF NOT full_run AND prev IS NOT NULL AND prev_def IS NOT DISTINCT FROM def THEN
		dist := pg_snapshot_xmax(cur)::text::int8 - pg_snapshot_xmin(prev)::text::int8;
		IF dist >= 2147483648 THEN
			dist := NULL;	-- too long ago for a 32-bit xmin: count everything
		END IF;
	END IF;
	IF dist IS NULL THEN
		PERFORM @extschema@.rollup_source_keys(source, NULL);	-- the checks
		r := @extschema@.rollup_source_apply(source, NULL);
	ELSE
		EXECUTE format('SELECT pg_catalog.array_agg(x.trace_id) FROM (%s) x',
			@extschema@.rollup_source_keys(source, pg_snapshot_xmin(prev)::text::int8))
			INTO touched;
		-- a trace id too long for the rollup's keys: the trace is left out
		kept := ARRAY(SELECT x FROM unnest(touched) x WHERE x IS NULL OR pg_catalog.octet_length(x) <= 400);
		IF cardinality(kept) < cardinality(touched) THEN
			RAISE NOTICE 'tokacct: % traces of source "%" left out of its rollup: a trace id longer than 400 bytes',
				cardinality(touched) - cardinality(kept), source;
		END IF;
		r := @extschema@.rollup_source_apply(source, kept);
	END IF;
	-- A full run fills the rollup's tables at once: their statistics, as
	-- autovacuum would take them later, so that the next refresh finds its
	-- few rows by their indexes (analysed by their owner only).
	IF dist IS NULL THEN
		FOR rel IN SELECT c.oid::regclass FROM pg_class c
					WHERE c.relnamespace = '@extschema@'::regnamespace AND c.relkind = 'r'
					  AND c.relname LIKE 'rollup\_source\_%' AND pg_has_role(c.relowner, 'USAGE') ORDER BY c.relname LOOP
			EXECUTE format('ANALYZE %s', rel);
		END LOOP;
	END IF;
	UPDATE @extschema@.rollup_source p
	   SET snapshot = cur, definition = def, runs = p.runs + 1, last_run_at = started, last_full = dist IS NULL,
		   last_traces = r.traces_done, last_groups = r.groups_done, last_duration = clock_timestamp() - started
	 WHERE p.source = rollup_source_run.source;
END
$fn$;
COMMENT ON FUNCTION @extschema@.rollup_source_run(pg_catalog.text, pg_catalog.bool) IS
	'step of rollup_source_refresh() and rollup_source_rebuild(): recompute the traces touched since the saved snapshot (all when full_run or never refreshed), save the new one';

CREATE PROCEDURE @extschema@.rollup_source_create(source pg_catalog.text)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	IF source IS NULL THEN
		RAISE EXCEPTION 'source must not be NULL' USING ERRCODE = 'null_value_not_allowed',
			HINT = 'Name an attached source (tokacct.attachment lists them).';
	END IF;
	PERFORM @extschema@.rollup_source_keys(source, NULL);	-- attached, of a kind a refresh can follow
	INSERT INTO @extschema@.rollup_source (source) VALUES (source) ON CONFLICT DO NOTHING;
END
$fn$;
COMMENT ON PROCEDURE @extschema@.rollup_source_create(pg_catalog.text) IS
	'define the rollup of an attached source (otel or langfuse) into rollup_source_daily; the first tokacct.rollup_source_refresh() fills it; defining it again changes nothing';

CREATE PROCEDURE @extschema@.rollup_source_refresh(source pg_catalog.text, wait pg_catalog.bool DEFAULT true)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	PERFORM @extschema@.rollup_check('rollup_source_refresh');
	IF source IS NULL OR wait IS NULL THEN
		RAISE EXCEPTION 'source and wait must not be NULL' USING ERRCODE = 'null_value_not_allowed',
			HINT = 'Name an attached source with a rollup (tokacct.rollup_source lists them); wait is true (wait for a running refresh) or false (skip).';
	END IF;
	-- Refreshes of a source take turns by a lock on its row of
	-- rollup_source, which only a role that may update that table can take
	-- (an advisory lock any role could take and hold).  A source without a
	-- rollup has no row: rollup_source_run says so.
	PERFORM FROM @extschema@.rollup_source p WHERE p.source = rollup_source_refresh.source
	  FOR NO KEY UPDATE SKIP LOCKED;
	IF NOT FOUND AND EXISTS (SELECT FROM @extschema@.rollup_source p WHERE p.source = rollup_source_refresh.source) THEN
		IF NOT wait THEN
			RAISE NOTICE 'tokacct.rollup_source_refresh: another refresh of source "%" is running; skipped', source;
			RETURN;
		END IF;
		RAISE NOTICE 'tokacct.rollup_source_refresh: another refresh of source "%" is running; waiting for it', source;
		PERFORM FROM @extschema@.rollup_source p WHERE p.source = rollup_source_refresh.source FOR NO KEY UPDATE;
	END IF;
	PERFORM @extschema@.rollup_source_run(source, false);
END
$fn$;
COMMENT ON PROCEDURE @extschema@.rollup_source_refresh(pg_catalog.text, pg_catalog.bool) IS
	'bring the rollup of an attached source up to date: recompute the traces with rows inserted or updated since the last refresh, exactly once; a second refresh of the source waits (or, with wait => false, skips) while one runs';

CREATE PROCEDURE @extschema@.rollup_source_rebuild(source pg_catalog.text)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	PERFORM @extschema@.rollup_check('rollup_source_rebuild');
	IF source IS NULL THEN
		RAISE EXCEPTION 'source must not be NULL' USING ERRCODE = 'null_value_not_allowed',
			HINT = 'Name an attached source with a rollup (tokacct.rollup_source lists them).';
	END IF;
	PERFORM FROM @extschema@.rollup_source p WHERE p.source = rollup_source_rebuild.source FOR NO KEY UPDATE;
	PERFORM @extschema@.rollup_source_run(source, true);
END
$fn$;
COMMENT ON PROCEDURE @extschema@.rollup_source_rebuild(pg_catalog.text) IS
	'recompute the rollup of an attached source from every trace (after spans were deleted, or prices corrected)';

CREATE PROCEDURE @extschema@.rollup_source_drop(source pg_catalog.text)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	IF source IS NULL THEN
		RAISE EXCEPTION 'source must not be NULL' USING ERRCODE = 'null_value_not_allowed',
			HINT = 'Name an attached source with a rollup (tokacct.rollup_source lists them).';
	END IF;
	-- (the delete waits for a refresh of the source, which holds its row)
	DELETE FROM @extschema@.rollup_source p WHERE p.source = rollup_source_drop.source;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'source "%" has no rollup', source USING ERRCODE = 'undefined_object',
			HINT = 'Name an attached source with a rollup (tokacct.rollup_source lists them).';
	END IF;
END
$fn$;
COMMENT ON PROCEDURE @extschema@.rollup_source_drop(pg_catalog.text) IS
	'drop the rollup of a source (its rows in rollup_source_daily, rollup_source_trace and the retry tables)';

-- Views for BI ------------------------------------------------------------------

CREATE VIEW @extschema@.rollup_source_monthly WITH (security_invoker = true) AS
	SELECT r.source, pg_catalog.date_trunc('month', r.day::pg_catalog.timestamp)::pg_catalog.date AS month,
		   r.workflow, r.model,
		   pg_catalog.sum(r.calls)::pg_catalog.int8 AS calls,
		   pg_catalog.sum(r.calls_left_out)::pg_catalog.int8 AS calls_left_out,
		   pg_catalog.sum(r.input_tokens) AS input_tokens,
		   pg_catalog.sum(r.output_tokens) AS output_tokens,
		   pg_catalog.sum(r.cache_read_tokens) AS cache_read_tokens,
		   pg_catalog.sum(r.cache_write_tokens) AS cache_write_tokens,
		   pg_catalog.sum(r.reasoning_tokens) AS reasoning_tokens,
		   pg_catalog.sum(r.cost) AS cost,
		   pg_catalog.sum(r.reported_cost) AS reported_cost,
		   pg_catalog.sum(r.list_cost) AS list_cost,
		   @extschema@.cost_quantile(@extschema@.merge(r.cost_sketch), 0.5) AS p50_cost,
		   @extschema@.cost_quantile(@extschema@.merge(r.cost_sketch), 0.95) AS p95_cost,
		   @extschema@.cost_quantile(@extschema@.merge(r.cost_sketch), 0.99) AS p99_cost,
		   @extschema@.tail_ratio(@extschema@.merge(r.cost_sketch)) AS tail_ratio
	  FROM @extschema@.rollup_source_daily r
	 GROUP BY r.source, 2, r.workflow, r.model;
COMMENT ON VIEW @extschema@.rollup_source_monthly IS 'the daily rollups of attached sources merged per calendar month (UTC) x workflow x model: money exact, quantiles of the cost of one call from the merged sketches';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.source IS 'the attached source';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.month IS 'first day of the month (NULL for calls without a start time)';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.workflow IS 'workflow (NULL: none)';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.model IS 'model';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.calls IS 'calls';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.calls_left_out IS 'calls left out of the money';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.input_tokens IS 'input tokens, cache included';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.output_tokens IS 'output tokens, reasoning included';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.cache_read_tokens IS 'input tokens read from the cache';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.cache_write_tokens IS 'input tokens written to the cache';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.reasoning_tokens IS 'output tokens spent on reasoning';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.cost IS 'exact cost of the counted calls, USD';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.reported_cost IS 'the part of cost the traces reported';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.list_cost IS 'catalog list price of the calls the catalog prices';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.p50_cost IS 'median cost of one call (within 1% relative)';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.p95_cost IS '95th percentile of the cost of one call (within 1% relative)';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.p99_cost IS '99th percentile of the cost of one call (within 1% relative)';
COMMENT ON COLUMN @extschema@.rollup_source_monthly.tail_ratio IS 'p95 / p50 (NULL when p50 is 0)';
