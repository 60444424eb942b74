
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
