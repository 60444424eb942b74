
-- ---------------------------------------------------------------------------
-- Marginal token utility (src/frontier*.c) and budget allocation
-- (src/allocate.c).
-- ---------------------------------------------------------------------------

-- frontier_state -------------------------------------------------------------

CREATE TYPE @extschema@.frontier_state;

CREATE FUNCTION @extschema@.frontier_state_in(pg_catalog.cstring) RETURNS @extschema@.frontier_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'frontier_in';
CREATE FUNCTION @extschema@.frontier_state_out(@extschema@.frontier_state) RETURNS pg_catalog.cstring
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'frontier_out';
CREATE FUNCTION @extschema@.frontier_state_recv(pg_catalog.internal) RETURNS @extschema@.frontier_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'frontier_recv';
CREATE FUNCTION @extschema@.frontier_state_send(@extschema@.frontier_state) RETURNS pg_catalog.bytea
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'frontier_send';

CREATE TYPE @extschema@.frontier_state (
	INPUT = @extschema@.frontier_state_in,
	OUTPUT = @extschema@.frontier_state_out,
	RECEIVE = @extschema@.frontier_state_recv,
	SEND = @extschema@.frontier_state_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = extended
);
COMMENT ON TYPE @extschema@.frontier_state IS
	'state of tokacct.utility_frontier: per option the items and the exact sums of their cost and value; text form {("option",items,cost_sum,value_sum),...} sorted by option';
COMMENT ON FUNCTION @extschema@.frontier_state_in(pg_catalog.cstring) IS 'text input of tokacct.frontier_state (checked option by option)';
COMMENT ON FUNCTION @extschema@.frontier_state_out(@extschema@.frontier_state) IS 'text output of tokacct.frontier_state';
COMMENT ON FUNCTION @extschema@.frontier_state_recv(pg_catalog.internal) IS 'binary input of tokacct.frontier_state (checked option by option)';
COMMENT ON FUNCTION @extschema@.frontier_state_send(@extschema@.frontier_state) IS 'binary output of tokacct.frontier_state';

CREATE FUNCTION @extschema@.frontier_accum(@extschema@.frontier_state, pg_catalog.text, pg_catalog.numeric, pg_catalog.numeric)
	RETURNS @extschema@.frontier_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'frontier_trans';
CREATE FUNCTION @extschema@.frontier_accum(@extschema@.frontier_state, pg_catalog.text, pg_catalog.numeric, pg_catalog.numeric, pg_catalog.int8)
	RETURNS @extschema@.frontier_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'frontier_trans_weighted';
CREATE FUNCTION @extschema@.frontier_combine(@extschema@.frontier_state, @extschema@.frontier_state)
	RETURNS @extschema@.frontier_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'frontier_combine';
CREATE FUNCTION @extschema@.frontier_final(@extschema@.frontier_state)
	RETURNS @extschema@.frontier_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'frontier_final';
COMMENT ON FUNCTION @extschema@.frontier_accum(@extschema@.frontier_state, pg_catalog.text, pg_catalog.numeric, pg_catalog.numeric) IS
	'transition function of tokacct.utility_frontier(option, cost, value)';
COMMENT ON FUNCTION @extschema@.frontier_accum(@extschema@.frontier_state, pg_catalog.text, pg_catalog.numeric, pg_catalog.numeric, pg_catalog.int8) IS
	'transition function of tokacct.utility_frontier(option, cost, value, items)';
COMMENT ON FUNCTION @extschema@.frontier_combine(@extschema@.frontier_state, @extschema@.frontier_state) IS
	'the union of two tokacct.frontier_state values, summing options present in both (combine function of utility_frontier and merge)';
COMMENT ON FUNCTION @extschema@.frontier_final(@extschema@.frontier_state) IS
	'compact copy of a tokacct.frontier_state, options sorted by name (final function of utility_frontier and merge)';

CREATE AGGREGATE @extschema@.utility_frontier(option pg_catalog.text, cost pg_catalog.numeric, value pg_catalog.numeric) (
	SFUNC = @extschema@.frontier_accum,
	STYPE = @extschema@.frontier_state,
	FINALFUNC = @extschema@.frontier_final,
	COMBINEFUNC = @extschema@.frontier_combine,
	PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.utility_frontier(option pg_catalog.text, cost pg_catalog.numeric, value pg_catalog.numeric, items pg_catalog.int8) (
	SFUNC = @extschema@.frontier_accum,
	STYPE = @extschema@.frontier_state,
	FINALFUNC = @extschema@.frontier_final,
	COMBINEFUNC = @extschema@.frontier_combine,
	PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.merge(@extschema@.frontier_state) (
	SFUNC = @extschema@.frontier_combine,
	STYPE = @extschema@.frontier_state,
	FINALFUNC = @extschema@.frontier_final,
	COMBINEFUNC = @extschema@.frontier_combine,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.utility_frontier(pg_catalog.text, pg_catalog.numeric, pg_catalog.numeric) IS
	'utility frontier over item rows (option, cost of the item, value of the item, cost >= 0); returns a tokacct.frontier_state, read with tokacct.frontier_options(); rows with a NULL are skipped, no rows give NULL';
COMMENT ON AGGREGATE @extschema@.utility_frontier(pg_catalog.text, pg_catalog.numeric, pg_catalog.numeric, pg_catalog.int8) IS
	'utility frontier over option rows (option, mean cost per item, mean value per item, items > 0): each row counts as that many items; returns a tokacct.frontier_state';
COMMENT ON AGGREGATE @extschema@.merge(@extschema@.frontier_state) IS
	'merge stored tokacct.frontier_state values (rollups): the state of all their rows';

CREATE FUNCTION @extschema@.frontier_options(state @extschema@.frontier_state,
	OUT option pg_catalog.text, OUT items pg_catalog.int8,
	OUT mean_cost pg_catalog.numeric, OUT mean_value pg_catalog.numeric,
	OUT on_frontier pg_catalog.bool, OUT frontier_rank pg_catalog.int4,
	OUT marginal_utility pg_catalog.float8, OUT dominated_by pg_catalog.text[])
	RETURNS SETOF pg_catalog.record
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'frontier_options';
COMMENT ON FUNCTION @extschema@.frontier_options(@extschema@.frontier_state) IS
	'one row per option, cheapest first: items, mean_cost and mean_value per item (numeric rounded half away from zero to 12 decimals; the frontier is computed exactly on these), on_frontier (upper concave hull from the cheapest option up to the cheapest of highest value; collinear points are on it), frontier_rank (1 = cheapest), marginal_utility = (value - previous frontier value) / (cost - previous frontier cost), dominated_by = the option, or the pair of neighbouring frontier options, that beats an option off the frontier; of identical options the first by name is on the frontier';

-- allocation -----------------------------------------------------------------

CREATE TYPE @extschema@.allocation_option AS (
	workflow pg_catalog.text,
	option pg_catalog.text,
	cost_per_item pg_catalog.numeric,
	value_per_item pg_catalog.numeric,
	items pg_catalog.int8,
	is_current pg_catalog.bool
);
COMMENT ON TYPE @extschema@.allocation_option IS
	'one option of one workflow for tokacct.allocate(): its mean cost and value per item, the workflow''s volume of items (the same on each of its options) and whether the workflow runs this option today';
COMMENT ON COLUMN @extschema@.allocation_option.workflow IS 'the kind of work, e.g. claims_triage';
COMMENT ON COLUMN @extschema@.allocation_option.option IS 'a way to run it: a model, a model with settings, ''human'' or ''BPO''';
COMMENT ON COLUMN @extschema@.allocation_option.cost_per_item IS 'mean cost per item (>= 0, rounded half away from zero to 12 decimals), retries and human fallback included';
COMMENT ON COLUMN @extschema@.allocation_option.value_per_item IS 'mean value per item (may be negative): value of solved items minus human fix cost';
COMMENT ON COLUMN @extschema@.allocation_option.items IS 'the workflow''s volume of items in the budget period (> 0)';
COMMENT ON COLUMN @extschema@.allocation_option.is_current IS 'true for the option the workflow runs today (at most one per workflow; NULL means false)';

CREATE FUNCTION @extschema@.allocate(budget pg_catalog.numeric, options @extschema@.allocation_option[],
	OUT workflow pg_catalog.text, OUT option pg_catalog.text, OUT items pg_catalog.numeric,
	OUT share pg_catalog.float8, OUT spend pg_catalog.numeric, OUT value pg_catalog.numeric)
	RETURNS SETOF pg_catalog.record
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'allocate_plan';
COMMENT ON FUNCTION @extschema@.allocate(pg_catalog.numeric, @extschema@.allocation_option[]) IS
	'the plan that maximises total value with total spend <= budget (the LP optimum): one row per workflow and option used, with items, share, spend and value; at most one workflow is split between two neighbouring frontier options, its items and value rounded to 12 decimals; errors when the budget is below the cheapest plan';

CREATE FUNCTION @extschema@.allocation_summary(budget pg_catalog.numeric, options @extschema@.allocation_option[],
	OUT feasible pg_catalog.bool, OUT spend pg_catalog.numeric,
	OUT value pg_catalog.numeric, OUT shadow_price pg_catalog.float8,
	OUT min_budget pg_catalog.numeric, OUT full_budget pg_catalog.numeric,
	OUT split_workflow pg_catalog.text)
	RETURNS pg_catalog.record
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'allocate_summary';
COMMENT ON FUNCTION @extschema@.allocation_summary(pg_catalog.numeric, @extschema@.allocation_option[]) IS
	'the optimal plan in one row: feasible (budget >= min_budget), spend, value, shadow_price (value bought by the next dollar; 0 once every workflow runs its highest-value option), min_budget (every workflow on its cheapest option), full_budget (every workflow on its highest-value option: more buys nothing), split_workflow; spend, value and shadow_price are NULL when infeasible';

CREATE FUNCTION @extschema@.allocation_decisions(budget pg_catalog.numeric, options @extschema@.allocation_option[],
	OUT workflow pg_catalog.text, OUT decision pg_catalog.text,
	OUT spend_change pg_catalog.numeric, OUT value_change pg_catalog.numeric)
	RETURNS SETOF pg_catalog.record
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'allocate_decisions';
COMMENT ON FUNCTION @extschema@.allocation_decisions(pg_catalog.numeric, @extschema@.allocation_option[]) IS
	'the optimal plan as one decision per workflow in business words (keep, switch, move a share, split), with the change in spend and value against the current option (NULL when the workflow has no current option); money in the words is rounded to cents';
