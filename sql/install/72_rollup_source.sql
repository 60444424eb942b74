
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
);
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

-- Context growth of an attached source.  The conversations view numbers
-- the calls of a conversation (its conversation id, else its trace) in
-- time order, so the unit is the conversation: a refresh computes again
-- every conversation with a call in a trace it recomputed (the traces of
-- each conversation kept in rollup_source_conversation_trace), keeps each
-- one's figures (rollup_source_conversation) and updates the day x
-- workflow sums of rollup_source_context_daily by difference.  Calls
-- without a trace id are in no conversation of the rollup.
CREATE TABLE @extschema@.rollup_source_conversation_trace (
	source pg_catalog.text NOT NULL REFERENCES @extschema@.rollup_source ON DELETE CASCADE,
	trace_id pg_catalog.text NOT NULL,
	conversation_id pg_catalog.text NOT NULL
);
CREATE UNIQUE INDEX rollup_source_conversation_trace_key ON @extschema@.rollup_source_conversation_trace
	(source, trace_id, conversation_id);
CREATE INDEX rollup_source_conversation_trace_conversation ON @extschema@.rollup_source_conversation_trace
	(source, conversation_id);
COMMENT ON TABLE @extschema@.rollup_source_conversation_trace IS
	'the traces with calls in each conversation of an attached source with a rollup, so a refresh finds every trace of a conversation it computes again';
COMMENT ON COLUMN @extschema@.rollup_source_conversation_trace.source IS 'the attached source';
COMMENT ON COLUMN @extschema@.rollup_source_conversation_trace.trace_id IS 'a trace with calls in the conversation';
COMMENT ON COLUMN @extschema@.rollup_source_conversation_trace.conversation_id IS 'the conversation (the calls view''s conversation_id)';

CREATE TABLE @extschema@.rollup_source_conversation (
	source pg_catalog.text NOT NULL REFERENCES @extschema@.rollup_source ON DELETE CASCADE,
	conversation_id pg_catalog.text NOT NULL,
	workflow pg_catalog.text,
	day pg_catalog.date,
	calls pg_catalog.int8 NOT NULL,
	calls_left_out pg_catalog.int8 NOT NULL,
	total_input pg_catalog.int8 NOT NULL,
	fresh_input pg_catalog.int8 NOT NULL,
	carried_input pg_catalog.int8 NOT NULL,
	saved_input_at_cap pg_catalog.int8 NOT NULL,
	growth_exponent pg_catalog.float8
);
CREATE UNIQUE INDEX rollup_source_conversation_key ON @extschema@.rollup_source_conversation (source, conversation_id);
COMMENT ON TABLE @extschema@.rollup_source_conversation IS
	'the context growth of each conversation of an attached source with a rollup, as tokacct.context_growth() over its calls in the conversations view''s order gives it';
COMMENT ON COLUMN @extschema@.rollup_source_conversation.source IS 'the attached source';
COMMENT ON COLUMN @extschema@.rollup_source_conversation.conversation_id IS 'the conversation';
COMMENT ON COLUMN @extschema@.rollup_source_conversation.workflow IS 'workflow of the conversation (the smallest of its calls'')';
COMMENT ON COLUMN @extschema@.rollup_source_conversation.day IS 'UTC day of its first call';
COMMENT ON COLUMN @extschema@.rollup_source_conversation.calls IS 'calls counted (input and output tokens known)';
COMMENT ON COLUMN @extschema@.rollup_source_conversation.calls_left_out IS 'calls without usable input or output tokens';
COMMENT ON COLUMN @extschema@.rollup_source_conversation.total_input IS 'input tokens of the calls counted';
COMMENT ON COLUMN @extschema@.rollup_source_conversation.fresh_input IS 'input tokens that were new in their call';
COMMENT ON COLUMN @extschema@.rollup_source_conversation.carried_input IS 'input tokens carried over from the calls before';
COMMENT ON COLUMN @extschema@.rollup_source_conversation.saved_input_at_cap IS 'input tokens a cap of 32768 tokens of carried history would have saved';
COMMENT ON COLUMN @extschema@.rollup_source_conversation.growth_exponent IS 'growth exponent of the cumulative input (NULL when it has none)';

CREATE TABLE @extschema@.rollup_source_context_daily (
	source pg_catalog.text NOT NULL REFERENCES @extschema@.rollup_source ON DELETE CASCADE,
	day pg_catalog.date,
	workflow pg_catalog.text,
	conversations pg_catalog.int8 NOT NULL,
	calls pg_catalog.int8 NOT NULL,
	calls_left_out pg_catalog.int8 NOT NULL,
	total_input pg_catalog.numeric NOT NULL,
	fresh_input pg_catalog.numeric NOT NULL,
	carried_input pg_catalog.numeric NOT NULL,
	saved_input_at_cap pg_catalog.numeric NOT NULL,
	growth_exponents pg_catalog.int8 NOT NULL,
	growth_exponent_sum pg_catalog.numeric NOT NULL,
	updated_at pg_catalog.timestamptz NOT NULL
);
CREATE UNIQUE INDEX rollup_source_context_daily_key ON @extschema@.rollup_source_context_daily (source, day, workflow) NULLS NOT DISTINCT;
COMMENT ON TABLE @extschema@.rollup_source_context_daily IS
	'context growth of each attached source with a rollup, per UTC day a conversation''s first call started x workflow, kept by tokacct.rollup_source_refresh(): equal to the source''s context_growth view summed the same way; sum rows for any longer period';
COMMENT ON COLUMN @extschema@.rollup_source_context_daily.source IS 'the attached source';
COMMENT ON COLUMN @extschema@.rollup_source_context_daily.day IS 'UTC day the conversations'' first calls started (NULL: without a start)';
COMMENT ON COLUMN @extschema@.rollup_source_context_daily.workflow IS 'workflow (NULL: none)';
COMMENT ON COLUMN @extschema@.rollup_source_context_daily.conversations IS 'conversations';
COMMENT ON COLUMN @extschema@.rollup_source_context_daily.calls IS 'calls counted';
COMMENT ON COLUMN @extschema@.rollup_source_context_daily.calls_left_out IS 'calls without usable input or output tokens';
COMMENT ON COLUMN @extschema@.rollup_source_context_daily.total_input IS 'input tokens of the calls counted';
COMMENT ON COLUMN @extschema@.rollup_source_context_daily.fresh_input IS 'input tokens that were new in their call';
COMMENT ON COLUMN @extschema@.rollup_source_context_daily.carried_input IS 'input tokens carried over from the calls before';
COMMENT ON COLUMN @extschema@.rollup_source_context_daily.saved_input_at_cap IS 'input tokens a cap of 32768 tokens of carried history would have saved';
COMMENT ON COLUMN @extschema@.rollup_source_context_daily.growth_exponents IS 'conversations with a growth exponent';
COMMENT ON COLUMN @extschema@.rollup_source_context_daily.growth_exponent_sum IS 'sum of their growth exponents (each as numeric, so rows add and subtract exactly); divide by growth_exponents for the mean';
COMMENT ON COLUMN @extschema@.rollup_source_context_daily.updated_at IS 'when a refresh last rebuilt the row';

-- The retry state of a's attempt rows less b's, when a and b alone tell it
-- (src/agg_retry.c); NULL otherwise: then the day's row is merged again
-- from its items.
CREATE FUNCTION @extschema@.retry_subtract(a @extschema@.retry_state, b @extschema@.retry_state)
	RETURNS @extschema@.retry_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'retry_subtract';
COMMENT ON FUNCTION @extschema@.retry_subtract(@extschema@.retry_state, @extschema@.retry_state) IS
	'step of rollup_source_refresh(): the retry state of a''s attempt rows less b''s (b''s rows a part of a''s), when it is known exactly (its largest attempt number told); NULL otherwise';

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
		IF to_regclass(v) IS NOT NULL THEN
			EXECUTE format('LOCK TABLE %s IN ACCESS SHARE MODE', v);
		END IF;
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
			'SELECT t.trace_id, t.workflow%s FROM %s t%s', CASE WHEN spans_view IS NOT NULL
				THEN ', t.item, t.started_at, t.succeeded, t.recorded_attempt' END, traces_view,
			CASE WHEN traces IS NOT NULL THEN ' WHERE t.trace_id = ANY ($1)' END)
		USING traces;
		ANALYZE pg_temp.rollup_source_touched;
	END IF;
	-- With the context part, the touched calls are kept for it (read once).
	IF to_regclass('pg_temp.rollup_source_calls') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_calls;
	END IF;
	IF spans_view IS NOT NULL THEN
		EXECUTE format('CREATE TEMP TABLE rollup_source_calls ON COMMIT DROP AS '
			'SELECT c.trace_id, c.span_id, c.conversation_id, c.started_at, t.workflow, c.model, c.input_tokens, '
			'c.output_tokens, c.cache_read_tokens, c.cache_write_tokens, c.reasoning_tokens, c.cost, c.cost_source, c.list_cost '
			'FROM %1$s c LEFT JOIN pg_temp.rollup_source_touched t ON t.trace_id = c.trace_id WHERE %2$s',
			calls_view, CASE WHEN traces IS NULL THEN 'true' ELSE 'c.trace_id = ANY ($2)' END)
		USING source, traces;
		IF traces IS NOT NULL THEN
			EXECUTE format('INSERT INTO pg_temp.rollup_source_calls '
				'SELECT c.trace_id, c.span_id, c.conversation_id, c.started_at, NULL, c.model, c.input_tokens, '
				'c.output_tokens, c.cache_read_tokens, c.cache_write_tokens, c.reasoning_tokens, c.cost, c.cost_source, c.list_cost '
				'FROM %1$s c WHERE %2$s', calls_view, no_trace)
			USING source, traces;
		END IF;
	END IF;
	per_trace := $q$
		SELECT c.trace_id, (c.started_at AT TIME ZONE 'UTC')::date AS day, %3$s AS workflow, c.model,
			   count(*), count(*) FILTER (WHERE c.cost IS NULL),
			   coalesce(sum(c.input_tokens), 0), coalesce(sum(c.output_tokens), 0),
			   coalesce(sum(c.cache_read_tokens), 0), coalesce(sum(c.cache_write_tokens), 0),
			   coalesce(sum(c.reasoning_tokens), 0),
			   coalesce(sum(c.cost), 0), coalesce(sum(c.cost) FILTER (WHERE c.cost_source = 'reported'), 0),
			   coalesce(sum(c.list_cost), 0), @extschema@.cost_sketch(c.cost)
		  FROM %1$s c%4$s
		 WHERE %2$s
		 GROUP BY c.trace_id, 2, 3, c.model$q$;
	EXECUTE format($q$
	CREATE TEMP TABLE rollup_source_new ON COMMIT DROP AS
	WITH new AS (
		INSERT INTO @extschema@.rollup_source_trace
		SELECT $1, x.* FROM (%1$s) x
		RETURNING *
	)
	%2$s$q$,
		CASE WHEN spans_view IS NOT NULL THEN format(per_trace, 'pg_temp.rollup_source_calls', 'true', 'c.workflow', '')
		WHEN traces_view IS NULL AND traces IS NULL THEN format(per_trace, calls_view, 'true', 'c.workflow', '')
		WHEN traces_view IS NULL THEN format(per_trace, calls_view, 'c.trace_id = ANY ($2) OR ' || no_trace, 'c.workflow', '')
		WHEN traces IS NULL THEN format(per_trace, calls_view, 'true', 't.workflow',
				' LEFT JOIN pg_temp.rollup_source_touched t ON t.trace_id = c.trace_id')
		ELSE format(per_trace, calls_view, 'c.trace_id = ANY ($2)', 't.workflow',
				' LEFT JOIN pg_temp.rollup_source_touched t ON t.trace_id = c.trace_id')
			|| ' UNION ALL ' || format(per_trace, calls_view, no_trace, 'NULL::pg_catalog.text', '') END,
		format(sums, 'new', format(gkey, 'g')))
	USING source, traces;
	traces_done := CASE WHEN traces IS NULL
		THEN (SELECT count(DISTINCT t.trace_id) FROM @extschema@.rollup_source_trace t WHERE t.source = rollup_source_apply.source)
		ELSE coalesce(array_length(traces, 1), 0) END;

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
	recorded bool;
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
				  FROM (SELECT a.*, %1$s AS attempt
						  FROM @extschema@.rollup_source_attempt a%2$s
						 WHERE a.source = $1
						WINDOW w AS (PARTITION BY a.workflow, a.item ORDER BY a.started_at, a.trace_id COLLATE "C")) a) n
		 GROUP BY n.workflow, n.item) x$q$;
BEGIN
	SELECT a.options ? 'attempt' AND jsonb_typeof(a.options -> 'attempt') <> 'null' INTO recorded
	  FROM @extschema@.attachment a WHERE a.source = rollup_source_retry_apply.source;
	items_sql := format(items_sql,
		CASE WHEN recorded THEN 'a.recorded_attempt' ELSE '(pg_catalog.row_number() OVER w)::pg_catalog.int4' END,
		CASE WHEN traces IS NULL THEN ''
			ELSE ' JOIN pg_temp.rollup_source_items k ON k.item = a.item AND k.workflow IS NOT DISTINCT FROM a.workflow' END);
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
	recorded bool;
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
	SELECT a.options ? 'attempt' AND jsonb_typeof(a.options -> 'attempt') <> 'null' INTO recorded
	  FROM @extschema@.attachment a WHERE a.source = rollup_source_waste_apply.source;
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
	IF to_regclass('pg_temp.rollup_source_waste_groups') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_waste_groups;
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
	SELECT a.trace_id, a.workflow, a.item, a.succeeded, a.started_at, %1$s AS attempt,
		   pg_catalog.first_value(a.trace_id) OVER w AS run_id
	  FROM @extschema@.rollup_source_attempt a%2$s
	 WHERE a.source = $1
	WINDOW w AS (PARTITION BY a.workflow, a.item ORDER BY a.started_at, a.trace_id COLLATE "C")
	UNION ALL
	SELECT t.trace_id, t.workflow, NULL, t.succeeded, t.started_at, NULL::pg_catalog.int4, t.trace_id
	  FROM pg_temp.rollup_source_touched t
	 WHERE t.item IS NULL AND t.trace_id IS NOT NULL$q$,
		CASE WHEN recorded THEN 'a.recorded_attempt' ELSE '(pg_catalog.row_number() OVER w)::pg_catalog.int4' END,
		CASE WHEN traces IS NULL THEN ''
			ELSE ' JOIN pg_temp.rollup_source_items k ON k.item = a.item AND k.workflow IS NOT DISTINCT FROM a.workflow' END)
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
	-- with a span waste_agg() refuses (no id, no finite start, a negative
	-- cost, attempt or input; a span id twice) is left out and says why;
	-- should the classification still fail (parent ids in a cycle), the runs
	-- are classified one by one and the failing ones left out with the error:
	-- their spans read from the view once (kept, by trace id, in a temporary
	-- table), not once per run (a table without an index on the trace id
	-- would be read whole per run).  ({{SPANS}}: where the spans are read;
	-- {{RUNS}}: which.)
	new_runs := $q$
	WITH new AS (
		INSERT INTO @extschema@.rollup_source_waste
		SELECT $1, q.run_id, q.workflow, q.item, q.day, s.spans, s.total, s.essential, s.error_call, s.failed_attempt,
			   s.abandoned_branch, s.stuck_loop, s.duplicate_tool_call, s.waste, q.problem
		  FROM (SELECT q.*, CASE WHEN q.bad_span THEN 'a span without an id or a finite start time, or with a negative cost, attempt or input'
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
									 (x0.span_id IS NULL OR x0.span_id = '' OR x0.cost < 0 OR x0.started_at IS NULL
									  OR NOT pg_catalog.isfinite(x0.started_at) OR r.attempt < 0 OR x0.input_tokens < 0
									  OR x0.input_cost < 0) IS TRUE AS bad) x
						 GROUP BY r.run_id, r.workflow) q) q
		  LEFT JOIN LATERAL @extschema@.waste_summary(CASE WHEN q.problem IS NULL THEN q.st END) s ON true
		RETURNING *)
	INSERT INTO pg_temp.rollup_source_waste_new SELECT * FROM new$q$;
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

	IF traces IS NULL THEN
		DELETE FROM @extschema@.rollup_source_waste_daily d WHERE d.source = rollup_source_waste_apply.source;
		EXECUTE format($q$
		INSERT INTO @extschema@.rollup_source_waste_daily
		SELECT $1, x.day, x.workflow, x.runs, x.runs_left_out, %s, statement_timestamp()
		  FROM (%s) x$q$,
			(SELECT string_agg(format('x.%I', c), ', ') FROM unnest(summed) c),
			format(sums, 'pg_temp.rollup_source_waste_new', format(gkey, 'g')))
		USING source;
	ELSE
		-- each day x workflow group touched: its row less the old runs plus
		-- the new (sums: exact)
		EXECUTE format($q$
		CREATE TEMP TABLE rollup_source_waste_groups ON COMMIT DROP AS
		SELECT k.gkey, k.day, k.workflow,
			   COALESCE(d.runs, 0) - COALESCE(o.runs, 0) + COALESCE(n.runs, 0) AS runs,
			   COALESCE(d.runs_left_out, 0) - COALESCE(o.runs_left_out, 0) + COALESCE(n.runs_left_out, 0) AS runs_left_out, %4$s
		  FROM (SELECT x.gkey, x.day, x.workflow FROM (%1$s) x UNION SELECT x.gkey, x.day, x.workflow FROM (%2$s) x) k
		  LEFT JOIN (%1$s) o ON o.gkey = k.gkey
		  LEFT JOIN (%2$s) n ON n.gkey = k.gkey
		  LEFT JOIN (SELECT %3$s AS gkey, d.* FROM @extschema@.rollup_source_waste_daily d WHERE d.source = $1) d
			ON d.gkey = k.gkey$q$,
			format(sums, 'pg_temp.rollup_source_waste_old', format(gkey, 'g')),
			format(sums, 'pg_temp.rollup_source_waste_new', format(gkey, 'g')),
			format(gkey, 'd'),
			(SELECT string_agg(format('COALESCE(d.%1$I, 0) - COALESCE(o.%1$I, 0) + COALESCE(n.%1$I, 0) AS %1$I', c), ', ')
			   FROM unnest(summed) c))
		USING source;
		EXECUTE format('DELETE FROM @extschema@.rollup_source_waste_daily d USING pg_temp.rollup_source_waste_groups g '
			'WHERE d.source = $1 AND %s = g.gkey', format(gkey, 'd')) USING source;
		EXECUTE format('INSERT INTO @extschema@.rollup_source_waste_daily '
			'SELECT $1, x.day, x.workflow, x.runs, x.runs_left_out, %s, statement_timestamp() '
			'FROM pg_temp.rollup_source_waste_groups x WHERE x.runs + x.runs_left_out > 0',
			(SELECT string_agg(format('x.%I', c), ', ') FROM unnest(summed) c))
		USING source;
		DROP TABLE pg_temp.rollup_source_waste_groups;
	END IF;
	DROP TABLE pg_temp.rollup_source_runs, pg_temp.rollup_source_waste_old, pg_temp.rollup_source_waste_new;
	IF to_regclass('pg_temp.rollup_source_spans') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_spans;
	END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@.rollup_source_waste_apply(pg_catalog.text, pg_catalog.text[], pg_catalog.text) IS
	'step of rollup_source_refresh(): classify again the runs with a trace recomputed and update the day x workflow rows of rollup_source_waste_daily';

-- The context part of a refresh (see rollup_source_conversation), after
-- rollup_source_apply() has read the calls of the traces listed in traces
-- (every trace when NULL) into pg_temp.rollup_source_calls.  The other
-- traces of the conversations to compute again are read from the calls
-- view (their workflow from the traces view), both locked and checked.
CREATE FUNCTION @extschema@.rollup_source_context_apply(source pg_catalog.text, traces pg_catalog.text[],
	calls_view pg_catalog.text, traces_view pg_catalog.text)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	others text[];
	summed text[] := ARRAY['calls', 'calls_left_out', 'total_input', 'fresh_input', 'carried_input',
						   'saved_input_at_cap', 'growth_exponents', 'growth_exponent_sum'];
	gkey text := '@extschema@.rollup_source_group(%1$s.day, %1$s.workflow, NULL)';
	sums text;
	-- the old or new conversation rows (%s), each with its growth exponent
	-- counted and as numeric, the day rows' two summed columns
	with_exponents text := '(SELECT n.*, (n.growth_exponent IS NOT NULL)::pg_catalog.int4 AS growth_exponents, '
		'n.growth_exponent::pg_catalog.numeric AS growth_exponent_sum FROM pg_temp.rollup_source_context_%s n)';
BEGIN
	sums := format('SELECT %%2$s AS gkey, g.day, g.workflow, count(*) AS conversations, %s FROM %%1$s g GROUP BY 1, 2, 3',
		(SELECT string_agg(format('COALESCE(sum(g.%1$I), 0) AS %1$I', c), ', ') FROM unnest(summed) c));
	IF to_regclass('pg_temp.rollup_source_conversations') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_conversations;
	END IF;
	IF to_regclass('pg_temp.rollup_source_context_old') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_context_old;
	END IF;
	IF to_regclass('pg_temp.rollup_source_context_new') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_context_new;
	END IF;
	IF to_regclass('pg_temp.rollup_source_context_groups') IS NOT NULL THEN
		DROP TABLE pg_temp.rollup_source_context_groups;
	END IF;

	-- the conversations of the traces recomputed, as they were and are
	CREATE TEMP TABLE rollup_source_conversations (conversation_id text) ON COMMIT DROP;
	IF traces IS NULL THEN
		DELETE FROM @extschema@.rollup_source_conversation_trace m WHERE m.source = rollup_source_context_apply.source;
	ELSE
		WITH old AS (
			DELETE FROM @extschema@.rollup_source_conversation_trace m
			 WHERE m.source = rollup_source_context_apply.source AND m.trace_id = ANY (traces)
			RETURNING m.conversation_id)
		INSERT INTO pg_temp.rollup_source_conversations SELECT o.conversation_id FROM old o;
	END IF;
	WITH new AS (
		INSERT INTO @extschema@.rollup_source_conversation_trace
		SELECT DISTINCT source, c.trace_id, c.conversation_id
		  FROM pg_temp.rollup_source_calls c
		 WHERE c.trace_id IS NOT NULL AND c.conversation_id IS NOT NULL
		RETURNING conversation_id)
	INSERT INTO pg_temp.rollup_source_conversations SELECT n.conversation_id FROM new n;

	IF traces IS NOT NULL THEN
		-- the other traces of those conversations: their calls too
		-- (each conversation's traces by the index, from the few touched)
		SELECT pg_catalog.array_agg(DISTINCT m.trace_id) INTO others
		  FROM (SELECT DISTINCT k.conversation_id FROM pg_temp.rollup_source_conversations k) k
		  JOIN LATERAL (SELECT m.trace_id FROM @extschema@.rollup_source_conversation_trace m
						 WHERE m.source = rollup_source_context_apply.source AND m.conversation_id = k.conversation_id) m ON true
		 WHERE NOT m.trace_id = ANY (traces);
		IF others IS NOT NULL THEN
			EXECUTE format('INSERT INTO pg_temp.rollup_source_calls '
				'SELECT c.trace_id, c.span_id, c.conversation_id, c.started_at, t.workflow, c.model, c.input_tokens, '
				'c.output_tokens, c.cache_read_tokens, c.cache_write_tokens, c.reasoning_tokens, c.cost, c.cost_source, c.list_cost '
				'FROM %1$s c LEFT JOIN (SELECT t.trace_id, t.workflow FROM %2$s t WHERE t.trace_id = ANY ($1)) t '
				'ON t.trace_id = c.trace_id WHERE c.trace_id = ANY ($1)', calls_view, traces_view)
			USING others;
		END IF;
	END IF;

	-- each conversation again: its calls numbered as the conversations view
	-- numbers them, the calls with both token counts in context_growth()
	-- (as the context_growth view takes them; counts a state cannot hold
	-- left out too)
	CREATE TEMP TABLE rollup_source_context_old ON COMMIT DROP AS
	WITH old AS (
		DELETE FROM @extschema@.rollup_source_conversation v
		 WHERE v.source = rollup_source_context_apply.source
		   AND (traces IS NULL OR v.conversation_id IN (SELECT k.conversation_id FROM pg_temp.rollup_source_conversations k))
		RETURNING v.*)
	SELECT * FROM old;
	CREATE TEMP TABLE rollup_source_context_new ON COMMIT DROP AS
	WITH new AS (
		INSERT INTO @extschema@.rollup_source_conversation
		SELECT source, g.conversation_id, g.workflow, g.day, COALESCE(r.calls, 0), g.calls_left_out,
			   COALESCE(r.total_input, 0), COALESCE(r.fresh_input, 0), COALESCE(r.carried_input, 0),
			   COALESCE(v.saved_input, 0), r.growth_exponent
		  FROM (SELECT n.conversation_id, pg_catalog.min(n.workflow) AS workflow,
					   (pg_catalog.min(n.started_at) AT TIME ZONE 'UTC')::pg_catalog.date AS day,
					   @extschema@.context_growth(n.seq, n.input_tokens::pg_catalog.int8, n.output_tokens::pg_catalog.int8)
						   FILTER (WHERE n.usable) AS st,
					   pg_catalog.count(*) FILTER (WHERE NOT n.usable) AS calls_left_out
				  FROM (SELECT c.*,
							   (pg_catalog.row_number() OVER (PARTITION BY c.conversation_id
									ORDER BY c.started_at, c.span_id COLLATE "C"))::pg_catalog.int4 AS seq,
							   (c.input_tokens BETWEEN 0 AND 4294967295 AND c.output_tokens BETWEEN 0 AND 4294967295) IS TRUE AS usable
						  FROM pg_temp.rollup_source_calls c
						 WHERE c.trace_id IS NOT NULL AND c.conversation_id IS NOT NULL
						   AND (traces IS NULL OR c.conversation_id IN (SELECT k.conversation_id FROM pg_temp.rollup_source_conversations k))) n
				 GROUP BY n.conversation_id) g
		  LEFT JOIN LATERAL @extschema@.context_report(g.st) r ON true
		  LEFT JOIN LATERAL @extschema@.context_savings(g.st, 32768) v ON true
		RETURNING *)
	SELECT * FROM new;

	-- (growth exponents summed as numeric: rows add and subtract exactly)
	IF traces IS NULL THEN
		DELETE FROM @extschema@.rollup_source_context_daily d WHERE d.source = rollup_source_context_apply.source;
		EXECUTE format($q$
		INSERT INTO @extschema@.rollup_source_context_daily
		SELECT $1, x.day, x.workflow, x.conversations, %s, statement_timestamp()
		  FROM (%s) x$q$,
			(SELECT string_agg(format('x.%I', c), ', ') FROM unnest(summed) c),
			format(sums, format(with_exponents, 'new'),
				format(gkey, 'g')))
		USING source;
	ELSE
		EXECUTE format($q$
		CREATE TEMP TABLE rollup_source_context_groups ON COMMIT DROP AS
		SELECT k.gkey, k.day, k.workflow,
			   COALESCE(d.conversations, 0) - COALESCE(o.conversations, 0) + COALESCE(n.conversations, 0) AS conversations, %4$s
		  FROM (SELECT x.gkey, x.day, x.workflow FROM (%1$s) x UNION SELECT x.gkey, x.day, x.workflow FROM (%2$s) x) k
		  LEFT JOIN (%1$s) o ON o.gkey = k.gkey
		  LEFT JOIN (%2$s) n ON n.gkey = k.gkey
		  LEFT JOIN (SELECT %3$s AS gkey, d.* FROM @extschema@.rollup_source_context_daily d WHERE d.source = $1) d
			ON d.gkey = k.gkey$q$,
			format(sums, format(with_exponents, 'old'),
				format(gkey, 'g')),
			format(sums, format(with_exponents, 'new'),
				format(gkey, 'g')),
			format(gkey, 'd'),
			(SELECT string_agg(format('COALESCE(d.%1$I, 0) - COALESCE(o.%1$I, 0) + COALESCE(n.%1$I, 0) AS %1$I', c), ', ')
			   FROM unnest(summed) c))
		USING source;
		EXECUTE format('DELETE FROM @extschema@.rollup_source_context_daily d USING pg_temp.rollup_source_context_groups g '
			'WHERE d.source = $1 AND %s = g.gkey', format(gkey, 'd')) USING source;
		EXECUTE format('INSERT INTO @extschema@.rollup_source_context_daily '
			'SELECT $1, x.day, x.workflow, x.conversations, %s, statement_timestamp() '
			'FROM pg_temp.rollup_source_context_groups x WHERE x.conversations > 0',
			(SELECT string_agg(format('x.%I', c), ', ') FROM unnest(summed) c))
		USING source;
		DROP TABLE pg_temp.rollup_source_context_groups;
	END IF;
	DROP TABLE pg_temp.rollup_source_conversations, pg_temp.rollup_source_context_old, pg_temp.rollup_source_context_new;
END
$fn$;
COMMENT ON FUNCTION @extschema@.rollup_source_context_apply(pg_catalog.text, pg_catalog.text[], pg_catalog.text, pg_catalog.text) IS
	'step of rollup_source_refresh(): compute again the conversations with a call in a trace recomputed and update the day x workflow rows of rollup_source_context_daily';

-- The body of a refresh, once the caller holds the source's refresh lock.
CREATE FUNCTION @extschema@.rollup_source_run(source pg_catalog.text, full_run pg_catalog.bool)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	prev pg_snapshot;
	prev_def text;
	def text;
	cur pg_snapshot;
	dist int8;
	touched text[];
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
	-- everything (cheap when the source was empty at the last refresh).
	IF prev IS NOT NULL AND NOT EXISTS (SELECT 1 FROM @extschema@.rollup_source_trace t
										 WHERE t.source = rollup_source_run.source) THEN
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
		r := @extschema@.rollup_source_apply(source, coalesce(touched, '{}'));
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
		RAISE EXCEPTION 'source must not be NULL' USING ERRCODE = 'null_value_not_allowed';
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
		RAISE EXCEPTION 'source and wait must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT pg_try_advisory_xact_lock(pg_catalog.hashtext('tokacct.rollup_source_refresh ' || source)) THEN
		IF NOT wait THEN
			RAISE NOTICE 'tokacct.rollup_source_refresh: another refresh of source "%" is running; skipped', source;
			RETURN;
		END IF;
		RAISE NOTICE 'tokacct.rollup_source_refresh: another refresh of source "%" is running; waiting for it', source;
		PERFORM pg_advisory_xact_lock(pg_catalog.hashtext('tokacct.rollup_source_refresh ' || source));
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
		RAISE EXCEPTION 'source must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM pg_advisory_xact_lock(pg_catalog.hashtext('tokacct.rollup_source_refresh ' || source));
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
	PERFORM pg_advisory_xact_lock(pg_catalog.hashtext('tokacct.rollup_source_refresh ' || source));
	DELETE FROM @extschema@.rollup_source p WHERE p.source = rollup_source_drop.source;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'source "%" has no rollup', source USING ERRCODE = 'undefined_object';
	END IF;
END
$fn$;
COMMENT ON PROCEDURE @extschema@.rollup_source_drop(pg_catalog.text) IS
	'drop the rollup of a source (its rows in rollup_source_daily, rollup_source_trace and the retry tables)';

-- Tracking: asked for, the source's tables stamp the rows written --------------
--
-- A refresh finds the new rows by xmin, which no index holds: it reads the
-- trace key of every row.  tokacct.rollup_source_track(source) adds to each
-- table of the source a column tokacct_written_xid (xid8: the transaction
-- that last inserted or updated the row, set by a trigger that fires always,
-- on replicas too), and an index on it, so that a refresh reads the new
-- rows only.  Rows written before have no stamp: a refresh still looks at
-- their xmin until its previous snapshot is newer than every transaction
-- that could have written one (tracked_xmax).  rollup_source_untrack()
-- takes it all away again.

CREATE FUNCTION @extschema@.rollup_source_stamp() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
BEGIN
	NEW.tokacct_written_xid := pg_catalog.pg_current_xact_id();
	RETURN NEW;
END
$fn$;
COMMENT ON FUNCTION @extschema@.rollup_source_stamp() IS
	'trigger of a tracked source table (tokacct.rollup_source_track()): stamp the row with the transaction that inserts or updates it';

-- The tables a tracking changes, each checked: the caller must be able to
-- alter them (their owner's privileges), a column or trigger of that name
-- must not be the user's own.
CREATE FUNCTION @extschema@.rollup_source_tables(source pg_catalog.text)
	RETURNS SETOF pg_catalog.regclass
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	rel regclass;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM @extschema@.rollup_source p WHERE p.source = rollup_source_tables.source) THEN
		RAISE EXCEPTION 'source "%" has no rollup', source
			USING ERRCODE = 'undefined_object',
				  HINT = format('Define it with CALL @extschema@.rollup_source_create(%L).', source);
	END IF;
	PERFORM @extschema@.rollup_source_keys(source, NULL);	-- attached, tables, trace keys readable
	FOR rel IN SELECT r FROM @extschema@.attachment a, unnest(a.relations) r WHERE a.source = rollup_source_tables.source LOOP
		IF NOT pg_has_role((SELECT c.relowner FROM pg_class c WHERE c.oid = rel), 'USAGE') THEN
			RAISE EXCEPTION 'permission denied to track the writes of table %', rel
				USING ERRCODE = 'insufficient_privilege',
					  DETAIL = format('Tracking adds a column, a trigger and an index to each table of source "%s"; role "%s" does not own %s.', source, current_user, rel),
					  HINT = 'Call it as the tables'' owner (or a member of that role).';
		END IF;
		RETURN NEXT rel;
	END LOOP;
END
$fn$;
COMMENT ON FUNCTION @extschema@.rollup_source_tables(pg_catalog.text) IS
	'step of rollup_source_track() and rollup_source_untrack(): the tables of a rolled-up source, each one the caller may alter';

-- Whether the column tokacct_written_xid of a table is tokacct's: a
-- tracking left its trigger there, or its comment (the trigger since dropped).
CREATE FUNCTION @extschema@.rollup_source_stamped(rel pg_catalog.regclass)
	RETURNS pg_catalog.bool
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	RETURN EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgrelid OPERATOR(pg_catalog.=) rel
					  AND g.tgname OPERATOR(pg_catalog.=) 'tokacct_written_xid'
					  AND g.tgfoid OPERATOR(pg_catalog.=) '@extschema@.rollup_source_stamp()'::pg_catalog.regprocedure)
		OR EXISTS (SELECT 1 FROM pg_catalog.pg_attribute c
					WHERE c.attrelid OPERATOR(pg_catalog.=) rel AND c.attname OPERATOR(pg_catalog.=) 'tokacct_written_xid'
					  AND NOT c.attisdropped
					  AND pg_catalog.col_description(rel, c.attnum) OPERATOR(pg_catalog.=)
						'tokacct: transaction that last inserted or updated the row (tokacct.rollup_source_track(); tokacct.rollup_source_untrack() drops it)');
COMMENT ON FUNCTION @extschema@.rollup_source_stamped(pg_catalog.regclass) IS
	'step of rollup_source_track() and rollup_source_untrack(): whether the column tokacct_written_xid of a table is tokacct''s (its trigger or its comment there), not the user''s own';

CREATE PROCEDURE @extschema@.rollup_source_track(source pg_catalog.text)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	rel regclass;
BEGIN
	IF source IS NULL THEN
		RAISE EXCEPTION 'source must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM pg_advisory_xact_lock(pg_catalog.hashtext('tokacct.rollup_source_refresh ' || source));
	FOR rel IN SELECT * FROM @extschema@.rollup_source_tables(source) LOOP
		-- A column of that name is tokacct's when a tracking left it (its
		-- trigger or its comment there), never the user's own, whatever
		-- its type: untracking drops it.
		IF EXISTS (SELECT 1 FROM pg_attribute c WHERE c.attrelid = rel AND c.attname = 'tokacct_written_xid'
					  AND NOT c.attisdropped AND (c.atttypid <> 'pg_catalog.xid8'::regtype
						OR NOT @extschema@.rollup_source_stamped(rel)))
		   OR EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = rel AND g.tgname = 'tokacct_written_xid'
						 AND g.tgfoid <> '@extschema@.rollup_source_stamp()'::regprocedure) THEN
			RAISE EXCEPTION 'table % already has a column or trigger named tokacct_written_xid that is not tokacct''s', rel
				USING ERRCODE = 'duplicate_object',
					  HINT = 'Rename it, then track the source.';
		END IF;
		-- (no default for the rows there: no rewrite of the table)
		EXECUTE format('ALTER TABLE %s ADD COLUMN IF NOT EXISTS tokacct_written_xid pg_catalog.xid8', rel);
		EXECUTE format('ALTER TABLE %s ALTER COLUMN tokacct_written_xid SET DEFAULT pg_catalog.pg_current_xact_id()', rel);
		EXECUTE format('COMMENT ON COLUMN %s.tokacct_written_xid IS %L', rel,
			'tokacct: transaction that last inserted or updated the row (tokacct.rollup_source_track(); tokacct.rollup_source_untrack() drops it)');
		EXECUTE format('CREATE OR REPLACE TRIGGER tokacct_written_xid BEFORE INSERT OR UPDATE ON %s '
			'FOR EACH ROW EXECUTE FUNCTION @extschema@.rollup_source_stamp()', rel);
		EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER tokacct_written_xid', rel);
		EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s (tokacct_written_xid)',
			left((SELECT c.relname FROM pg_class c WHERE c.oid = rel), 42) || '_tokacct_written_xid', rel);
		-- (the planner then knows the stamps there are NULL, and finds the
		-- newest by the index)
		EXECUTE format('ANALYZE %s (tokacct_written_xid)', rel);
	END LOOP;
	-- The tables are locked: every transaction that wrote a row without a
	-- stamp (or with a stale one, while a trigger was disabled or the column
	-- gone) has ended, with an id below this.  Tracking again moves it on.
	UPDATE @extschema@.rollup_source p
	   SET tracked_xmax = pg_snapshot_xmax(pg_current_snapshot())
	 WHERE p.source = rollup_source_track.source;
END
$fn$;
COMMENT ON PROCEDURE @extschema@.rollup_source_track(pg_catalog.text) IS
	'asked for: add to each table of a rolled-up source a column tokacct_written_xid stamped by a trigger, and an index on it, so that a refresh reads the rows written since the last one instead of the trace key of every row';

CREATE PROCEDURE @extschema@.rollup_source_untrack(source pg_catalog.text)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $fn$
DECLARE
	rel regclass;
BEGIN
	IF source IS NULL THEN
		RAISE EXCEPTION 'source must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM pg_advisory_xact_lock(pg_catalog.hashtext('tokacct.rollup_source_refresh ' || source));
	FOR rel IN SELECT * FROM @extschema@.rollup_source_tables(source) LOOP
		-- tokacct's only: a column or trigger of that name that a tracking
		-- did not leave is the user's
		IF EXISTS (SELECT 1 FROM pg_attribute c WHERE c.attrelid = rel AND c.attname = 'tokacct_written_xid'
					  AND NOT c.attisdropped AND c.atttypid = 'pg_catalog.xid8'::regtype)
		   AND @extschema@.rollup_source_stamped(rel) THEN
			EXECUTE format('DROP TRIGGER IF EXISTS tokacct_written_xid ON %s', rel);
			-- (the index goes with the column)
			EXECUTE format('ALTER TABLE %s DROP COLUMN tokacct_written_xid', rel);
		ELSIF EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = rel AND g.tgname = 'tokacct_written_xid'
						 AND g.tgfoid = '@extschema@.rollup_source_stamp()'::regprocedure) THEN
			EXECUTE format('DROP TRIGGER tokacct_written_xid ON %s', rel);
		END IF;
	END LOOP;
	UPDATE @extschema@.rollup_source p SET tracked_xmax = NULL WHERE p.source = rollup_source_untrack.source;
END
$fn$;
COMMENT ON PROCEDURE @extschema@.rollup_source_untrack(pg_catalog.text) IS
	'undo tokacct.rollup_source_track(): drop the trigger, the column tokacct_written_xid and its index from the source''s tables; refreshes find new rows by xmin again';

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

CREATE VIEW @extschema@.rollup_source_context_monthly WITH (security_invoker = true) AS
	SELECT d.source, pg_catalog.date_trunc('month', d.day::pg_catalog.timestamp)::pg_catalog.date AS month, d.workflow,
		   pg_catalog.sum(d.conversations)::pg_catalog.int8 AS conversations, pg_catalog.sum(d.calls)::pg_catalog.int8 AS calls,
		   pg_catalog.sum(d.total_input)::pg_catalog.int8 AS total_input,
		   pg_catalog.sum(d.fresh_input)::pg_catalog.int8 AS fresh_input,
		   pg_catalog.sum(d.carried_input)::pg_catalog.int8 AS carried_input,
		   (pg_catalog.sum(d.carried_input) / NULLIF(pg_catalog.sum(d.total_input), 0))::pg_catalog.float8 AS carried_share,
		   (pg_catalog.sum(d.growth_exponent_sum) / NULLIF(pg_catalog.sum(d.growth_exponents), 0))::pg_catalog.float8 AS mean_growth_exponent,
		   32768::pg_catalog.int8 AS history_cap,
		   pg_catalog.sum(d.saved_input_at_cap)::pg_catalog.int8 AS saved_input_at_cap,
		   (pg_catalog.sum(d.saved_input_at_cap) / NULLIF(pg_catalog.sum(d.total_input), 0))::pg_catalog.float8 AS saved_share_at_cap,
		   pg_catalog.sum(d.calls_left_out)::pg_catalog.int8 AS calls_left_out
	  FROM @extschema@.rollup_source_context_daily d
	 GROUP BY d.source, 2, d.workflow;
COMMENT ON VIEW @extschema@.rollup_source_context_monthly IS 'the context growth of attached sources summed per calendar month (UTC) a conversation''s first call started x workflow: input carried over from call to call, its share, the mean growth exponent, what a cap on carried history would save';
COMMENT ON COLUMN @extschema@.rollup_source_context_monthly.source IS 'the attached source';
COMMENT ON COLUMN @extschema@.rollup_source_context_monthly.month IS 'first day of the month (NULL for conversations without a start)';
COMMENT ON COLUMN @extschema@.rollup_source_context_monthly.workflow IS 'workflow (NULL: none)';
COMMENT ON COLUMN @extschema@.rollup_source_context_monthly.conversations IS 'conversations';
COMMENT ON COLUMN @extschema@.rollup_source_context_monthly.calls IS 'calls counted (input and output tokens known)';
COMMENT ON COLUMN @extschema@.rollup_source_context_monthly.total_input IS 'input tokens of the calls counted';
COMMENT ON COLUMN @extschema@.rollup_source_context_monthly.fresh_input IS 'input tokens that were new in their call';
COMMENT ON COLUMN @extschema@.rollup_source_context_monthly.carried_input IS 'input tokens carried over from the calls before';
COMMENT ON COLUMN @extschema@.rollup_source_context_monthly.carried_share IS 'carried_input / total_input';
COMMENT ON COLUMN @extschema@.rollup_source_context_monthly.mean_growth_exponent IS 'mean growth exponent of the conversations that have one (1: flat, towards 2: quadratic)';
COMMENT ON COLUMN @extschema@.rollup_source_context_monthly.history_cap IS 'the cap on carried history the savings assume (tokens)';
COMMENT ON COLUMN @extschema@.rollup_source_context_monthly.saved_input_at_cap IS 'input tokens the cap would have saved';
COMMENT ON COLUMN @extschema@.rollup_source_context_monthly.saved_share_at_cap IS 'saved_input_at_cap / total_input';
COMMENT ON COLUMN @extschema@.rollup_source_context_monthly.calls_left_out IS 'calls without usable input or output tokens';
