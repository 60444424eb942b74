
-- ---------------------------------------------------------------------------
-- Context growth per trace and the cost quantile sketch (src/agg_context.c,
-- src/agg_sketch.c).  Both have a concrete state type, a combine function
-- and a merge aggregate over stored states.
-- ---------------------------------------------------------------------------

-- context_state: the calls of one trace (call order, input, output tokens).
CREATE TYPE @extschema@.context_state;

CREATE FUNCTION @extschema@.context_state_in(pg_catalog.cstring) RETURNS @extschema@.context_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'context_in';
COMMENT ON FUNCTION @extschema@.context_state_in(pg_catalog.cstring) IS
	'text input of context_state: {(seq,input_tokens,output_tokens),...}';

CREATE FUNCTION @extschema@.context_state_out(@extschema@.context_state) RETURNS pg_catalog.cstring
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'context_out';
COMMENT ON FUNCTION @extschema@.context_state_out(@extschema@.context_state) IS
	'text output of context_state, calls sorted by call order';

CREATE FUNCTION @extschema@.context_state_recv(pg_catalog.internal) RETURNS @extschema@.context_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'context_recv';
COMMENT ON FUNCTION @extschema@.context_state_recv(pg_catalog.internal) IS
	'binary input of context_state';

CREATE FUNCTION @extschema@.context_state_send(@extschema@.context_state) RETURNS pg_catalog.bytea
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'context_send';
COMMENT ON FUNCTION @extschema@.context_state_send(@extschema@.context_state) IS
	'binary output of context_state';

CREATE TYPE @extschema@.context_state (
	INPUT = @extschema@.context_state_in,
	OUTPUT = @extschema@.context_state_out,
	RECEIVE = @extschema@.context_state_recv,
	SEND = @extschema@.context_state_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = extended
);
COMMENT ON TYPE @extschema@.context_state IS
	'state of context_growth: the calls of one trace (12 bytes a call); store it, merge it with tokacct.merge';

CREATE FUNCTION @extschema@.context_add(@extschema@.context_state, pg_catalog.int4, pg_catalog.int8, pg_catalog.int8)
	RETURNS @extschema@.context_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'context_add';
COMMENT ON FUNCTION @extschema@.context_add(@extschema@.context_state, pg_catalog.int4, pg_catalog.int8, pg_catalog.int8) IS
	'transition function of context_growth (aggregate use only)';

CREATE FUNCTION @extschema@.context_combine(@extschema@.context_state, @extschema@.context_state)
	RETURNS @extschema@.context_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'context_combine';
COMMENT ON FUNCTION @extschema@.context_combine(@extschema@.context_state, @extschema@.context_state) IS
	'combine function of context_growth and merge(context_state) (aggregate use only)';

CREATE FUNCTION @extschema@.context_final(@extschema@.context_state)
	RETURNS @extschema@.context_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'context_final';
COMMENT ON FUNCTION @extschema@.context_final(@extschema@.context_state) IS
	'final function of context_growth: sorts the calls by call order in place, rejects duplicates (aggregate use only)';

CREATE AGGREGATE @extschema@.context_growth(seq pg_catalog.int4, input_tokens pg_catalog.int8, output_tokens pg_catalog.int8) (
	SFUNC = @extschema@.context_add,
	STYPE = @extschema@.context_state,
	COMBINEFUNC = @extschema@.context_combine,
	FINALFUNC = @extschema@.context_final,
	FINALFUNC_MODIFY = SHAREABLE,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.context_growth(pg_catalog.int4, pg_catalog.int8, pg_catalog.int8) IS
	'context growth of one trace (group by trace): its calls, in any row order; read it with context_report and context_savings';

CREATE AGGREGATE @extschema@.merge(@extschema@.context_state) (
	SFUNC = @extschema@.context_combine,
	STYPE = @extschema@.context_state,
	COMBINEFUNC = @extschema@.context_combine,
	FINALFUNC = @extschema@.context_final,
	FINALFUNC_MODIFY = SHAREABLE,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.merge(@extschema@.context_state) IS
	'merge stored context_growth states of the same trace (each call must appear once)';

CREATE FUNCTION @extschema@.context_report(state @extschema@.context_state,
	OUT calls pg_catalog.int8, OUT total_input pg_catalog.int8, OUT fresh_input pg_catalog.int8,
	OUT carried_input pg_catalog.int8, OUT carried_share pg_catalog.float8,
	OUT growth_exponent pg_catalog.float8)
	RETURNS pg_catalog.record
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'context_report';
COMMENT ON FUNCTION @extschema@.context_report(@extschema@.context_state) IS
	'calls, total input, fresh input, carried history, share carried and growth exponent of a trace';

CREATE FUNCTION @extschema@.context_savings(state @extschema@.context_state, "window" pg_catalog.int8,
	OUT saved_input pg_catalog.int8, OUT saved_share pg_catalog.float8)
	RETURNS pg_catalog.record
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'context_savings';
COMMENT ON FUNCTION @extschema@.context_savings(@extschema@.context_state, pg_catalog.int8) IS
	'input tokens (and share of the input) saved if the history carried into each turn were capped at window tokens';

CREATE FUNCTION @extschema@.context_calls(@extschema@.context_state) RETURNS pg_catalog.int8
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'context_calls';
COMMENT ON FUNCTION @extschema@.context_calls(@extschema@.context_state) IS
	'number of calls in a context_growth state';

CREATE FUNCTION @extschema@.context_total_input(@extschema@.context_state) RETURNS pg_catalog.int8
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'context_total_input';
COMMENT ON FUNCTION @extschema@.context_total_input(@extschema@.context_state) IS
	'total input tokens of a trace';

CREATE FUNCTION @extschema@.context_fresh_input(@extschema@.context_state) RETURNS pg_catalog.int8
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'context_fresh_input';
COMMENT ON FUNCTION @extschema@.context_fresh_input(@extschema@.context_state) IS
	'input tokens of a trace that were new (not re-sent history)';

CREATE FUNCTION @extschema@.context_carried_input(@extschema@.context_state) RETURNS pg_catalog.int8
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'context_carried_input';
COMMENT ON FUNCTION @extschema@.context_carried_input(@extschema@.context_state) IS
	'input tokens of a trace re-sent from earlier turns: sum over turns k >= 2 of min(input_k, input_{k-1} + output_{k-1})';

CREATE FUNCTION @extschema@.context_carried_share(@extschema@.context_state) RETURNS pg_catalog.float8
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'context_carried_share';
COMMENT ON FUNCTION @extschema@.context_carried_share(@extschema@.context_state) IS
	'carried history / total input (NULL when the trace has no input)';

CREATE FUNCTION @extschema@.context_growth_exponent(@extschema@.context_state) RETURNS pg_catalog.float8
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'context_growth_exponent';
COMMENT ON FUNCTION @extschema@.context_growth_exponent(@extschema@.context_state) IS
	'least-squares slope of ln(cumulative input) on ln(turn): 1 linear, 2 quadratic (NULL under two turns with input)';

-- sketch_state: the cost quantile sketch (relative error <= 1%).
CREATE TYPE @extschema@.sketch_state;

CREATE FUNCTION @extschema@.sketch_state_in(pg_catalog.cstring) RETURNS @extschema@.sketch_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'sketch_in';
COMMENT ON FUNCTION @extschema@.sketch_state_in(pg_catalog.cstring) IS
	'text input of sketch_state: v=1 count=N zero=Z min=X max=Y pos={key:count,...} neg={key:count,...}';

CREATE FUNCTION @extschema@.sketch_state_out(@extschema@.sketch_state) RETURNS pg_catalog.cstring
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'sketch_out';
COMMENT ON FUNCTION @extschema@.sketch_state_out(@extschema@.sketch_state) IS
	'text output of sketch_state';

CREATE FUNCTION @extschema@.sketch_state_recv(pg_catalog.internal) RETURNS @extschema@.sketch_state
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'sketch_recv';
COMMENT ON FUNCTION @extschema@.sketch_state_recv(pg_catalog.internal) IS
	'binary input of sketch_state';

CREATE FUNCTION @extschema@.sketch_state_send(@extschema@.sketch_state) RETURNS pg_catalog.bytea
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'sketch_send';
COMMENT ON FUNCTION @extschema@.sketch_state_send(@extschema@.sketch_state) IS
	'binary output of sketch_state';

CREATE TYPE @extschema@.sketch_state (
	INPUT = @extschema@.sketch_state_in,
	OUTPUT = @extschema@.sketch_state_out,
	RECEIVE = @extschema@.sketch_state_recv,
	SEND = @extschema@.sketch_state_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = extended
);
COMMENT ON TYPE @extschema@.sketch_state IS
	'state of cost_sketch: logarithmic buckets (DDSketch-style, 35 buckets per power of two, relative error <= 0.0099); store it, merge it with tokacct.merge';

CREATE FUNCTION @extschema@.sketch_add(@extschema@.sketch_state, pg_catalog.numeric)
	RETURNS @extschema@.sketch_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'sketch_add_numeric';
COMMENT ON FUNCTION @extschema@.sketch_add(@extschema@.sketch_state, pg_catalog.numeric) IS
	'transition function of cost_sketch(numeric) (aggregate use only)';

CREATE FUNCTION @extschema@.sketch_add(@extschema@.sketch_state, pg_catalog.float8)
	RETURNS @extschema@.sketch_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'sketch_add_float8';
COMMENT ON FUNCTION @extschema@.sketch_add(@extschema@.sketch_state, pg_catalog.float8) IS
	'transition function of cost_sketch(float8) (aggregate use only)';

CREATE FUNCTION @extschema@.sketch_combine(@extschema@.sketch_state, @extschema@.sketch_state)
	RETURNS @extschema@.sketch_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'sketch_combine';
COMMENT ON FUNCTION @extschema@.sketch_combine(@extschema@.sketch_state, @extschema@.sketch_state) IS
	'combine function of cost_sketch and merge(sketch_state) (aggregate use only)';

CREATE FUNCTION @extschema@.sketch_final(@extschema@.sketch_state)
	RETURNS @extschema@.sketch_state
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'sketch_final';
COMMENT ON FUNCTION @extschema@.sketch_final(@extschema@.sketch_state) IS
	'final function of cost_sketch: the sketch with unused buckets trimmed';

CREATE AGGREGATE @extschema@.cost_sketch(cost pg_catalog.numeric) (
	SFUNC = @extschema@.sketch_add,
	STYPE = @extschema@.sketch_state,
	COMBINEFUNC = @extschema@.sketch_combine,
	FINALFUNC = @extschema@.sketch_final,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.cost_sketch(pg_catalog.numeric) IS
	'quantile sketch of costs (relative error <= 1%); read it with cost_quantile, cost_quantiles, tail_ratio';

CREATE AGGREGATE @extschema@.cost_sketch(cost pg_catalog.float8) (
	SFUNC = @extschema@.sketch_add,
	STYPE = @extschema@.sketch_state,
	COMBINEFUNC = @extschema@.sketch_combine,
	FINALFUNC = @extschema@.sketch_final,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.cost_sketch(pg_catalog.float8) IS
	'quantile sketch of float8 costs (relative error <= 1%; magnitudes under 1e-12 count as 0, over 1e15 are rejected)';

CREATE AGGREGATE @extschema@.merge(@extschema@.sketch_state) (
	SFUNC = @extschema@.sketch_combine,
	STYPE = @extschema@.sketch_state,
	COMBINEFUNC = @extschema@.sketch_combine,
	FINALFUNC = @extschema@.sketch_final,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.merge(@extschema@.sketch_state) IS
	'merge stored cost sketches into one (exact: bucket counts add)';

CREATE FUNCTION @extschema@.cost_quantile(state @extschema@.sketch_state, q pg_catalog.float8)
	RETURNS pg_catalog.float8
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'sketch_quantile';
COMMENT ON FUNCTION @extschema@.cost_quantile(@extschema@.sketch_state, pg_catalog.float8) IS
	'quantile q (0..1) of the sketched costs, as percentile_cont interpolates, within 1% relative';

CREATE FUNCTION @extschema@.cost_quantiles(state @extschema@.sketch_state, qs pg_catalog.float8[])
	RETURNS pg_catalog.float8[]
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'sketch_quantiles';
COMMENT ON FUNCTION @extschema@.cost_quantiles(@extschema@.sketch_state, pg_catalog.float8[]) IS
	'several quantiles of the sketched costs at once, in the order asked';

CREATE FUNCTION @extschema@.tail_ratio(state @extschema@.sketch_state)
	RETURNS pg_catalog.float8
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'sketch_tail_ratio';
COMMENT ON FUNCTION @extschema@.tail_ratio(@extschema@.sketch_state) IS
	'p95 / p50 of the sketched costs (NULL when p50 is 0); within about 2% relative';

CREATE FUNCTION @extschema@.sketch_count(state @extschema@.sketch_state)
	RETURNS pg_catalog.int8
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'sketch_count';
COMMENT ON FUNCTION @extschema@.sketch_count(@extschema@.sketch_state) IS
	'number of costs summarised in a sketch';
