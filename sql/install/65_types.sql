-- ---------------------------------------------------------------------------
-- The aggregates over the column types real tables use (src/agg_types.c):
-- bigint attempt numbers and call orders (row_number() is bigint), float8
-- costs and values.  A float8 amount is taken at its shortest decimal form
-- (15 significant digits) and rounded half away from zero to the picodollar;
-- a bigint where an integer is taken must fit.  Each overload shares the
-- state, combine and final functions of the aggregate it extends.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.retry_accum(@extschema@.retry_state, pg_catalog.int8, pg_catalog.bool, pg_catalog.numeric)
	RETURNS @extschema@.retry_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'aggtypes_retry_accum';
CREATE FUNCTION @extschema@.retry_accum(@extschema@.retry_state, pg_catalog.int4, pg_catalog.bool, pg_catalog.float8)
	RETURNS @extschema@.retry_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'aggtypes_retry_accum';
CREATE FUNCTION @extschema@.retry_accum(@extschema@.retry_state, pg_catalog.int8, pg_catalog.bool, pg_catalog.float8)
	RETURNS @extschema@.retry_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'aggtypes_retry_accum';
COMMENT ON FUNCTION @extschema@.retry_accum(@extschema@.retry_state, pg_catalog.int8, pg_catalog.bool, pg_catalog.numeric) IS
	'transition function of tokacct.retry_economics(bigint attempt, succeeded, cost)';
COMMENT ON FUNCTION @extschema@.retry_accum(@extschema@.retry_state, pg_catalog.int4, pg_catalog.bool, pg_catalog.float8) IS
	'transition function of tokacct.retry_economics(attempt, succeeded, float8 cost)';
COMMENT ON FUNCTION @extschema@.retry_accum(@extschema@.retry_state, pg_catalog.int8, pg_catalog.bool, pg_catalog.float8) IS
	'transition function of tokacct.retry_economics(bigint attempt, succeeded, float8 cost)';

CREATE AGGREGATE @extschema@.retry_economics(attempt pg_catalog.int8, succeeded pg_catalog.bool, cost pg_catalog.numeric) (
	SFUNC = @extschema@.retry_accum, STYPE = @extschema@.retry_state, FINALFUNC = @extschema@.retry_final,
	COMBINEFUNC = @extschema@.retry_combine, INITCOND = 'max_attempt=0', PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.retry_economics(attempt pg_catalog.int4, succeeded pg_catalog.bool, cost pg_catalog.float8) (
	SFUNC = @extschema@.retry_accum, STYPE = @extschema@.retry_state, FINALFUNC = @extschema@.retry_final,
	COMBINEFUNC = @extschema@.retry_combine, INITCOND = 'max_attempt=0', PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.retry_economics(attempt pg_catalog.int8, succeeded pg_catalog.bool, cost pg_catalog.float8) (
	SFUNC = @extschema@.retry_accum, STYPE = @extschema@.retry_state, FINALFUNC = @extschema@.retry_final,
	COMBINEFUNC = @extschema@.retry_combine, INITCOND = 'max_attempt=0', PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.retry_economics(pg_catalog.int8, pg_catalog.bool, pg_catalog.numeric) IS
	'retry_economics with a bigint attempt number (it must fit an integer)';
COMMENT ON AGGREGATE @extschema@.retry_economics(pg_catalog.int4, pg_catalog.bool, pg_catalog.float8) IS
	'retry_economics with a float8 cost (rounded half away from zero to 12 decimals)';
COMMENT ON AGGREGATE @extschema@.retry_economics(pg_catalog.int8, pg_catalog.bool, pg_catalog.float8) IS
	'retry_economics with a bigint attempt number and a float8 cost';

CREATE FUNCTION @extschema@.outcome_accum(@extschema@.outcome_state, pg_catalog.float8, pg_catalog.bool)
	RETURNS @extschema@.outcome_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'aggtypes_outcome_accum';
CREATE FUNCTION @extschema@.outcome_accum(@extschema@.outcome_state, pg_catalog.float8, pg_catalog.bool, pg_catalog.float8)
	RETURNS @extschema@.outcome_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'aggtypes_outcome_accum';
CREATE FUNCTION @extschema@.outcome_accum(@extschema@.outcome_state, pg_catalog.numeric, pg_catalog.bool, pg_catalog.float8)
	RETURNS @extschema@.outcome_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'aggtypes_outcome_accum';
CREATE FUNCTION @extschema@.outcome_accum(@extschema@.outcome_state, pg_catalog.float8, pg_catalog.bool, pg_catalog.numeric)
	RETURNS @extschema@.outcome_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'aggtypes_outcome_accum';
COMMENT ON FUNCTION @extschema@.outcome_accum(@extschema@.outcome_state, pg_catalog.float8, pg_catalog.bool) IS
	'transition function of tokacct.cost_per_outcome(float8 cost, solved)';
COMMENT ON FUNCTION @extschema@.outcome_accum(@extschema@.outcome_state, pg_catalog.float8, pg_catalog.bool, pg_catalog.float8) IS
	'transition function of tokacct.cost_per_outcome(float8 cost, solved, float8 human fix cost)';
COMMENT ON FUNCTION @extschema@.outcome_accum(@extschema@.outcome_state, pg_catalog.numeric, pg_catalog.bool, pg_catalog.float8) IS
	'transition function of tokacct.cost_per_outcome(cost, solved, float8 human fix cost)';
COMMENT ON FUNCTION @extschema@.outcome_accum(@extschema@.outcome_state, pg_catalog.float8, pg_catalog.bool, pg_catalog.numeric) IS
	'transition function of tokacct.cost_per_outcome(float8 cost, solved, human fix cost)';

CREATE AGGREGATE @extschema@.cost_per_outcome(cost pg_catalog.float8, solved pg_catalog.bool) (
	SFUNC = @extschema@.outcome_accum, STYPE = @extschema@.outcome_state, COMBINEFUNC = @extschema@.outcome_combine,
	INITCOND = 'items=0 solved=0 fixed=0 cost=0 fix_cost=0', PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.cost_per_outcome(cost pg_catalog.float8, solved pg_catalog.bool, human_fix_cost pg_catalog.float8) (
	SFUNC = @extschema@.outcome_accum, STYPE = @extschema@.outcome_state, COMBINEFUNC = @extschema@.outcome_combine,
	INITCOND = 'items=0 solved=0 fixed=0 cost=0 fix_cost=0', PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.cost_per_outcome(cost pg_catalog.numeric, solved pg_catalog.bool, human_fix_cost pg_catalog.float8) (
	SFUNC = @extschema@.outcome_accum, STYPE = @extschema@.outcome_state, COMBINEFUNC = @extschema@.outcome_combine,
	INITCOND = 'items=0 solved=0 fixed=0 cost=0 fix_cost=0', PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.cost_per_outcome(cost pg_catalog.float8, solved pg_catalog.bool, human_fix_cost pg_catalog.numeric) (
	SFUNC = @extschema@.outcome_accum, STYPE = @extschema@.outcome_state, COMBINEFUNC = @extschema@.outcome_combine,
	INITCOND = 'items=0 solved=0 fixed=0 cost=0 fix_cost=0', PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.cost_per_outcome(pg_catalog.float8, pg_catalog.bool) IS
	'cost_per_outcome with a float8 cost (rounded half away from zero to 12 decimals)';
COMMENT ON AGGREGATE @extschema@.cost_per_outcome(pg_catalog.float8, pg_catalog.bool, pg_catalog.float8) IS
	'cost_per_outcome with float8 cost and human fix cost';
COMMENT ON AGGREGATE @extschema@.cost_per_outcome(pg_catalog.numeric, pg_catalog.bool, pg_catalog.float8) IS
	'cost_per_outcome with a float8 human fix cost';
COMMENT ON AGGREGATE @extschema@.cost_per_outcome(pg_catalog.float8, pg_catalog.bool, pg_catalog.numeric) IS
	'cost_per_outcome with a float8 cost';

CREATE FUNCTION @extschema@.frontier_accum(@extschema@.frontier_state, pg_catalog.text, pg_catalog.float8, pg_catalog.float8)
	RETURNS @extschema@.frontier_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'aggtypes_frontier_trans';
CREATE FUNCTION @extschema@.frontier_accum(@extschema@.frontier_state, pg_catalog.text, pg_catalog.numeric, pg_catalog.float8)
	RETURNS @extschema@.frontier_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'aggtypes_frontier_trans';
CREATE FUNCTION @extschema@.frontier_accum(@extschema@.frontier_state, pg_catalog.text, pg_catalog.float8, pg_catalog.numeric)
	RETURNS @extschema@.frontier_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'aggtypes_frontier_trans';
CREATE FUNCTION @extschema@.frontier_accum(@extschema@.frontier_state, pg_catalog.text, pg_catalog.float8, pg_catalog.float8, pg_catalog.int8)
	RETURNS @extschema@.frontier_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'aggtypes_frontier_trans_weighted';
CREATE FUNCTION @extschema@.frontier_accum(@extschema@.frontier_state, pg_catalog.text, pg_catalog.numeric, pg_catalog.float8, pg_catalog.int8)
	RETURNS @extschema@.frontier_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'aggtypes_frontier_trans_weighted';
CREATE FUNCTION @extschema@.frontier_accum(@extschema@.frontier_state, pg_catalog.text, pg_catalog.float8, pg_catalog.numeric, pg_catalog.int8)
	RETURNS @extschema@.frontier_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'aggtypes_frontier_trans_weighted';
COMMENT ON FUNCTION @extschema@.frontier_accum(@extschema@.frontier_state, pg_catalog.text, pg_catalog.float8, pg_catalog.float8) IS
	'transition function of tokacct.utility_frontier(option, float8 cost, float8 value)';
COMMENT ON FUNCTION @extschema@.frontier_accum(@extschema@.frontier_state, pg_catalog.text, pg_catalog.numeric, pg_catalog.float8) IS
	'transition function of tokacct.utility_frontier(option, cost, float8 value)';
COMMENT ON FUNCTION @extschema@.frontier_accum(@extschema@.frontier_state, pg_catalog.text, pg_catalog.float8, pg_catalog.numeric) IS
	'transition function of tokacct.utility_frontier(option, float8 cost, value)';
COMMENT ON FUNCTION @extschema@.frontier_accum(@extschema@.frontier_state, pg_catalog.text, pg_catalog.float8, pg_catalog.float8, pg_catalog.int8) IS
	'transition function of tokacct.utility_frontier(option, float8 cost, float8 value, items)';
COMMENT ON FUNCTION @extschema@.frontier_accum(@extschema@.frontier_state, pg_catalog.text, pg_catalog.numeric, pg_catalog.float8, pg_catalog.int8) IS
	'transition function of tokacct.utility_frontier(option, cost, float8 value, items)';
COMMENT ON FUNCTION @extschema@.frontier_accum(@extschema@.frontier_state, pg_catalog.text, pg_catalog.float8, pg_catalog.numeric, pg_catalog.int8) IS
	'transition function of tokacct.utility_frontier(option, float8 cost, value, items)';

CREATE AGGREGATE @extschema@.utility_frontier(option pg_catalog.text, cost pg_catalog.float8, value pg_catalog.float8) (
	SFUNC = @extschema@.frontier_accum, STYPE = @extschema@.frontier_state, FINALFUNC = @extschema@.frontier_final,
	COMBINEFUNC = @extschema@.frontier_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.utility_frontier(option pg_catalog.text, cost pg_catalog.numeric, value pg_catalog.float8) (
	SFUNC = @extschema@.frontier_accum, STYPE = @extschema@.frontier_state, FINALFUNC = @extschema@.frontier_final,
	COMBINEFUNC = @extschema@.frontier_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.utility_frontier(option pg_catalog.text, cost pg_catalog.float8, value pg_catalog.numeric) (
	SFUNC = @extschema@.frontier_accum, STYPE = @extschema@.frontier_state, FINALFUNC = @extschema@.frontier_final,
	COMBINEFUNC = @extschema@.frontier_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.utility_frontier(option pg_catalog.text, cost pg_catalog.float8, value pg_catalog.float8, items pg_catalog.int8) (
	SFUNC = @extschema@.frontier_accum, STYPE = @extschema@.frontier_state, FINALFUNC = @extschema@.frontier_final,
	COMBINEFUNC = @extschema@.frontier_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.utility_frontier(option pg_catalog.text, cost pg_catalog.numeric, value pg_catalog.float8, items pg_catalog.int8) (
	SFUNC = @extschema@.frontier_accum, STYPE = @extschema@.frontier_state, FINALFUNC = @extschema@.frontier_final,
	COMBINEFUNC = @extschema@.frontier_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.utility_frontier(option pg_catalog.text, cost pg_catalog.float8, value pg_catalog.numeric, items pg_catalog.int8) (
	SFUNC = @extschema@.frontier_accum, STYPE = @extschema@.frontier_state, FINALFUNC = @extschema@.frontier_final,
	COMBINEFUNC = @extschema@.frontier_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.utility_frontier(pg_catalog.text, pg_catalog.float8, pg_catalog.float8) IS
	'utility_frontier with float8 cost and value (rounded half away from zero to 12 decimals)';
COMMENT ON AGGREGATE @extschema@.utility_frontier(pg_catalog.text, pg_catalog.numeric, pg_catalog.float8) IS
	'utility_frontier with a float8 value';
COMMENT ON AGGREGATE @extschema@.utility_frontier(pg_catalog.text, pg_catalog.float8, pg_catalog.numeric) IS
	'utility_frontier with a float8 cost';
COMMENT ON AGGREGATE @extschema@.utility_frontier(pg_catalog.text, pg_catalog.float8, pg_catalog.float8, pg_catalog.int8) IS
	'utility_frontier with float8 cost and value, weighted by items';
COMMENT ON AGGREGATE @extschema@.utility_frontier(pg_catalog.text, pg_catalog.numeric, pg_catalog.float8, pg_catalog.int8) IS
	'utility_frontier with a float8 value, weighted by items';
COMMENT ON AGGREGATE @extschema@.utility_frontier(pg_catalog.text, pg_catalog.float8, pg_catalog.numeric, pg_catalog.int8) IS
	'utility_frontier with a float8 cost, weighted by items';

CREATE FUNCTION @extschema@.context_add(@extschema@.context_state, pg_catalog.int8, pg_catalog.int8, pg_catalog.int8)
	RETURNS @extschema@.context_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'aggtypes_context_add';
COMMENT ON FUNCTION @extschema@.context_add(@extschema@.context_state, pg_catalog.int8, pg_catalog.int8, pg_catalog.int8) IS
	'transition function of context_growth(bigint seq, ...) (aggregate use only)';
CREATE AGGREGATE @extschema@.context_growth(seq pg_catalog.int8, input_tokens pg_catalog.int8, output_tokens pg_catalog.int8) (
	SFUNC = @extschema@.context_add, STYPE = @extschema@.context_state, COMBINEFUNC = @extschema@.context_combine,
	FINALFUNC = @extschema@.context_final, FINALFUNC_MODIFY = SHAREABLE, PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.context_growth(pg_catalog.int8, pg_catalog.int8, pg_catalog.int8) IS
	'context_growth with a bigint call order (row_number() gives one; it must fit an integer)';
