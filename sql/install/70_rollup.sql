
-- ---------------------------------------------------------------------------
-- Rollups of the call ledger and budgets.
--
-- tokacct.rollup_refresh() folds the ledger's new rows (tokacct.price_call)
-- into tokacct.rollup_daily, one row per UTC day x workflow x model x team x
-- tag with exact money, tokens by kind and a mergeable cost sketch, so a
-- month's totals and quantiles come from merging days.
--
-- Exactly once.  Every ledger row carries the id of the transaction that
-- inserted it (ingest_xid, set by a trigger whatever the insert says).  A
-- refresh takes a snapshot (pg_current_snapshot()) once it holds the
-- refresh lock, and counts the rows whose transaction is visible in that
-- snapshot but was not visible in the snapshot of the previous refresh:
-- rows committed since, whatever their time stamp (late rows), and rows of
-- transactions that were still open during the previous refresh.  The
-- snapshot is saved in tokacct.rollup_progress in the same transaction as
-- the rollup rows, so a refresh that dies leaves both as they were and the
-- next one does its work again; a refresh that commits has counted each of
-- its rows once.  Rows below the previous snapshot's xmin were all visible
-- to it: the index on ingest_xid makes a refresh read the rows from there
-- on, so its cost grows with the rows since the oldest transaction open at
-- the previous refresh, not with the ledger.
--
-- The ledger is append-only for the rollups: a row updated or deleted after
-- it was counted stays counted as it was (tokacct.rollup_rebuild() counts
-- everything again), and costs are priced with the catalog in force when the
-- row is counted.
-- ---------------------------------------------------------------------------

ALTER TABLE @extschema@.price_call
	ADD COLUMN workflow pg_catalog.text,
	ADD COLUMN team pg_catalog.text,
	ADD COLUMN tag pg_catalog.text,
	ADD COLUMN ingest_xid pg_catalog.xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id();
COMMENT ON COLUMN @extschema@.price_call.workflow IS 'workflow the call served (a rollup and budget dimension)';
COMMENT ON COLUMN @extschema@.price_call.team IS 'team that owns the call (a rollup and budget dimension)';
COMMENT ON COLUMN @extschema@.price_call.tag IS 'free tag: project, feature, environment (a rollup and budget dimension)';
COMMENT ON COLUMN @extschema@.price_call.ingest_xid IS 'transaction that inserted the row (set on insert whatever the insert says, kept on update); tokacct.rollup_refresh() counts each row once by it';
CREATE INDEX price_call_ingest_xid ON @extschema@.price_call (ingest_xid);

CREATE FUNCTION @extschema@.price_call_ingest() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	IF TG_OP = 'INSERT' THEN
		NEW.ingest_xid := pg_catalog.pg_current_xact_id();
	ELSE
		NEW.ingest_xid := OLD.ingest_xid;
	END IF;
	RETURN NEW;
END
$fn$;
COMMENT ON FUNCTION @extschema@.price_call_ingest() IS
	'trigger: stamp a ledger row with the transaction that inserts it, and keep the stamp on update (rollups count rows by it)';
CREATE TRIGGER price_call_ingest BEFORE INSERT OR UPDATE OF ingest_xid ON @extschema@.price_call
	FOR EACH ROW EXECUTE FUNCTION @extschema@.price_call_ingest();
-- Always, in replica mode too: a row a logical replication subscription
-- applies is stamped with this cluster's transaction, not the publisher's
-- (which means nothing here and could lie ahead of this cluster's ids, so
-- that no refresh would count the row).
ALTER TABLE @extschema@.price_call ENABLE ALWAYS TRIGGER price_call_ingest;

-- The rollup -------------------------------------------------------------------

CREATE TABLE @extschema@.rollup_daily (
	day pg_catalog.date NOT NULL,
	workflow pg_catalog.text,
	model pg_catalog.text NOT NULL,
	team pg_catalog.text,
	tag pg_catalog.text,
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
) WITH (fillfactor = 50, toast_tuple_target = 8160);
-- fillfactor 50: a refresh updates rows in place (HOT, no index entry) while
-- their page has room; the rollup is small beside the ledger.
-- toast_tuple_target 8160: a row of a busy day holds a sketch of 1-2 kB; past
-- the default target of 2 kB every update would compress the row again
-- (pglz was a seventh of a refresh that touches every row).
CREATE UNIQUE INDEX rollup_daily_key ON @extschema@.rollup_daily (day, workflow, model, team, tag) NULLS NOT DISTINCT;
COMMENT ON TABLE @extschema@.rollup_daily IS
	'the call ledger rolled up per UTC day x workflow x model x team x tag by tokacct.rollup_refresh(): counts, exact money, tokens by kind and a cost sketch; sum or merge rows for any longer period';
COMMENT ON COLUMN @extschema@.rollup_daily.day IS 'UTC day of the calls (their at)';
COMMENT ON COLUMN @extschema@.rollup_daily.workflow IS 'workflow of the calls (NULL: none given)';
COMMENT ON COLUMN @extschema@.rollup_daily.model IS 'model as the calls reported it';
COMMENT ON COLUMN @extschema@.rollup_daily.team IS 'team of the calls (NULL: none given)';
COMMENT ON COLUMN @extschema@.rollup_daily.tag IS 'tag of the calls (NULL: none given)';
COMMENT ON COLUMN @extschema@.rollup_daily.calls IS 'calls counted';
COMMENT ON COLUMN @extschema@.rollup_daily.calls_left_out IS 'calls that could not be priced (tokacct.price_call_cost says why): in calls and the token counts, not in the money';
COMMENT ON COLUMN @extschema@.rollup_daily.input_tokens IS 'input tokens, cache reads and writes included';
COMMENT ON COLUMN @extschema@.rollup_daily.output_tokens IS 'output tokens, reasoning included';
COMMENT ON COLUMN @extschema@.rollup_daily.cache_read_tokens IS 'input tokens read from the cache';
COMMENT ON COLUMN @extschema@.rollup_daily.cache_write_tokens IS 'input tokens written to the cache';
COMMENT ON COLUMN @extschema@.rollup_daily.reasoning_tokens IS 'output tokens spent on reasoning';
COMMENT ON COLUMN @extschema@.rollup_daily.cost IS 'exact cost of the priced calls, as tokacct.price_call_cost gives it (reported, else contract, else list price)';
COMMENT ON COLUMN @extschema@.rollup_daily.reported_cost IS 'the part of cost the provider reported';
COMMENT ON COLUMN @extschema@.rollup_daily.list_cost IS 'catalog list price of the calls the catalog prices';
COMMENT ON COLUMN @extschema@.rollup_daily.cost_sketch IS 'cost_sketch() of the priced calls'' costs (NULL when none was priced); tokacct.merge() merges days';
COMMENT ON COLUMN @extschema@.rollup_daily.updated_at IS 'when a refresh last added to the row';

-- Refreshes of the ledger's rollup take turns by a row lock on the one row
-- of this table: only a role that may update it (the extension's owner, an
-- admin) can take that lock.  (An advisory lock, which any role that can
-- connect may take and hold, would let it stop every refresh.)  The row
-- comes with the extension, so it is not dumped.
CREATE TABLE @extschema@.rollup_lock (
	rollup pg_catalog.text PRIMARY KEY CHECK (rollup OPERATOR(pg_catalog.=) 'ledger')
);
INSERT INTO @extschema@.rollup_lock (rollup) VALUES ('ledger');
COMMENT ON TABLE @extschema@.rollup_lock IS
	'the row a refresh or rebuild of the ledger''s rollup locks while it runs, so that refreshes take turns (attached sources lock their row of tokacct.rollup_source)';
COMMENT ON COLUMN @extschema@.rollup_lock.rollup IS 'the rollup (ledger)';

-- The rollups are derived data and are not dumped: a snapshot means nothing
-- in a restored cluster, so after a restore both tables start empty and the
-- first refresh rebuilds the rollups from the restored ledger.
CREATE TABLE @extschema@.rollup_progress (
	rollup pg_catalog.text PRIMARY KEY CHECK (rollup OPERATOR(pg_catalog.=) 'ledger'),
	snapshot pg_catalog.pg_snapshot NOT NULL,
	runs pg_catalog.int8 NOT NULL,
	rows_counted pg_catalog.int8 NOT NULL,
	last_run_at pg_catalog.timestamptz NOT NULL,
	last_rows pg_catalog.int8 NOT NULL,
	last_left_out pg_catalog.int8 NOT NULL,
	last_duration pg_catalog.interval NOT NULL
);
COMMENT ON TABLE @extschema@.rollup_progress IS
	'how far tokacct.rollup_refresh() has counted the ledger, saved with the rollup rows in one transaction';
COMMENT ON COLUMN @extschema@.rollup_progress.rollup IS 'the rollup (ledger: tokacct.rollup_daily)';
COMMENT ON COLUMN @extschema@.rollup_progress.snapshot IS 'snapshot of the last refresh: the rows of transactions visible in it are counted, the others are left to the next refresh';
COMMENT ON COLUMN @extschema@.rollup_progress.runs IS 'refreshes committed';
COMMENT ON COLUMN @extschema@.rollup_progress.rows_counted IS 'ledger rows counted by all refreshes (those left out included)';
COMMENT ON COLUMN @extschema@.rollup_progress.last_run_at IS 'start of the last refresh';
COMMENT ON COLUMN @extschema@.rollup_progress.last_rows IS 'ledger rows the last refresh counted';
COMMENT ON COLUMN @extschema@.rollup_progress.last_left_out IS 'ledger rows the last refresh left out of every rollup row (a time at infinity)';
COMMENT ON COLUMN @extschema@.rollup_progress.last_duration IS 'how long the last refresh took';

-- Budgets ----------------------------------------------------------------------

CREATE TABLE @extschema@.budget (
	budget_id pg_catalog.int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	scope_kind pg_catalog.text NOT NULL
		CHECK (scope_kind OPERATOR(pg_catalog.=) ANY (ARRAY['team', 'workflow', 'tag'])),
	scope pg_catalog.text NOT NULL,
	period_start pg_catalog.date NOT NULL,
	period_end pg_catalog.date NOT NULL,
	amount pg_catalog.numeric NOT NULL
		CHECK (amount OPERATOR(pg_catalog.>) 0 AND amount OPERATOR(pg_catalog.<=) 9223372.036854775807),
	alert_at pg_catalog.numeric[] NOT NULL DEFAULT '{0.5,0.8,1}',
	spent pg_catalog.numeric,
	spent_at pg_catalog.timestamptz,
	note pg_catalog.text,
	CONSTRAINT budget_period CHECK (period_start OPERATOR(pg_catalog.<) period_end
		AND pg_catalog.isfinite(period_start) AND pg_catalog.isfinite(period_end)),
	CONSTRAINT budget_alert_at CHECK (pg_catalog.array_ndims(alert_at) OPERATOR(pg_catalog.=) 1
		AND 0 OPERATOR(pg_catalog.<) ALL (alert_at) AND 10 OPERATOR(pg_catalog.>=) ALL (alert_at)
		AND pg_catalog.array_position(alert_at, NULL::pg_catalog.numeric) IS NULL),
	CONSTRAINT budget_unique UNIQUE (scope_kind, scope, period_start)
);
COMMENT ON TABLE @extschema@.budget IS
	'spending limits per team, workflow or tag and period; tokacct.rollup_refresh() keeps spent up to date, tokacct.budget_status reports burn rate and run-out date';
COMMENT ON COLUMN @extschema@.budget.budget_id IS 'row id';
COMMENT ON COLUMN @extschema@.budget.scope_kind IS 'team, workflow or tag: which ledger column the budget limits';
COMMENT ON COLUMN @extschema@.budget.scope IS 'the team, workflow or tag';
COMMENT ON COLUMN @extschema@.budget.period_start IS 'first UTC day of the period';
COMMENT ON COLUMN @extschema@.budget.period_end IS 'first UTC day after the period';
COMMENT ON COLUMN @extschema@.budget.amount IS 'the budget, USD, more than 0';
COMMENT ON COLUMN @extschema@.budget.alert_at IS 'shares of the amount that raise an alert when spending reaches them (each above 0, at most 10)';
COMMENT ON COLUMN @extschema@.budget.spent IS 'cost of the scope''s calls in the period as of the last refresh (kept by tokacct.rollup_refresh(); NULL until the first)';
COMMENT ON COLUMN @extschema@.budget.spent_at IS 'when spent was last computed';
COMMENT ON COLUMN @extschema@.budget.note IS 'free text';
CREATE INDEX budget_scope ON @extschema@.budget (scope_kind, scope, period_start, period_end);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.budget', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.budget_budget_id_seq', '');

-- A budget whose scope or period changes is computed again by the next
-- refresh.
CREATE FUNCTION @extschema@.budget_changed() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	IF (NEW.scope_kind, NEW.scope, NEW.period_start, NEW.period_end)
			IS DISTINCT FROM (OLD.scope_kind, OLD.scope, OLD.period_start, OLD.period_end) THEN
		NEW.spent := NULL;
		NEW.spent_at := NULL;
	END IF;
	RETURN NEW;
END
$fn$;
COMMENT ON FUNCTION @extschema@.budget_changed() IS
	'trigger: a budget whose scope or period changes has its spending computed again by the next refresh';
CREATE TRIGGER budget_changed BEFORE UPDATE ON @extschema@.budget
	FOR EACH ROW EXECUTE FUNCTION @extschema@.budget_changed();

CREATE TABLE @extschema@.budget_alert (
	budget_id pg_catalog.int8 NOT NULL REFERENCES @extschema@.budget ON DELETE CASCADE,
	threshold pg_catalog.numeric NOT NULL,
	crossed_at pg_catalog.timestamptz NOT NULL,
	spent pg_catalog.numeric NOT NULL,
	amount pg_catalog.numeric NOT NULL,
	PRIMARY KEY (budget_id, threshold)
);
COMMENT ON TABLE @extschema@.budget_alert IS
	'one row per budget and threshold crossed, written by the refresh that saw spending reach it (once)';
COMMENT ON COLUMN @extschema@.budget_alert.budget_id IS 'the budget';
COMMENT ON COLUMN @extschema@.budget_alert.threshold IS 'the share of the amount reached (one of its alert_at)';
COMMENT ON COLUMN @extschema@.budget_alert.crossed_at IS 'time of the refresh that saw it reached';
COMMENT ON COLUMN @extschema@.budget_alert.spent IS 'spent at that refresh';
COMMENT ON COLUMN @extschema@.budget_alert.amount IS 'the budget''s amount then';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.budget_alert', '');

-- The refresh --------------------------------------------------------------------

-- Count the ledger rows visible in cur but not in prev into rollup_daily;
-- returns the rows counted and the rows left out, and the days touched.
CREATE FUNCTION @extschema@.rollup_apply(prev pg_catalog.pg_snapshot, cur pg_catalog.pg_snapshot,
	OUT counted pg_catalog.int8, OUT left_out pg_catalog.int8,
	OUT first_day pg_catalog.date, OUT last_day pg_catalog.date)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	-- EXECUTE: planned with the snapshots' values, so the index on
	-- ingest_xid is used when few rows are new.
	-- The names are kept as rollup_source_key() gives them: one over 400
	-- bytes (the ledger does not bound them) would pass the btree key limit
	-- of rollup_daily_key and stop every later refresh.
	EXECUTE $q$
	WITH d AS MATERIALIZED (
		SELECT c.at, @extschema@.rollup_source_key(c.workflow) AS workflow,
			   @extschema@.rollup_source_key(c.model) AS model,
			   @extschema@.rollup_source_key(c.team) AS team,
			   @extschema@.rollup_source_key(c.tag) AS tag, c.input_tokens, c.output_tokens,
			   c.cache_read_tokens, c.cache_write_tokens, c.reasoning_tokens,
			   l.cost, l.cost_source, l.list_cost
		  FROM @extschema@.price_call c
			   CROSS JOIN LATERAL @extschema@.ledger_cost(c.reported_cost, c.customer, c.provider, c.model,
					c.input_tokens, c.output_tokens, c.cache_read_tokens, c.cache_write_tokens,
					c.reasoning_tokens, c.at) l
		 WHERE c.ingest_xid >= pg_snapshot_xmin($1)
		   AND NOT pg_visible_in_snapshot(c.ingest_xid, $1)
		   AND pg_visible_in_snapshot(c.ingest_xid, $2)
	), agg AS (
		SELECT (d.at AT TIME ZONE 'UTC')::date AS day, d.workflow, d.model, d.team, d.tag,
			   count(*) AS calls,
			   count(*) FILTER (WHERE d.cost IS NULL) AS calls_left_out,
			   sum(d.input_tokens) AS input_tokens, sum(d.output_tokens) AS output_tokens,
			   sum(d.cache_read_tokens) AS cache_read_tokens, sum(d.cache_write_tokens) AS cache_write_tokens,
			   sum(d.reasoning_tokens) AS reasoning_tokens,
			   coalesce(sum(d.cost), 0) AS cost,
			   coalesce(sum(d.cost) FILTER (WHERE d.cost_source = 'reported'), 0) AS reported_cost,
			   coalesce(sum(d.list_cost), 0) AS list_cost,
			   @extschema@.cost_sketch(d.cost) AS cost_sketch
		  FROM d
		 WHERE isfinite(d.at)
		 GROUP BY 1, 2, 3, 4, 5
	), ins AS (
		INSERT INTO @extschema@.rollup_daily AS r
		SELECT agg.*, statement_timestamp() FROM agg
		ON CONFLICT (day, workflow, model, team, tag) DO UPDATE SET
			calls = r.calls + excluded.calls,
			calls_left_out = r.calls_left_out + excluded.calls_left_out,
			input_tokens = r.input_tokens + excluded.input_tokens,
			output_tokens = r.output_tokens + excluded.output_tokens,
			cache_read_tokens = r.cache_read_tokens + excluded.cache_read_tokens,
			cache_write_tokens = r.cache_write_tokens + excluded.cache_write_tokens,
			reasoning_tokens = r.reasoning_tokens + excluded.reasoning_tokens,
			cost = r.cost + excluded.cost,
			reported_cost = r.reported_cost + excluded.reported_cost,
			list_cost = r.list_cost + excluded.list_cost,
			cost_sketch = CASE WHEN r.cost_sketch IS NULL THEN excluded.cost_sketch
							   WHEN excluded.cost_sketch IS NULL THEN r.cost_sketch
							   ELSE (SELECT @extschema@.merge(s.s)
									   FROM (VALUES (r.cost_sketch), (excluded.cost_sketch)) s(s)) END,
			updated_at = excluded.updated_at
		RETURNING r.day
	)
	SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM d WHERE NOT isfinite(d.at)),
		   (SELECT min(day) FROM ins), (SELECT max(day) FROM ins)
	$q$ INTO counted, left_out, first_day, last_day USING prev, cur;
END
$fn$;
COMMENT ON FUNCTION @extschema@.rollup_apply(pg_catalog.pg_snapshot, pg_catalog.pg_snapshot) IS
	'step of rollup_refresh(): add the ledger rows committed between two snapshots to rollup_daily';

-- Recompute spent of the budgets whose period meets [first_day, last_day]
-- (and of budgets never computed), then record the thresholds reached.
CREATE FUNCTION @extschema@.budget_update(first_day pg_catalog.date, last_day pg_catalog.date)
	RETURNS pg_catalog.int8
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	alerts int8;
BEGIN
	UPDATE @extschema@.budget b
	   SET spent = coalesce((SELECT sum(r.cost) FROM @extschema@.rollup_daily r
							  WHERE r.day >= b.period_start AND r.day < b.period_end
								AND CASE b.scope_kind WHEN 'team' THEN r.team
													  WHEN 'workflow' THEN r.workflow
													  ELSE r.tag END = @extschema@.rollup_source_key(b.scope)), 0),
		   spent_at = statement_timestamp()
	 WHERE b.spent IS NULL
		OR (first_day IS NOT NULL AND b.period_end > first_day AND b.period_start <= last_day);
	INSERT INTO @extschema@.budget_alert (budget_id, threshold, crossed_at, spent, amount)
	SELECT b.budget_id, t.t, statement_timestamp(), b.spent, b.amount
	  FROM @extschema@.budget b CROSS JOIN LATERAL unnest(b.alert_at) t(t)
	 WHERE b.spent >= b.amount * t.t
	ON CONFLICT DO NOTHING;
	GET DIAGNOSTICS alerts = ROW_COUNT;
	RETURN alerts;
END
$fn$;
COMMENT ON FUNCTION @extschema@.budget_update(pg_catalog.date, pg_catalog.date) IS
	'step of rollup_refresh(): recompute the spending of the budgets a refresh touched and record the thresholds reached';

-- The body of a refresh, once the caller holds the refresh lock.
CREATE FUNCTION @extschema@.rollup_run() RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	prev pg_snapshot;
	cur pg_snapshot;
	r record;
	alerts int8;
	started timestamptz := clock_timestamp();
BEGIN
	-- Read once the lock is held: the progress committed by the refresh
	-- that held it is seen, and the snapshot follows it.
	SELECT p.snapshot INTO prev FROM @extschema@.rollup_progress p WHERE p.rollup = 'ledger' FOR UPDATE;
	prev := coalesce(prev, '1:1:'::pg_snapshot);
	cur := pg_current_snapshot();
	r := @extschema@.rollup_apply(prev, cur);
	alerts := @extschema@.budget_update(r.first_day, r.last_day);
	INSERT INTO @extschema@.rollup_progress AS p (rollup, snapshot, runs, rows_counted, last_run_at,
			last_rows, last_left_out, last_duration)
	VALUES ('ledger', cur, 1, r.counted, started, r.counted, r.left_out, clock_timestamp() - started)
	ON CONFLICT (rollup) DO UPDATE SET
		snapshot = excluded.snapshot, runs = p.runs + 1, rows_counted = p.rows_counted + excluded.rows_counted,
		last_run_at = excluded.last_run_at, last_rows = excluded.last_rows,
		last_left_out = excluded.last_left_out, last_duration = excluded.last_duration;
	IF r.left_out > 0 THEN
		RAISE NOTICE 'tokacct.rollup_refresh: % ledger rows left out (a time at infinity)', r.left_out;
	END IF;
	IF alerts > 0 THEN
		RAISE NOTICE 'tokacct.rollup_refresh: % budget alerts raised (see tokacct.budget_alert)', alerts;
	END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@.rollup_run() IS
	'step of rollup_refresh() and rollup_rebuild(): count the rows committed since the saved snapshot, save the new one';

-- A refresh must start in a read committed transaction that has written
-- nothing: a transaction snapshot older than the lock could miss the
-- progress of the refresh that held it, and rows the transaction itself
-- wrote before the snapshot would count as visible in it.
CREATE FUNCTION @extschema@.rollup_check(what pg_catalog.text) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	IF current_setting('transaction_isolation') <> 'read committed' THEN
		RAISE EXCEPTION 'tokacct.%() must run at isolation level read committed, not %',
			what, current_setting('transaction_isolation')
			USING ERRCODE = 'invalid_transaction_state',
				  DETAIL = 'A transaction snapshot taken before the refresh lock may miss the progress of the refresh that held it.',
				  HINT = 'CALL it outside an explicit transaction, or in a read committed one.';
	END IF;
	IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
		RAISE EXCEPTION 'tokacct.%() must run in a transaction that has not written anything yet', what
			USING ERRCODE = 'invalid_transaction_state',
				  DETAIL = 'Rows (of the ledger or of an attached source) written earlier in the same transaction would be taken as counted without being counted.',
				  HINT = 'CALL it in a transaction of its own (pg_cron does).';
	END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@.rollup_check(pg_catalog.text) IS
	'step of the rollup refreshes and rebuilds (ledger and attached sources): refuse a transaction in which a refresh could miss or double count rows';

CREATE PROCEDURE @extschema@.rollup_refresh(wait pg_catalog.bool DEFAULT true)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	PERFORM @extschema@.rollup_check('rollup_refresh');
	IF wait IS NULL THEN
		RAISE EXCEPTION 'wait must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	-- (the row again should an admin have deleted it: without it a refresh
	-- would skip for ever, or run without its turn)
	INSERT INTO @extschema@.rollup_lock (rollup) VALUES ('ledger') ON CONFLICT DO NOTHING;
	PERFORM FROM @extschema@.rollup_lock l WHERE l.rollup = 'ledger' FOR UPDATE SKIP LOCKED;
	IF NOT FOUND THEN
		IF NOT wait THEN
			RAISE NOTICE 'tokacct.rollup_refresh: another refresh is running; skipped';
			RETURN;
		END IF;
		RAISE NOTICE 'tokacct.rollup_refresh: another refresh is running; waiting for it';
		PERFORM FROM @extschema@.rollup_lock l WHERE l.rollup = 'ledger' FOR UPDATE;
	END IF;
	PERFORM @extschema@.rollup_run();
END
$fn$;
COMMENT ON PROCEDURE @extschema@.rollup_refresh(pg_catalog.bool) IS
	'count the ledger rows committed since the last refresh into rollup_daily and the budgets, exactly once; a second refresh waits (or, with wait => false, skips) while one runs';

CREATE PROCEDURE @extschema@.rollup_rebuild()
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	PERFORM @extschema@.rollup_check('rollup_rebuild');
	INSERT INTO @extschema@.rollup_lock (rollup) VALUES ('ledger') ON CONFLICT DO NOTHING;
	PERFORM FROM @extschema@.rollup_lock l WHERE l.rollup = 'ledger' FOR UPDATE;
	DELETE FROM @extschema@.rollup_daily;
	DELETE FROM @extschema@.rollup_progress;
	UPDATE @extschema@.budget SET spent = NULL, spent_at = NULL;
	PERFORM @extschema@.rollup_run();
END
$fn$;
COMMENT ON PROCEDURE @extschema@.rollup_rebuild()
	IS 'empty the rollups and count the whole ledger again (after ledger rows were changed or deleted, or prices corrected)';

-- Views for BI ------------------------------------------------------------------

CREATE VIEW @extschema@.rollup_monthly WITH (security_invoker = true) AS
	SELECT pg_catalog.date_trunc('month', r.day::pg_catalog.timestamp)::pg_catalog.date AS month,
		   r.workflow, r.model, r.team, r.tag,
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
	  FROM @extschema@.rollup_daily r
	 GROUP BY 1, r.workflow, r.model, r.team, r.tag;
COMMENT ON VIEW @extschema@.rollup_monthly IS 'the daily rollup merged per calendar month (UTC) x workflow x model x team x tag: money exact, quantiles of the cost of one call from the merged sketches';
COMMENT ON COLUMN @extschema@.rollup_monthly.month IS 'first day of the month';
COMMENT ON COLUMN @extschema@.rollup_monthly.workflow IS 'workflow (NULL: none given)';
COMMENT ON COLUMN @extschema@.rollup_monthly.model IS 'model';
COMMENT ON COLUMN @extschema@.rollup_monthly.team IS 'team (NULL: none given)';
COMMENT ON COLUMN @extschema@.rollup_monthly.tag IS 'tag (NULL: none given)';
COMMENT ON COLUMN @extschema@.rollup_monthly.calls IS 'calls';
COMMENT ON COLUMN @extschema@.rollup_monthly.calls_left_out IS 'calls that could not be priced (not in the money)';
COMMENT ON COLUMN @extschema@.rollup_monthly.input_tokens IS 'input tokens, cache included';
COMMENT ON COLUMN @extschema@.rollup_monthly.output_tokens IS 'output tokens, reasoning included';
COMMENT ON COLUMN @extschema@.rollup_monthly.cache_read_tokens IS 'input tokens read from the cache';
COMMENT ON COLUMN @extschema@.rollup_monthly.cache_write_tokens IS 'input tokens written to the cache';
COMMENT ON COLUMN @extschema@.rollup_monthly.reasoning_tokens IS 'output tokens spent on reasoning';
COMMENT ON COLUMN @extschema@.rollup_monthly.cost IS 'exact cost of the priced calls, USD';
COMMENT ON COLUMN @extschema@.rollup_monthly.reported_cost IS 'the part of cost the provider reported';
COMMENT ON COLUMN @extschema@.rollup_monthly.list_cost IS 'catalog list price of the calls the catalog prices';
COMMENT ON COLUMN @extschema@.rollup_monthly.p50_cost IS 'median cost of one call (within 1% relative)';
COMMENT ON COLUMN @extschema@.rollup_monthly.p95_cost IS '95th percentile of the cost of one call (within 1% relative)';
COMMENT ON COLUMN @extschema@.rollup_monthly.p99_cost IS '99th percentile of the cost of one call (within 1% relative)';
COMMENT ON COLUMN @extschema@.rollup_monthly.tail_ratio IS 'p95 / p50 (NULL when p50 is 0)';

CREATE FUNCTION @extschema@.budget_report(at pg_catalog.timestamptz DEFAULT pg_catalog.now())
	RETURNS TABLE (budget_id pg_catalog.int8, scope_kind pg_catalog.text, scope pg_catalog.text,
		period_start pg_catalog.date, period_end pg_catalog.date, amount pg_catalog.numeric,
		spent pg_catalog.numeric, remaining pg_catalog.numeric, spent_share pg_catalog.numeric,
		burn_per_day pg_catalog.numeric, runs_out_on pg_catalog.date, runs_out_in_period pg_catalog.bool,
		spent_at pg_catalog.timestamptz, alerts pg_catalog.numeric[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
	SELECT b.budget_id, b.scope_kind, b.scope, b.period_start, b.period_end, b.amount,
		   s.spent, b.amount - s.spent,
		   round(s.spent / b.amount, 6),
		   CASE WHEN e.days > 0 THEN round(s.spent / e.days, 12) END,
		   CASE WHEN s.spent < b.amount AND o.days < DATE '9999-12-31' - b.period_start
				THEN b.period_start + floor(o.days)::int4 END,
		   CASE WHEN s.spent >= b.amount THEN true
				WHEN o.days IS NOT NULL THEN o.days < b.period_end - b.period_start END,
		   b.spent_at,
		   ARRAY(SELECT a.threshold FROM @extschema@.budget_alert a WHERE a.budget_id = b.budget_id ORDER BY 1)
	  FROM @extschema@.budget b
		   CROSS JOIN LATERAL (SELECT coalesce(b.spent, 0) AS spent) s
		   CROSS JOIN LATERAL (SELECT (extract(epoch FROM least(greatest($1 AT TIME ZONE 'UTC', b.period_start::timestamp),
									b.period_end::timestamp) - b.period_start::timestamp) / 86400) AS days) e
		   -- days from the period's start until the amount is reached at the
		   -- burn rate (exact; a large budget barely used may put it past
		   -- any date)
		   CROSS JOIN LATERAL (SELECT CASE WHEN e.days > 0 AND s.spent > 0
										   THEN b.amount / (s.spent / e.days) END AS days) o
$fn$;
COMMENT ON FUNCTION @extschema@.budget_report(pg_catalog.timestamptz) IS
	'every budget at a time: spent (as of the last refresh), remaining, burn rate per day over the elapsed part of the period, the day it runs out at that rate, the alerts raised';

CREATE VIEW @extschema@.budget_status WITH (security_invoker = true) AS
	SELECT * FROM @extschema@.budget_report(pg_catalog.now());
COMMENT ON VIEW @extschema@.budget_status IS 'every budget now: spent, remaining, burn rate, run-out date, alerts (tokacct.budget_report() at another time)';
COMMENT ON COLUMN @extschema@.budget_status.budget_id IS 'the budget';
COMMENT ON COLUMN @extschema@.budget_status.scope_kind IS 'team, workflow or tag';
COMMENT ON COLUMN @extschema@.budget_status.scope IS 'the team, workflow or tag';
COMMENT ON COLUMN @extschema@.budget_status.period_start IS 'first UTC day of the period';
COMMENT ON COLUMN @extschema@.budget_status.period_end IS 'first UTC day after the period';
COMMENT ON COLUMN @extschema@.budget_status.amount IS 'the budget, USD';
COMMENT ON COLUMN @extschema@.budget_status.spent IS 'spent in the period as of the last refresh (0 before the first)';
COMMENT ON COLUMN @extschema@.budget_status.remaining IS 'amount - spent (negative when overspent)';
COMMENT ON COLUMN @extschema@.budget_status.spent_share IS 'spent / amount';
COMMENT ON COLUMN @extschema@.budget_status.burn_per_day IS 'spent / days elapsed in the period (NULL before it starts)';
COMMENT ON COLUMN @extschema@.budget_status.runs_out_on IS 'UTC day the amount is reached at the burn rate (NULL when spent already reached it, nothing was spent, or the day is after 9999-12-30)';
COMMENT ON COLUMN @extschema@.budget_status.runs_out_in_period IS 'the amount is reached before the period ends at the burn rate (true when already reached)';
COMMENT ON COLUMN @extschema@.budget_status.spent_at IS 'when spent was computed';
COMMENT ON COLUMN @extschema@.budget_status.alerts IS 'alert thresholds reached so far (tokacct.budget_alert)';

CREATE FUNCTION @extschema@.budget_remaining(scope_kind pg_catalog.text, scope pg_catalog.text,
	at pg_catalog.timestamptz DEFAULT pg_catalog.now())
	RETURNS pg_catalog.numeric
	LANGUAGE plpgsql STABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	d date := (at AT TIME ZONE 'UTC')::date;
	r numeric;
BEGIN
	-- PL/pgSQL, not SQL: the plan is kept for the session (a gateway calls
	-- this once per request).
	-- Budgets of one scope may overlap (a year's and a month's): the least
	-- left of those in force, so that a gateway stops at whichever runs
	-- out first.
	SELECT min(b.amount - coalesce(b.spent, 0)) INTO r
	  FROM @extschema@.budget b
	 WHERE b.scope_kind = budget_remaining.scope_kind AND b.scope = budget_remaining.scope
	   AND b.period_start <= d AND b.period_end > d;
	RETURN r;
END
$fn$;
COMMENT ON FUNCTION @extschema@.budget_remaining(pg_catalog.text, pg_catalog.text, pg_catalog.timestamptz) IS
	'what is left of the budget of a team, workflow or tag in force at a time (now), as of the last refresh: the least left when several are in force; negative when overspent, NULL when no budget applies (for a gateway to call before a request)';
