
-- ---------------------------------------------------------------------------
-- Economics: scalar functions (retry tail, capped retries with a fallback,
-- break-even, pass@k, context cost, rate intervals)
-- ---------------------------------------------------------------------------

CREATE TYPE @extschema@.item_cost AS (
	cost_per_item pg_catalog.numeric,
	yield pg_catalog.float8,
	expected_attempts pg_catalog.float8,
	ai_cost_per_ai_solved pg_catalog.numeric
);
COMMENT ON TYPE @extschema@.item_cost IS
	'expected economics of one item under capped retries with a fallback';
COMMENT ON COLUMN @extschema@.item_cost.cost_per_item IS
	'expected cost per item: attempt cost x expected attempts + fallback cost x (1-p)^k';
COMMENT ON COLUMN @extschema@.item_cost.yield IS
	'share of items solved by AI within k attempts: 1 - (1-p)^k';
COMMENT ON COLUMN @extschema@.item_cost.expected_attempts IS
	'expected AI attempts per item: (1 - (1-p)^k) / p';
COMMENT ON COLUMN @extschema@.item_cost.ai_cost_per_ai_solved IS
	'AI spend per item solved by AI: attempt cost x expected attempts / yield';

CREATE TYPE @extschema@.rate_interval AS (
	low pg_catalog.float8,
	high pg_catalog.float8
);
COMMENT ON TYPE @extschema@.rate_interval IS 'a confidence interval for a rate';
COMMENT ON COLUMN @extschema@.rate_interval.low IS 'lower bound';
COMMENT ON COLUMN @extschema@.rate_interval.high IS 'upper bound';

CREATE FUNCTION @extschema@.effective_cost(attempt_cost pg_catalog.numeric, p pg_catalog.float8)
	RETURNS pg_catalog.numeric
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'econ_effective_cost';
COMMENT ON FUNCTION @extschema@.effective_cost(pg_catalog.numeric, pg_catalog.float8) IS
	'expected cost per solved item when each attempt costs attempt_cost and succeeds with probability p: T/p (rounded to 1e-12)';

CREATE FUNCTION @extschema@.effective_cost(success_cost pg_catalog.numeric,
		failure_cost pg_catalog.numeric, p pg_catalog.float8)
	RETURNS pg_catalog.numeric
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'econ_effective_cost_split';
COMMENT ON FUNCTION @extschema@.effective_cost(pg_catalog.numeric, pg_catalog.numeric, pg_catalog.float8) IS
	'expected cost per solved item when a success costs success_cost and a failed attempt failure_cost: T_s + T_f(1-p)/p';

CREATE FUNCTION @extschema@.expected_item_cost(attempt_cost pg_catalog.numeric,
		p pg_catalog.float8, max_attempts pg_catalog.int4, fallback_cost pg_catalog.numeric)
	RETURNS @extschema@.item_cost
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'econ_expected_item_cost';
COMMENT ON FUNCTION @extschema@.expected_item_cost(pg_catalog.numeric, pg_catalog.float8, pg_catalog.int4, pg_catalog.numeric) IS
	'retries capped at max_attempts, then a fallback (human or BPO) at fallback_cost: expected cost per item, yield, expected attempts, AI cost per AI-solved item';

CREATE FUNCTION @extschema@.break_even_p(attempt_cost pg_catalog.numeric, unit_price pg_catalog.numeric)
	RETURNS pg_catalog.float8
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'econ_break_even_p';
COMMENT ON FUNCTION @extschema@.break_even_p(pg_catalog.numeric, pg_catalog.numeric) IS
	'first-try success rate at which T/p equals the unit price: T/U; NULL when no rate reaches it (T > U)';

CREATE FUNCTION @extschema@.break_even_p(attempt_cost pg_catalog.numeric, unit_price pg_catalog.numeric,
		max_attempts pg_catalog.int4, fallback_cost pg_catalog.numeric)
	RETURNS pg_catalog.float8
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'econ_break_even_p_capped';
COMMENT ON FUNCTION @extschema@.break_even_p(pg_catalog.numeric, pg_catalog.numeric, pg_catalog.int4, pg_catalog.numeric) IS
	'first-try success rate at which capped retries plus fallback cost the unit price per item; NULL when never (U < T), 0 when always (U >= T*k + H)';

CREATE FUNCTION @extschema@.break_even_attempt_cost(p pg_catalog.float8, unit_price pg_catalog.numeric)
	RETURNS pg_catalog.numeric
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'econ_break_even_attempt_cost';
COMMENT ON FUNCTION @extschema@.break_even_attempt_cost(pg_catalog.float8, pg_catalog.numeric) IS
	'largest attempt cost whose T/p still does not exceed the unit price: U*p';

CREATE FUNCTION @extschema@.break_even_attempt_cost(p pg_catalog.float8, unit_price pg_catalog.numeric,
		max_attempts pg_catalog.int4, fallback_cost pg_catalog.numeric)
	RETURNS pg_catalog.numeric
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'econ_break_even_attempt_cost_capped';
COMMENT ON FUNCTION @extschema@.break_even_attempt_cost(pg_catalog.float8, pg_catalog.numeric, pg_catalog.int4, pg_catalog.numeric) IS
	'largest attempt cost (rounded down to 1e-12) at which capped retries plus fallback still do not exceed the unit price; NULL when the fallback alone exceeds it';

CREATE FUNCTION @extschema@.pass_at_k(n pg_catalog.int4, c pg_catalog.int4, k pg_catalog.int4)
	RETURNS pg_catalog.float8
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'econ_pass_at_k';
COMMENT ON FUNCTION @extschema@.pass_at_k(pg_catalog.int4, pg_catalog.int4, pg_catalog.int4) IS
	'unbiased pass@k from n trials with c successes: 1 - C(n-c,k)/C(n,k), the chance that k tries include a success';

CREATE FUNCTION @extschema@.pass_hat_k(n pg_catalog.int4, c pg_catalog.int4, k pg_catalog.int4)
	RETURNS pg_catalog.float8
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'econ_pass_hat_k';
COMMENT ON FUNCTION @extschema@.pass_hat_k(pg_catalog.int4, pg_catalog.int4, pg_catalog.int4) IS
	'unbiased pass^k from n trials with c successes: C(c,k)/C(n,k), the chance that k tries all succeed';

CREATE FUNCTION @extschema@.context_cost(n pg_catalog.int8, linear pg_catalog.numeric, quadratic pg_catalog.numeric)
	RETURNS pg_catalog.numeric
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'econ_context_cost';
COMMENT ON FUNCTION @extschema@.context_cost(pg_catalog.int8, pg_catalog.numeric, pg_catalog.numeric) IS
	'compute cost of a context of n tokens: linear*n + quadratic*n^2 (exact)';

CREATE FUNCTION @extschema@.agent_loop_input_tokens(turns pg_catalog.int4, base pg_catalog.int8, per_turn pg_catalog.int8)
	RETURNS pg_catalog.int8
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'econ_agent_loop_input_tokens';
COMMENT ON FUNCTION @extschema@.agent_loop_input_tokens(pg_catalog.int4, pg_catalog.int8, pg_catalog.int8) IS
	'input tokens of a loop that re-sends its growing history: turn t sends base + (t-1)*per_turn, total turns*base + per_turn*turns*(turns-1)/2';

CREATE FUNCTION @extschema@.wilson_interval(successes pg_catalog.int8, trials pg_catalog.int8,
		confidence pg_catalog.float8 DEFAULT 0.95)
	RETURNS @extschema@.rate_interval
	LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'econ_wilson_interval';
COMMENT ON FUNCTION @extschema@.wilson_interval(pg_catalog.int8, pg_catalog.int8, pg_catalog.float8) IS
	'Wilson score interval for a success rate of successes/trials at the given confidence';
