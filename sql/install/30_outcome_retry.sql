
-- ---------------------------------------------------------------------------
-- Aggregates: cost per outcome and retry economics (src/agg_outcome.c,
-- src/agg_retry.c).  Each has a concrete state type (storable in rollups,
-- pushed down by Citus), a combine function, and a merge aggregate
-- tokacct.merge(state) over stored states.
-- ---------------------------------------------------------------------------

-- outcome_state ------------------------------------------------------------

CREATE TYPE @extschema@.outcome_state;

CREATE FUNCTION @extschema@.outcome_state_in(pg_catalog.cstring) RETURNS @extschema@.outcome_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'outcome_state_in';
CREATE FUNCTION @extschema@.outcome_state_out(@extschema@.outcome_state) RETURNS pg_catalog.cstring
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'outcome_state_out';
CREATE FUNCTION @extschema@.outcome_state_recv(pg_catalog.internal) RETURNS @extschema@.outcome_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'outcome_state_recv';
CREATE FUNCTION @extschema@.outcome_state_send(@extschema@.outcome_state) RETURNS pg_catalog.bytea
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'outcome_state_send';

CREATE TYPE @extschema@.outcome_state (
	INPUT = @extschema@.outcome_state_in,
	OUTPUT = @extschema@.outcome_state_out,
	RECEIVE = @extschema@.outcome_state_recv,
	SEND = @extschema@.outcome_state_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = plain
);
COMMENT ON TYPE @extschema@.outcome_state IS
	'state of tokacct.cost_per_outcome: items, solved, fixed (rows with a human fix cost above 0), exact cost and fix_cost; text form ''items=10 solved=7 fixed=1 cost=12.5 fix_cost=3''';
COMMENT ON FUNCTION @extschema@.outcome_state_in(pg_catalog.cstring) IS 'text input of tokacct.outcome_state (checked field by field)';
COMMENT ON FUNCTION @extschema@.outcome_state_out(@extschema@.outcome_state) IS 'text output of tokacct.outcome_state';
COMMENT ON FUNCTION @extschema@.outcome_state_recv(pg_catalog.internal) IS 'binary input of tokacct.outcome_state (checked field by field)';
COMMENT ON FUNCTION @extschema@.outcome_state_send(@extschema@.outcome_state) IS 'binary output of tokacct.outcome_state';

CREATE FUNCTION @extschema@.outcome_accum(@extschema@.outcome_state, pg_catalog.numeric, pg_catalog.bool)
	RETURNS @extschema@.outcome_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'outcome_accum';
CREATE FUNCTION @extschema@.outcome_accum(@extschema@.outcome_state, pg_catalog.numeric, pg_catalog.bool, pg_catalog.numeric)
	RETURNS @extschema@.outcome_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'outcome_accum';
CREATE FUNCTION @extschema@.outcome_combine(@extschema@.outcome_state, @extschema@.outcome_state)
	RETURNS @extschema@.outcome_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'outcome_combine';
COMMENT ON FUNCTION @extschema@.outcome_accum(@extschema@.outcome_state, pg_catalog.numeric, pg_catalog.bool) IS
	'transition function of tokacct.cost_per_outcome(cost, solved)';
COMMENT ON FUNCTION @extschema@.outcome_accum(@extschema@.outcome_state, pg_catalog.numeric, pg_catalog.bool, pg_catalog.numeric) IS
	'transition function of tokacct.cost_per_outcome(cost, solved, human_fix_cost)';
COMMENT ON FUNCTION @extschema@.outcome_combine(@extschema@.outcome_state, @extschema@.outcome_state) IS
	'the sum of two tokacct.outcome_state values (combine function of cost_per_outcome and merge)';

CREATE AGGREGATE @extschema@.cost_per_outcome(cost pg_catalog.numeric, solved pg_catalog.bool) (
	SFUNC = @extschema@.outcome_accum,
	STYPE = @extschema@.outcome_state,
	COMBINEFUNC = @extschema@.outcome_combine,
	INITCOND = 'items=0 solved=0 fixed=0 cost=0 fix_cost=0',
	PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.cost_per_outcome(cost pg_catalog.numeric, solved pg_catalog.bool, human_fix_cost pg_catalog.numeric) (
	SFUNC = @extschema@.outcome_accum,
	STYPE = @extschema@.outcome_state,
	COMBINEFUNC = @extschema@.outcome_combine,
	INITCOND = 'items=0 solved=0 fixed=0 cost=0 fix_cost=0',
	PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.merge(@extschema@.outcome_state) (
	SFUNC = @extschema@.outcome_combine,
	STYPE = @extschema@.outcome_state,
	COMBINEFUNC = @extschema@.outcome_combine,
	INITCOND = 'items=0 solved=0 fixed=0 cost=0 fix_cost=0',
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.cost_per_outcome(pg_catalog.numeric, pg_catalog.bool) IS
	'cost per outcome over item rows (cost of the item''s attempts, solved); returns a tokacct.outcome_state, read with tokacct.outcome_report(); rows with a NULL are skipped';
COMMENT ON AGGREGATE @extschema@.cost_per_outcome(pg_catalog.numeric, pg_catalog.bool, pg_catalog.numeric) IS
	'cost per outcome over item rows (cost, solved, human fix cost; a NULL fix cost means no fix); returns a tokacct.outcome_state';
COMMENT ON AGGREGATE @extschema@.merge(@extschema@.outcome_state) IS
	'merge stored tokacct.outcome_state values (rollups): the state of all their rows';

CREATE FUNCTION @extschema@.outcome_report(state @extschema@.outcome_state,
	OUT items pg_catalog.int8, OUT solved pg_catalog.int8, OUT solve_rate pg_catalog.float8,
	OUT ai_cost pg_catalog.numeric, OUT cost_per_item pg_catalog.numeric,
	OUT cost_per_solved pg_catalog.numeric, OUT fixed_items pg_catalog.int8,
	OUT human_fix_cost pg_catalog.numeric, OUT total_cost pg_catalog.numeric,
	OUT total_cost_per_solved pg_catalog.numeric)
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'outcome_report';
COMMENT ON FUNCTION @extschema@.outcome_report(@extschema@.outcome_state) IS
	'read a cost_per_outcome state: items, solved, solve_rate, ai_cost, cost_per_item = ai_cost/items, cost_per_solved = ai_cost/solved, fixed_items, human_fix_cost, total_cost = ai_cost + human_fix_cost, total_cost_per_solved; quotients are numeric rounded half away from zero to 12 decimals, NULL when dividing by 0';

CREATE FUNCTION @extschema@.cost_per_solved(state @extschema@.outcome_state) RETURNS pg_catalog.numeric
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'outcome_cost_per_solved';
COMMENT ON FUNCTION @extschema@.cost_per_solved(@extschema@.outcome_state) IS
	'AI cost per solved item of a cost_per_outcome state (numeric, 12 decimals; NULL when nothing was solved)';

-- retry_state ----------------------------------------------------------------

CREATE TYPE @extschema@.retry_state;

CREATE FUNCTION @extschema@.retry_state_in(pg_catalog.cstring) RETURNS @extschema@.retry_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'retry_state_in';
CREATE FUNCTION @extschema@.retry_state_out(@extschema@.retry_state) RETURNS pg_catalog.cstring
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'retry_state_out';
CREATE FUNCTION @extschema@.retry_state_recv(pg_catalog.internal) RETURNS @extschema@.retry_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'retry_state_recv';
CREATE FUNCTION @extschema@.retry_state_send(@extschema@.retry_state) RETURNS pg_catalog.bytea
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'retry_state_send';

CREATE TYPE @extschema@.retry_state (
	INPUT = @extschema@.retry_state_in,
	OUTPUT = @extschema@.retry_state_out,
	RECEIVE = @extschema@.retry_state_recv,
	SEND = @extschema@.retry_state_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = plain
);
COMMENT ON TYPE @extschema@.retry_state IS
	'state of tokacct.retry_economics: per attempt number k (k = 32 holds 32 and beyond) the attempts, successes, exact cost and failed cost; text form ''max_attempt=2 1:10,7,12.5,3.2 2:3,2,4.1,1''';
COMMENT ON FUNCTION @extschema@.retry_state_in(pg_catalog.cstring) IS 'text input of tokacct.retry_state (checked field by field)';
COMMENT ON FUNCTION @extschema@.retry_state_out(@extschema@.retry_state) IS 'text output of tokacct.retry_state';
COMMENT ON FUNCTION @extschema@.retry_state_recv(pg_catalog.internal) IS 'binary input of tokacct.retry_state (checked field by field)';
COMMENT ON FUNCTION @extschema@.retry_state_send(@extschema@.retry_state) IS 'binary output of tokacct.retry_state';

CREATE FUNCTION @extschema@.retry_accum(@extschema@.retry_state, pg_catalog.int4, pg_catalog.bool, pg_catalog.numeric)
	RETURNS @extschema@.retry_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'retry_accum';
CREATE FUNCTION @extschema@.retry_combine(@extschema@.retry_state, @extschema@.retry_state)
	RETURNS @extschema@.retry_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'retry_combine';
CREATE FUNCTION @extschema@.retry_final(@extschema@.retry_state)
	RETURNS @extschema@.retry_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'retry_final';
COMMENT ON FUNCTION @extschema@.retry_accum(@extschema@.retry_state, pg_catalog.int4, pg_catalog.bool, pg_catalog.numeric) IS
	'transition function of tokacct.retry_economics(attempt, succeeded, cost)';
COMMENT ON FUNCTION @extschema@.retry_combine(@extschema@.retry_state, @extschema@.retry_state) IS
	'the sum of two tokacct.retry_state values (combine function of retry_economics and merge)';
COMMENT ON FUNCTION @extschema@.retry_final(@extschema@.retry_state) IS
	'final function of retry_economics and merge: the state trimmed to its last used attempt number';

CREATE AGGREGATE @extschema@.retry_economics(attempt pg_catalog.int4, succeeded pg_catalog.bool, cost pg_catalog.numeric) (
	SFUNC = @extschema@.retry_accum,
	STYPE = @extschema@.retry_state,
	FINALFUNC = @extschema@.retry_final,
	COMBINEFUNC = @extschema@.retry_combine,
	INITCOND = 'max_attempt=0',
	PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.merge(@extschema@.retry_state) (
	SFUNC = @extschema@.retry_combine,
	STYPE = @extschema@.retry_state,
	FINALFUNC = @extschema@.retry_final,
	COMBINEFUNC = @extschema@.retry_combine,
	INITCOND = 'max_attempt=0',
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.retry_economics(pg_catalog.int4, pg_catalog.bool, pg_catalog.numeric) IS
	'retry economics over attempt rows (attempt number from 1, succeeded, cost of the attempt); returns a tokacct.retry_state, read with retry_report(), retry_attempts(), retry_projection(); rows with a NULL are skipped';
COMMENT ON AGGREGATE @extschema@.merge(@extschema@.retry_state) IS
	'merge stored tokacct.retry_state values (rollups): the state of all their rows';

CREATE FUNCTION @extschema@.retry_report(state @extschema@.retry_state,
	OUT items pg_catalog.int8, OUT attempts pg_catalog.int8, OUT solved pg_catalog.int8,
	OUT p1 pg_catalog.float8, OUT success_by_attempt pg_catalog.float8[],
	OUT attempts_per_item pg_catalog.float8, OUT solve_rate pg_catalog.float8,
	OUT total_cost pg_catalog.numeric, OUT failed_cost pg_catalog.numeric,
	OUT failed_share pg_catalog.float8, OUT mean_attempt_cost pg_catalog.numeric,
	OUT cost_per_solved pg_catalog.numeric, OUT naive_cost_per_solved pg_catalog.numeric,
	OUT tail_factor pg_catalog.float8, OUT max_attempt pg_catalog.int4)
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'retry_report';
COMMENT ON FUNCTION @extschema@.retry_report(@extschema@.retry_state) IS
	'read a retry_economics state: items (rows with attempt 1), attempts, solved, p1, success_by_attempt[k] = successes/attempts at attempt k, attempts_per_item, solve_rate, total_cost, failed_cost, failed_share, mean_attempt_cost T, cost_per_solved (observed), naive_cost_per_solved = T/p1, tail_factor = observed/naive, max_attempt; refuses (data_exception) a state whose counts no set of items can give, an item''s attempts numbered 1, 2, 3, ... up to its first success (rows of an attempt k + 1 above the failed rows of attempt k)';

CREATE FUNCTION @extschema@.retry_attempts(state @extschema@.retry_state,
	OUT attempt pg_catalog.int4, OUT and_beyond pg_catalog.bool,
	OUT attempts pg_catalog.int8, OUT successes pg_catalog.int8,
	OUT success_rate pg_catalog.float8, OUT reach pg_catalog.float8,
	OUT cost pg_catalog.numeric, OUT mean_cost pg_catalog.numeric)
	RETURNS SETOF record
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE ROWS 8
	AS 'MODULE_PATHNAME', 'retry_attempts';
COMMENT ON FUNCTION @extschema@.retry_attempts(@extschema@.retry_state) IS
	'one row per attempt number of a retry_economics state: attempts, successes, success_rate (conditional on reaching it), reach = attempts/items, cost, mean_cost; and_beyond marks attempt 32 when it also holds later attempts; refuses a state whose counts no set of items can give, as retry_report does';

CREATE FUNCTION @extschema@.retry_projection(state @extschema@.retry_state,
	max_attempts pg_catalog.int4, fallback_cost pg_catalog.numeric,
	OUT cost_per_item pg_catalog.numeric, OUT yield pg_catalog.float8,
	OUT cost_per_solved pg_catalog.numeric, OUT fallback_items pg_catalog.int8)
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'retry_projection';
COMMENT ON FUNCTION @extschema@.retry_projection(@extschema@.retry_state, pg_catalog.int4, pg_catalog.numeric) IS
	'the observed attempts with retries capped at max_attempts: cost_per_item = (cost of attempts 1..k + fallback_cost x unsolved) / items, yield = solved within k / items, cost_per_solved = cost of attempts 1..k / solved within k, fallback_items = unsolved; refuses a state whose counts no set of items can give, as retry_report does';

CREATE FUNCTION @extschema@.cost_per_solved(state @extschema@.retry_state) RETURNS pg_catalog.numeric
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'retry_cost_per_solved';
COMMENT ON FUNCTION @extschema@.cost_per_solved(@extschema@.retry_state) IS
	'observed cost per solved item of a retry_economics state: all attempt spend / solved items (numeric, 12 decimals; NULL when nothing was solved); refuses a state whose counts no set of items can give, as retry_report does';
