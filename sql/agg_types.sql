-- The aggregates over the column types real tables use: bigint attempt
-- numbers and call orders, float8 costs and values.  Each overload gives
-- what the numeric/integer aggregate gives on the same rows; a float8 amount
-- is taken at its shortest decimal form and rounded half away from zero to
-- 12 decimals; a bigint that does not fit an integer is an error.

CREATE TABLE types_attempts (item int, attempt bigint, succeeded bool, cost float8, cost_n numeric);
INSERT INTO types_attempts VALUES
	(1, 1, false, 0.1, 0.1), (1, 2, true, 0.2, 0.2),
	(2, 1, true, 0.30000000000000004, 0.3),			-- 0.1 + 0.2 in float8: 15 digits give 0.3
	(3, 1, false, 1.0 / 3, 0.333333333333),			-- 0.333333333333333 rounds to 12 decimals
	(3, 2, false, 5e-13, 0.000000000001),			-- half a picodollar rounds away from zero
	(3, 3, true, 2.4e-13, 0);						-- under half a picodollar: 0
-- (states compared in their text form)
SELECT tokacct.retry_economics(attempt, succeeded, cost)::text = tokacct.retry_economics(attempt::int, succeeded, cost_n)::text AS bigint_float8,
	   tokacct.retry_economics(attempt, succeeded, cost_n)::text = tokacct.retry_economics(attempt::int, succeeded, cost_n)::text AS bigint_numeric,
	   tokacct.retry_economics(attempt::int, succeeded, cost)::text = tokacct.retry_economics(attempt::int, succeeded, cost_n)::text AS int_float8
  FROM types_attempts;
-- (0.1 + 0.2 + 0.3 + 0.333333333333 + 0.000000000001 + 0 = 0.933333333334)
SELECT (tokacct.retry_report(tokacct.retry_economics(attempt, succeeded, cost))).total_cost FROM types_attempts;
-- attempt 1: items 1, 2, 3, one success, cost 0.1 + 0.3 + 0.333333333333,
-- failed 0.1 + 0.333333333333; attempt 2: items 1 and 3, cost 0.2 +
-- 0.000000000001, failed 0.000000000001; attempt 3: item 3, cost 0
SELECT tokacct.retry_economics(attempt, succeeded, cost)::text FROM types_attempts;
SELECT tokacct.retry_economics(a, true, 1.0::float8) FROM (VALUES (3000000000::bigint)) v(a);
SELECT tokacct.retry_economics(1, true, c) FROM (VALUES ('NaN'::float8)) v(c);
SELECT tokacct.retry_economics(1::bigint, true, c) FROM (VALUES (-1::float8)) v(c);

-- cost per outcome, item rows with float8 costs and fix costs
CREATE TABLE types_items (cost float8, solved bool, fix float8);
INSERT INTO types_items VALUES (0.1, true, NULL), (0.2, false, 12.5), (0.30000000000000004, true, 0);
SELECT tokacct.cost_per_outcome(cost, solved)::text AS float8_cost,
	   tokacct.cost_per_outcome(cost, solved, fix)::text AS float8_both,
	   tokacct.cost_per_outcome(cost::numeric, solved, fix)::text AS float8_fix,
	   tokacct.cost_per_outcome(cost, solved, fix::numeric)::text AS numeric_fix
  FROM types_items;
SELECT tokacct.cost_per_outcome(c, true) FROM (VALUES ('Infinity'::float8)) v(c);

-- the frontier: float8 costs and values, with or without item counts
CREATE TABLE types_frontier (option text, cost float8, value float8, n bigint);
INSERT INTO types_frontier VALUES ('small', 0.1, 3.0, 4), ('large', 0.4, 4.0, 2), ('bpo', 4.5, 4.5, 1);
SELECT tokacct.utility_frontier(option, cost, value)::text = tokacct.utility_frontier(option, cost::numeric, value::numeric)::text AS plain,
	   tokacct.utility_frontier(option, cost::numeric, value)::text = tokacct.utility_frontier(option, cost::numeric, value::numeric)::text AS value_float8,
	   tokacct.utility_frontier(option, cost, value::numeric)::text = tokacct.utility_frontier(option, cost::numeric, value::numeric)::text AS cost_float8,
	   tokacct.utility_frontier(option, cost, value, n)::text = tokacct.utility_frontier(option, cost::numeric, value::numeric, n)::text AS weighted
  FROM types_frontier;
SELECT o.option, o.mean_cost, o.mean_value, o.on_frontier
  FROM tokacct.frontier_options((SELECT tokacct.utility_frontier(option, cost, value, n) FROM types_frontier)) o
 ORDER BY o.mean_cost;

-- context growth with the bigint call order row_number() gives
SELECT tokacct.context_growth(seq, input_tokens, output_tokens)::text
	   = (SELECT tokacct.context_growth(seq::int, input_tokens, output_tokens)::text
			FROM (SELECT row_number() OVER (ORDER BY t) AS seq, 1000 + 400 * t AS input_tokens, 50::bigint AS output_tokens
					FROM generate_series(1, 5) t) y) AS same
  FROM (SELECT row_number() OVER (ORDER BY t) AS seq, 1000 + 400 * t AS input_tokens, 50::bigint AS output_tokens
		  FROM generate_series(1, 5) t) x;
SELECT tokacct.context_growth(s, 10, 1) FROM (VALUES (-3000000000::bigint)) v(s);

-- calling an adapter outside its aggregate
SELECT tokacct_internal.retry_accum('max_attempt=0'::tokacct.retry_state, 1::bigint, true, 1.0::numeric);

DROP TABLE types_attempts, types_items, types_frontier;
