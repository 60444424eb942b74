-- Money on the way in: every function and aggregate that takes money rounds
-- an amount with more than 12 decimals to the picodollar, half away from
-- zero, instead of refusing it; NaN, infinity and amounts out of range are
-- still refused.  Every expected value is worked out by hand in the comment
-- beside it, or computed independently in numeric SQL with round(x, 12) row
-- by row; money is compared exactly.

-- 1. The rule ---------------------------------------------------------------
-- numeric's round() breaks ties away from zero: the same rule, so SQL's
-- round(x, 12) is the independent answer below
SELECT round(0.0000000000005, 12) AS tie_up, round(-0.0000000000005, 12) AS tie_down,
       round(0.0000000000004999, 12) AS below_half, round(2.5) AS two_and_a_half,
       round(-2.5) AS minus_two_and_a_half;

-- 2. Costs with 30 decimals, as Langfuse stores them (numeric(65,30)) -------
CREATE TABLE money_in (k int, cost numeric(65,30), expect numeric);
INSERT INTO money_in VALUES
	-- the 13th decimal and beyond decide: below half a picodollar rounds down,
	-- half or more rounds away from zero
	(1, 0.123456789012499999999999999999, 0.123456789012),
	(2, 0.123456789012500000000000000000, 0.123456789013),
	(3, 0.000000000000499999999999999999, 0),
	(4, 0.000000000000500000000000000000, 0.000000000001),
	-- the carry runs through every digit: 1.9999999999995 -> 2
	(5, 1.999999999999500000000000000000, 2),
	-- 12345.678901234567|890123456789012345: 13th decimal 8 -> up
	(6, 12345.678901234567890123456789012345, 12345.678901234568),
	-- the largest amount one row carries, reached by rounding down
	(7, 9223372.036854775807499999999999999999, 9223372.036854775807),
	-- no decimals past the 12th: unchanged
	(8, 0.5, 0.5);
-- the values above are money amounts rounded by hand: they equal round(x, 12)
SELECT k, cost, expect, round(cost, 12) = expect AS rule_holds FROM money_in ORDER BY k;

-- each money-taking aggregate and function gets the rounded amount
SELECT k,
       (tokacct.outcome_report(tokacct.cost_per_outcome(cost, true))).ai_cost = expect AS cost_per_outcome,
       (tokacct.outcome_report(tokacct.cost_per_outcome(1, false, cost))).human_fix_cost = expect AS human_fix_cost,
       (tokacct.retry_report(tokacct.retry_economics(1, true, cost))).total_cost = expect AS retry_economics,
       tokacct.cost_sketch(cost)::text = tokacct.cost_sketch(expect)::text AS cost_sketch,
       tokacct.utility_frontier('o', cost, cost)::text
           = format('{("o",1,%s,%s)}', trim_scale(expect), trim_scale(expect)) AS utility_frontier,
       (tokacct.waste_summary(tokacct.waste_agg('s', NULL, 'llm', 'x', NULL, 'ok', cost,
                                                '2026-01-01 00:00+00'))).total = expect AS waste_agg,
       (tokacct.sourced_cost(cost, NULL, NULL, 'no-such-model', 0, 0)).cost = expect AS sourced_cost
FROM money_in GROUP BY k, cost, expect ORDER BY k;
-- a reported cost comes back rounded, without trailing zeros
SELECT (tokacct.sourced_cost(cost, NULL, NULL, 'no-such-model', 0, 0)).* FROM money_in WHERE k IN (2, 6, 8) ORDER BY k;
-- retry_projection's fallback cost: two items, one solved at attempt 1, the
-- two attempts cost 1.5; capped at 1 attempt the other item falls back:
-- fallback 0.1234567890125 -> 0.123456789013, cost per item
-- (1.5 + 0.123456789013) / 2 = 0.8117283945065 -> 0.811728394507
SELECT cost_per_item FROM tokacct.retry_projection('max_attempt=1 1:2,1,1.5,0.5', 1, 0.123456789012500000000000000000);
-- allocate(): cost, value and budget are rounded; a value may be negative
-- (-0.1234567890125 -> -0.123456789013); the budget 0.1234567890125 rounds
-- to 0.123456789013, exactly the cost of the one option
SELECT * FROM tokacct.allocate(0.123456789012500000000000000000, ARRAY[
	ROW('w', 'a', 0.123456789012500000000000000000, -0.123456789012500000000000000000, 1, true)]::tokacct.allocation_option[]);
-- a budget of 0.1234567890124999.. rounds down, below that cost
SELECT * FROM tokacct.allocate(0.123456789012499999999999999999, ARRAY[
	ROW('w', 'a', 0.123456789012500000000000000000, 0, 1, true)]::tokacct.allocation_option[]);

-- 3. Negative amounts, where they are allowed: the magnitude is rounded ----
-- frontier values: -0.1234567890125 -> -0.123456789013 (away from zero),
-- -0.1234567890124999.. -> -0.123456789012, -0.0000000000005 -> -0.000000000001,
-- -0.0000000000004999.. -> 0; the sum -0.246913578026
SELECT tokacct.utility_frontier('o', 1, v)
FROM (VALUES (-0.123456789012500000000000000000), (-0.123456789012499999999999999999),
			 (-0.000000000000500000000000000000), (-0.000000000000499999999999999999)) t(v);
-- the sketch keeps negative costs: -0.0000000000015 -> -0.000000000002
SELECT tokacct.cost_sketch(x)::text = tokacct.cost_sketch(-0.000000000002)::text AS negative_sketch
FROM (VALUES (-0.0000000000015)) t(x);
-- where a cost must not be negative, it is checked after rounding: a
-- negative amount under half a picodollar is 0, one of half a picodollar
-- is -0.000000000001 and refused
SELECT tokacct.cost_per_outcome(-0.000000000000499999999999999999, true);
SELECT tokacct.cost_per_outcome(-0.0000000000005, true);
SELECT tokacct.retry_economics(1, true, -0.0000000000005);
SELECT (tokacct.sourced_cost(-0.0000000000005, NULL, NULL, 'no-such-model', 0, 0)).*;

-- 4. What is still refused: NaN, infinity, out of range after rounding -----
\set VERBOSITY default
-- 9223372.0368547758075 rounds to 9223372.036854775808, one picodollar past
-- the largest amount a row carries
SELECT tokacct.cost_per_outcome(9223372.0368547758075, true);
SELECT tokacct.utility_frontier('o', 1, -9223372.0368547758075);
SELECT tokacct.cost_sketch(x) FROM (VALUES ('Infinity'::numeric)) t(x);
SELECT tokacct.waste_agg('s', NULL, 'llm', 'x', NULL, 'ok', 'NaN', '2026-01-01 00:00+00');
-- a budget's limit is 2^126 picodollars = 85070591730234615865843651.857942052864:
-- one picodollar past it by rounding is refused
SELECT * FROM tokacct.allocate(85070591730234615865843651.8579420528645, ARRAY[
	ROW('w', 'a', 1, 1, 1, true)]::tokacct.allocation_option[]);
\set VERBOSITY terse
-- ... and 2^126 itself, reached by rounding down, is a budget
SELECT spend FROM tokacct.allocate(85070591730234615865843651.8579420528644999, ARRAY[
	ROW('w', 'a', 1, 1, 1, true)]::tokacct.allocation_option[]);

-- 5. Float8 costs ------------------------------------------------------------
-- A float8 carries 17 significant digits; cast to numeric it keeps 15 in
-- PostgreSQL 15, and through text (or a client) all 17 arrive.
-- 0.1 + 0.1 + 0.1 in binary is 0.3000000000000000444089209850062616169452667236328125:
--   ::numeric        -> 0.3 (15 significant digits) = 300,000,000,000 picodollars
--   ::text::numeric  -> 0.30000000000000004 (13th decimal 0, down) -> 0.3, the same
-- 2/3 = 0.66666666666666662965923251249478198587894439697265625:
--   ::numeric        -> 0.666666666666667 (13th decimal 6, up) -> 0.666666666667
--   ::text::numeric  -> 0.6666666666666666 (13th decimal 6, up) -> 0.666666666667
--                       = 666,666,666,667 picodollars
-- 1.2345678901234567e-05 (a cost per token) is the double printed 1.2345678901234568e-05:
--   ::numeric        -> 0.0000123456789012346 (13th decimal 9, up) -> 0.000012345679
--   ::text::numeric  -> 0.000012345678901234568 (13th decimal 9, up) -> 0.000012345679
--                       = 12,345,679 picodollars
SET extra_float_digits = 1;
SELECT f::text AS float8_text, f::numeric AS cast_numeric,
       tokacct.cost_per_outcome(f::numeric, true) AS via_cast,
       tokacct.cost_per_outcome(f::text::numeric, true) AS via_text
FROM (VALUES (1, 0.1::float8 * 3), (2, 2::float8 / 3), (3, 1.2345678901234567e-05::float8)) t(k, f)
GROUP BY k, f ORDER BY k;
-- a quotient with 20 decimals (total / attempts): 1.0 / 7 = 0.14285714285714285714
-- -> 0.142857142857 (13th decimal 1, down)
SELECT tokacct.retry_economics(1, true, 1.0 / 7);

-- 6. Quotients of money: one exact rounded division ------------------------
-- Quotients are rounded half away from zero, computed exactly even when the
-- product before the division needs more than 128 bits.  The independent
-- answer is integer arithmetic on picodollars in numeric: for n, d > 0,
-- n / d rounded half away from zero is div(2n + d, 2d), times 1e-12 (a
-- numeric division by 1e12 would round the result to its own scale).
-- Frontier means: a tie either side of zero, 1.5 and -1.5 picodollars.
SELECT mean_cost, mean_value FROM tokacct.frontier_options('{("m",2,0.000000000003,-0.000000000003)}');
-- A retry state at the limits: 2^63 - 1 first attempts, 3 of them solved,
-- failed cost f and cost c = f + 3 x 9223372.036854775807 (the most its rows
-- can hold); naive_cost_per_solved = c x items / (attempts x first successes)
-- multiplies 8.5e37 by 9.2e18 picodollars: 189 bits before the division
CREATE TABLE money_q AS
SELECT 9223372036854775807::numeric AS a,
	   85070591730234615809343163.673668173828 AS f,
	   85070591730234615809343163.673668173828 + 3 * 9223372.036854775807 AS c;
SELECT r.total_cost = q.c AS total_cost, r.failed_cost = q.f AS failed_cost,
	   r.mean_attempt_cost = div(2 * q.c * 1e12 + q.a, 2 * q.a) * 0.000000000001 AS mean_attempt_cost,
	   r.cost_per_solved = div(2 * q.c * 1e12 + 3, 6) * 0.000000000001 AS cost_per_solved,
	   r.naive_cost_per_solved = div(2 * q.c * 1e12 * q.a + 3 * q.a, 6 * q.a) * 0.000000000001 AS naive_past_128_bits
FROM money_q q, tokacct.retry_report(format('max_attempt=1 1:%s,3,%s,%s', q.a, q.c, q.f)::tokacct.retry_state) r;
DROP TABLE money_q;
-- An allocation split past 128 bits: 2^63 - 1 items, option b costs
-- 9223372 more per item; a budget of 1e20 moves 1e20 / 9223372 items:
-- 1e32 picodollars x 1e12 / 9223372e12 (the product 1e44 > 2^128), and its
-- value 1e32 x 9223372036854775807 / 9223372e12
SELECT a.items = div(2 * 1e32 * 1e12 + 9223372e12, 2 * 9223372e12) * 0.000000000001 AS moved_items,
	   a.spend = 1e20 AS moved_spend,
	   a.value = div(2 * 1e32 * 9223372036854775807 + 9223372e12, 2 * 9223372e12) * 0.000000000001 AS moved_value
FROM tokacct.allocate(1e20, ARRAY[ROW('w', 'a', 0, 0, 9223372036854775807, true),
	 ROW('w', 'b', 9223372, 9223372.036854775807, 9223372036854775807, false)]::tokacct.allocation_option[]) a
WHERE a.option = 'b';

-- 7. A million rounded rows through each money-taking aggregate ------------
-- 30 decimals per row (i * 0.123456789012345678901234567891 mod 10: a
-- different digit string each row), every 7th row an exact tie
-- (x.xxx0000000005), signed values for the aggregates that take them; the
-- independent answer sums round(x, 12) row by row in numeric
CREATE TABLE money_rows AS
SELECT i,
       c AS cost,
       CASE WHEN i % 2 = 0 THEN -c ELSE c END AS value,
       CASE WHEN i % 5 = 0 THEN c / 7 END AS fix,
       i % 3 = 0 AS ok
FROM (SELECT i, CASE WHEN i % 7 = 0 THEN (i % 1000) * 0.001 + 0.0000000000005
					 ELSE (i * 0.123456789012345678901234567891) % 10 END AS c
	  FROM generate_series(1, 1000000) i) g;
-- 1,000,000 rows, 142,857 of them ties (i % 7 = 0), the other 857,143 with
-- 30 decimals; some round up, some down
SELECT count(*) AS rows,
       count(*) FILTER (WHERE scale(cost) = 30) AS with_30_decimals,
       count(*) FILTER (WHERE cost - trunc(cost, 12) = 0.0000000000005) AS ties,
       count(*) FILTER (WHERE round(cost, 12) > cost) > 0 AS some_round_up,
       count(*) FILTER (WHERE round(cost, 12) < cost) > 0 AS some_round_down
FROM money_rows;
SET max_parallel_workers_per_gather = 0;
-- cost_per_outcome: cost and human fix cost
SELECT r.items = 1000000 AS items,
       r.ai_cost = (SELECT sum(round(cost, 12)) FROM money_rows) AS ai_cost_exact,
       r.human_fix_cost = (SELECT sum(round(fix, 12)) FROM money_rows) AS fix_cost_exact
FROM (SELECT (tokacct.outcome_report(tokacct.cost_per_outcome(cost, ok, fix))).* FROM money_rows) r;
-- retry_economics: one attempt per row, so every row is an item
SELECT r.attempts = 1000000 AS attempts,
       r.total_cost = (SELECT sum(round(cost, 12)) FROM money_rows) AS total_cost_exact,
       r.failed_cost = (SELECT sum(round(cost, 12)) FROM money_rows WHERE NOT ok) AS failed_cost_exact
FROM (SELECT (tokacct.retry_report(tokacct.retry_economics(1, ok, cost))).* FROM money_rows) r;
-- utility_frontier: three options, cost and signed value sums per option
SELECT tokacct.utility_frontier('o' || i % 3, cost, value)::text
       = (SELECT '{' || string_agg(format('("o%s",%s,%s,%s)', o, n, trim_scale(c), trim_scale(v)), ',' ORDER BY o) || '}'
          FROM (SELECT i % 3 AS o, count(*) AS n, sum(round(cost, 12)) AS c, sum(round(value, 12)) AS v
                FROM money_rows GROUP BY 1) s) AS frontier_sums_exact
FROM money_rows;
-- cost_sketch: the sketch of the 30-decimal values is the sketch of their
-- rounded values, bucket for bucket, with min and max
SELECT tokacct.cost_sketch(value)::text = (SELECT tokacct.cost_sketch(round(value, 12))::text FROM money_rows) AS sketch_same
FROM money_rows;
-- waste_agg: 1,000 traces of 1,000 spans; the traces' totals add up
SELECT sum(w.total) = (SELECT sum(round(cost, 12)) FROM money_rows) AS waste_total_exact
FROM (SELECT i % 1000 AS trace, tokacct.waste_agg(i::text, NULL, 'llm', 'x', NULL, 'ok', cost,
                                                  '2026-01-01 00:00+00'::timestamptz + i * interval '1 second') AS st
      FROM money_rows GROUP BY 1) t, tokacct.waste_summary(t.st) w;
-- sourced_cost, row by row
SELECT sum((tokacct.sourced_cost(cost, NULL, NULL, 'no-such-model', 0, 0)).cost)
       = sum(round(cost, 12)) AS sourced_cost_exact
FROM money_rows;
RESET max_parallel_workers_per_gather;
DROP TABLE money_rows;
DROP TABLE money_in;
-- totals on both sides of 2^64 picodollars (18446744.073709551616), where the
-- numeric and text forms switch between 64-bit and 128-bit arithmetic: the
-- report's numeric equals sum(numeric), and the state's text shows the same
-- digits as sum()'s text
WITH v(i, c) AS (VALUES (1, 9000000.123456789012), (2, 9000000.123456789012), (3, 446743.826795973591),
                        (4, 0.000000000001), (5, 0.000000000001), (6, 9223372.036854775807))
SELECT n, (tokacct.outcome_report(tokacct.cost_per_outcome(c, true))).ai_cost = sum(c) AS numeric_equal,
       tokacct.cost_per_outcome(c, true)::text = format('items=%s solved=%s fixed=0 cost=%s fix_cost=0', n, n, sum(c)) AS text_equal
FROM (SELECT n, c FROM generate_series(1, 6) n, LATERAL (SELECT c FROM v WHERE i <= n) x) y
GROUP BY n ORDER BY n;
