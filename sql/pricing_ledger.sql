-- The call ledger (tokacct.price_call) and its views: one row must never
-- stop price_call_cost or unpriced_models for every reader.  The table
-- refuses what cannot be priced, with constraints that say why; a reported
-- cost with more than 12 decimals is money all the same, rounded half away
-- from zero to the picodollar; and a row the view still cannot price (older
-- than a constraint, a price in another currency, a cost too large) is
-- listed with NULL costs and its reason in "problem".
SET timezone = 'UTC';

-- a small catalog: lg-1 at 1 in / 2 out per million; lg-eur the same in
-- EUR; lg-huge at 9,000,000,000,000 per million input tokens (9e18
-- picodollars per token, near the largest price a row holds); a 50% and a
-- 1000x contract multiplier
INSERT INTO tokacct.price_provider (catalog, provider, ordinal) VALUES ('custom', 'lg', 0);
INSERT INTO tokacct.price_model (catalog, provider, model, ordinal, match) VALUES
	('custom', 'lg', 'lg-1', 0, '{"equals": "lg-1"}'),
	('custom', 'lg', 'lg-eur', 1, '{"equals": "lg-eur"}'),
	('custom', 'lg', 'lg-huge', 2, '{"equals": "lg-huge"}');
INSERT INTO tokacct.price (catalog, provider, model, input_mtok, output_mtok, currency) VALUES
	('custom', 'lg', 'lg-1', 1, 2, 'USD'),
	('custom', 'lg', 'lg-eur', 1, 2, 'EUR'),
	('custom', 'lg', 'lg-huge', 9000000000000, 0, 'USD');
INSERT INTO tokacct.price_discount (customer, provider, multiplier) VALUES
	('half', 'lg', 0.5), ('thousandfold', 'lg', 1000);

-- 1. The table refuses rows that cannot be priced, naming the constraint.
--    Before, each of these was stored, and price_call_cost then failed for
--    every reader (the last two failed on insert, with "bigint out of
--    range" or an unnamed check).
\set VERBOSITY terse
INSERT INTO tokacct.price_call (at, provider, model, input_tokens, output_tokens, reported_cost) VALUES ('2026-01-01', 'lg', 'lg-1', 1, 1, -0.01);
INSERT INTO tokacct.price_call (at, provider, model, input_tokens, output_tokens, reported_cost) VALUES ('2026-01-01', 'lg', 'lg-1', 1, 1, 'NaN');
INSERT INTO tokacct.price_call (at, provider, model, input_tokens, output_tokens, reported_cost) VALUES ('2026-01-01', 'lg', 'lg-1', 1, 1, 'Infinity');
INSERT INTO tokacct.price_call (at, provider, model, input_tokens, output_tokens, reported_cost) VALUES ('2026-01-01', 'lg', 'lg-1', 1, 1, '-Infinity');
INSERT INTO tokacct.price_call (at, provider, model, input_tokens, output_tokens, reported_cost) VALUES ('2026-01-01', 'lg', 'lg-1', 1, 1, 9223372.036854775808);
INSERT INTO tokacct.price_call (at, provider, model, input_tokens, output_tokens) VALUES ('infinity', 'lg', 'lg-1', 1, 1);
INSERT INTO tokacct.price_call (at, provider, model, input_tokens, output_tokens) VALUES ('-infinity', 'lg', 'lg-1', 1, 1);
INSERT INTO tokacct.price_call (at, provider, model, input_tokens, output_tokens) VALUES ('2026-01-01', 'lg', 'lg-1', -1, 1);
INSERT INTO tokacct.price_call (at, provider, model, input_tokens, output_tokens) VALUES ('2026-01-01', 'lg', 'lg-1', 1, -1);
INSERT INTO tokacct.price_call (at, provider, model, input_tokens, output_tokens, cache_read_tokens) VALUES ('2026-01-01', 'lg', 'lg-1', 1, 1, -1);
INSERT INTO tokacct.price_call (at, provider, model, input_tokens, output_tokens, cache_write_tokens) VALUES ('2026-01-01', 'lg', 'lg-1', 1, 1, -1);
INSERT INTO tokacct.price_call (at, provider, model, input_tokens, output_tokens, reasoning_tokens) VALUES ('2026-01-01', 'lg', 'lg-1', 1, 1, -1);
INSERT INTO tokacct.price_call (at, provider, model, input_tokens, output_tokens, reasoning_tokens) VALUES ('2026-01-01', 'lg', 'lg-1', 1, 1, 2);
INSERT INTO tokacct.price_call (at, provider, model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens)
VALUES ('2026-01-01', 'lg', 'lg-1', 9223372036854775807, 1, 9223372036854775807, 9223372036854775807);
INSERT INTO tokacct.price_call (at, provider, model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens)
VALUES ('2026-01-01', 'lg', 'lg-1', 10, 1, 6, 5);
\set VERBOSITY default
-- the limits themselves are accepted (and removed again)
INSERT INTO tokacct.price_call (at, provider, model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, reported_cost)
VALUES ('2026-01-01', 'lg', 'lg-1', 9223372036854775807, 9223372036854775807, 9223372036854775806, 1, 9223372036854775807, 9223372.036854775807),
	   ('2026-01-01', 'lg', 'lg-1', 0, 0, 0, 0, 0, 0);
SELECT count(*) AS limit_rows FROM tokacct.price_call;
DELETE FROM tokacct.price_call;

-- 2. Rows the table accepts, which price_call_cost could not price before:
--    a: lg-1, 1e6 in and 1e6 out: 1 + 2 = 3 (catalog)
--    b: reported 0.123456789012345678901234567890 (30 decimals, as Langfuse
--       keeps costs): 0.123456789012 (13th decimal 3: down); before, "has
--       more than 12 decimal places" stopped the view
--    c: reported 0.0000000000005: half a picodollar, away from zero: 1e-12
--    d: reported 0.00000000000049999: below half a picodollar: 0
--    e: reported 0.30000000000000004 (a float8 sum): 0.3
--    f: lg-eur: no USD cost (cost NULL, list_cost NULL), the row named
--    g: lg-eur with a reported cost: the reported cost; list_cost NULL
--    h: lg-huge, 9e18 input tokens at 9e18 picodollars: list price 8.1e37
--       picodollars = 81,000,000,000,000,000,000,000,000 USD; for customer
--       half, 40,500,000,000,000,000,000,000,000 (before, the discount's
--       intermediate product overflowed: an error)
--    i: the same for customer thousandfold: 8.1e40 picodollars, beyond
--       what tokacct computes exactly: cost NULL, list price given
INSERT INTO tokacct.price_call (at, provider, model, input_tokens, output_tokens, reported_cost, customer) VALUES
	('2026-01-01 00:00', 'lg', 'lg-1', 1000000, 1000000, NULL, NULL),
	('2026-01-01 00:01', 'lg', 'lg-1', 1000000, 1000000, 0.123456789012345678901234567890, NULL),
	('2026-01-01 00:02', 'lg', 'lg-1', 1000000, 1000000, 0.0000000000005, NULL),
	('2026-01-01 00:03', 'lg', 'lg-1', 1000000, 1000000, 0.00000000000049999, NULL),
	('2026-01-01 00:04', 'lg', 'lg-1', 1000000, 1000000, 0.30000000000000004, NULL),
	('2026-01-01 00:05', 'lg', 'lg-eur', 1000000, 1000000, NULL, NULL),
	('2026-01-01 00:06', 'lg', 'lg-eur', 1000000, 1000000, 2.5, NULL),
	('2026-01-01 00:07', 'lg', 'lg-huge', 9000000000000000000, 0, NULL, 'half'),
	('2026-01-01 00:08', 'lg', 'lg-huge', 9000000000000000000, 0, NULL, 'thousandfold');
SELECT to_char(at, 'HH24:MI') AS at, model, customer, cost, cost_source, list_cost,
       replace(problem, (SELECT price_id FROM tokacct.price WHERE model = 'lg-eur')::text, '<lg-eur row>') AS problem
  FROM tokacct.price_call_cost ORDER BY call_id;
-- the same answers, as numbers compared exactly
SELECT count(*) FILTER (WHERE to_char(at, 'MI') = '00' AND cost = 3 AND list_cost = 3) AS a,
       count(*) FILTER (WHERE to_char(at, 'MI') = '01' AND cost = 0.123456789012) AS b,
       count(*) FILTER (WHERE to_char(at, 'MI') = '02' AND cost = 0.000000000001) AS c,
       count(*) FILTER (WHERE to_char(at, 'MI') = '03' AND cost = 0) AS d,
       count(*) FILTER (WHERE to_char(at, 'MI') = '04' AND cost = 0.3) AS e,
       count(*) FILTER (WHERE to_char(at, 'MI') = '06' AND cost = 2.5 AND list_cost IS NULL) AS g,
       count(*) FILTER (WHERE to_char(at, 'MI') = '07' AND cost = 40500000000000000000000000
                        AND list_cost = 81000000000000000000000000) AS h,
       count(*) FILTER (WHERE to_char(at, 'MI') = '08' AND cost IS NULL
                        AND list_cost = 81000000000000000000000000) AS i
  FROM tokacct.price_call_cost;
-- the row in another currency is named by its price row
SELECT problem = format('price row %s is in EUR, not USD', (SELECT price_id FROM tokacct.price WHERE model = 'lg-eur')) AS eur_named
  FROM tokacct.price_call_cost WHERE to_char(at, 'MI') = '05';

-- the functions behind it: sourced_cost() rounds a reported cost too
-- (before: an error) and prints it as tokacct prints money (0.50 -> 0.5);
-- the sign is judged after rounding (-1e-13 rounds to 0, accepted); it
-- refuses one that is not money, with its reason
SELECT (tokacct.sourced_cost(0.123456789012345678901234567890, NULL, 'lg', 'lg-1', 1, 1)).*;
SELECT (tokacct.sourced_cost(0.50, NULL, 'lg', 'lg-1', 1, 1)).*;
SELECT (tokacct.sourced_cost(-0.0000000000001, NULL, 'lg', 'lg-1', 1, 1)).*;
SELECT (tokacct.sourced_cost('NaN', NULL, 'lg', 'lg-1', 1, 1)).*;
SELECT (tokacct.sourced_cost(9223372.0368547758075, NULL, 'lg', 'lg-1', 1, 1)).*;
-- 9223372.0368547758074 rounds to the largest amount kept: accepted
SELECT (tokacct.sourced_cost(9223372.0368547758074, NULL, 'lg', 'lg-1', 1, 1)).cost = 9223372.036854775807 AS largest;
-- a discount of 50% on the huge call: exact (before: overflow); 1000x: an error
SELECT tokacct.customer_cost('half', 'lg', 'lg-huge', 9000000000000000000, 0) = 40500000000000000000000000 AS half_exact;
SELECT tokacct.customer_cost('thousandfold', 'lg', 'lg-huge', 9000000000000000000, 0);
-- 1000x just below the limit: 18904575000000000 tokens at 9e18 picodollars
-- = 1.70141175e35 picodollars, times 1000 = 1.70141175e38 < 2^127
-- (1.7014118346e38): 170,141,175,000,000,000,000,000,000 USD
SELECT tokacct.customer_cost('thousandfold', 'lg', 'lg-huge', 18904575000000000, 0) = 170141175000000000000000000 AS thousandfold_fits;
-- a multiplier rounds half away from zero on the whole product, whatever
-- the split: 3 tokens at 1 in -> 3000000 pico; * 0.5 = 1500000 exactly
SELECT tokacct.customer_cost('half', 'lg', 'lg-1', 3, 0) = 0.0000015 AS half_small;

-- 3. Rows stored before the constraints existed (a database upgraded from
--    0.1.0, where they are added NOT VALID): the view lists them, each
--    with its reason, and still prices every other row.  This replays the
--    upgrade: drop the constraints, store the old rows, add them back NOT
--    VALID.
ALTER TABLE tokacct.price_call
	DROP CONSTRAINT price_call_at_finite,
	DROP CONSTRAINT price_call_input_tokens_nonnegative,
	DROP CONSTRAINT price_call_uncached_input_nonnegative,
	DROP CONSTRAINT price_call_reasoning_within_output,
	DROP CONSTRAINT price_call_reported_cost_in_range;
INSERT INTO tokacct.price_call (at, provider, model, input_tokens, output_tokens, cache_read_tokens, reasoning_tokens, reported_cost) VALUES
	('2026-01-02 00:00', 'lg', 'lg-1', 1000000, 1000000, 0, 0, -0.01),
	('2026-01-02 00:01', 'lg', 'lg-1', 1000000, 1000000, 0, 0, 'NaN'),
	('2026-01-02 00:02', 'lg', 'lg-1', 1000000, 1000000, 0, 0, 10000000),
	('infinity', 'lg', 'lg-1', 1000000, 1000000, 0, 0, NULL),
	('2026-01-02 00:04', 'lg', 'lg-1', -1, 1000000, 0, 0, NULL),
	('2026-01-02 00:05', 'lg', 'lg-1', 1, 1000000, 2, 0, NULL),
	('2026-01-02 00:06', 'lg', 'lg-1', 1000000, 1, 0, 5, NULL),
	('-infinity', 'lg', 'lg-1', 1000000, 1000000, 0, 0, 1.5);
ALTER TABLE tokacct.price_call
	ADD CONSTRAINT price_call_at_finite CHECK (pg_catalog.isfinite(at)) NOT VALID,
	ADD CONSTRAINT price_call_input_tokens_nonnegative CHECK (input_tokens OPERATOR(pg_catalog.>=) 0) NOT VALID,
	ADD CONSTRAINT price_call_uncached_input_nonnegative CHECK (cache_read_tokens::pg_catalog.numeric
		OPERATOR(pg_catalog.+) cache_write_tokens::pg_catalog.numeric OPERATOR(pg_catalog.<=) input_tokens::pg_catalog.numeric) NOT VALID,
	ADD CONSTRAINT price_call_reasoning_within_output CHECK (reasoning_tokens OPERATOR(pg_catalog.<=) output_tokens) NOT VALID,
	ADD CONSTRAINT price_call_reported_cost_in_range CHECK (reported_cost OPERATOR(pg_catalog.>=) 0::pg_catalog.numeric
		AND reported_cost OPERATOR(pg_catalog.<=) 9223372.036854775807::pg_catalog.numeric) NOT VALID;
-- the reported cost wins when it is money; one that is not leaves the cost
-- NULL (never silently replaced by the list price), with the list price
SELECT CASE WHEN isfinite(at) THEN to_char(at, 'DD HH24:MI') ELSE at::text END AS at, reported_cost,
       cost, cost_source, list_cost, problem
  FROM tokacct.price_call_cost WHERE at >= '2026-01-02' OR NOT isfinite(at) ORDER BY call_id;
-- every row is answered, and the good ones are priced as before: 3 +
-- 0.123456789012 + 0.000000000001 + 0 + 0.3 + 2.5 + 4.05e25
SELECT count(*) AS rows, count(problem) AS with_problem,
       sum(cost) FILTER (WHERE at < '2026-01-02' AND isfinite(at)) AS good_rows_cost
  FROM tokacct.price_call_cost;
-- validating names the first constraint a stored row breaks; once the rows
-- are fixed, every constraint validates
\set VERBOSITY terse
ALTER TABLE tokacct.price_call VALIDATE CONSTRAINT price_call_reported_cost_in_range;
\set VERBOSITY default
DELETE FROM tokacct.price_call WHERE at >= '2026-01-02' OR NOT isfinite(at);
ALTER TABLE tokacct.price_call VALIDATE CONSTRAINT price_call_at_finite;
ALTER TABLE tokacct.price_call VALIDATE CONSTRAINT price_call_input_tokens_nonnegative;
ALTER TABLE tokacct.price_call VALIDATE CONSTRAINT price_call_uncached_input_nonnegative;
ALTER TABLE tokacct.price_call VALIDATE CONSTRAINT price_call_reasoning_within_output;
ALTER TABLE tokacct.price_call VALIDATE CONSTRAINT price_call_reported_cost_in_range;
SELECT conname, convalidated FROM pg_catalog.pg_constraint
 WHERE conrelid = 'tokacct.price_call'::regclass AND contype = 'c' ORDER BY conname;

-- ledger_cost() works on any calls table, row by row, with no error for
-- what a row holds (NULL model, input, output or at: unpriced, as cost())
SELECT (tokacct.ledger_cost(NULL, NULL, 'lg', 'lg-1', 1000000, 1000000, at => '2026-01-01')).*;
SELECT (tokacct.ledger_cost(NULL, NULL, 'lg', NULL, 1000000, 1000000)).*;
SELECT (tokacct.ledger_cost(1, NULL, 'lg', 'lg-1', NULL, 1000000)).*;
SELECT (tokacct.ledger_cost(NULL, NULL, 'lg', 'lg-unknown', 1, 1)).*;
SELECT (tokacct.ledger_cost(NULL, NULL, 'lg', 'lg-1', 1, 1, at => 'infinity')).*;
SELECT (tokacct.ledger_cost(NULL, 'half', 'lg', 'lg-1', 1, 1, -1, at => '2026-01-01')).*;

-- 4. unpriced_models: a token total beyond bigint is NULL, not an error
--    for every reader (before: "bigint out of range").  Two calls of 9e18
--    input tokens are 1.8e19 > 2^63 - 1: NULL; their output tokens, 9e18
--    and 1, are 9000000000000000001, which fits.
INSERT INTO tokacct.price_call (at, provider, model, input_tokens, output_tokens) VALUES
	('2026-01-03', 'lg', 'lg-unknown', 9000000000000000000, 9000000000000000000),
	('2026-01-03', 'lg', 'lg-unknown', 9000000000000000000, 1);
SELECT provider, model, calls, input_tokens, output_tokens,
       input_tokens IS NULL AND output_tokens = 9000000000000000001 AS as_worked
  FROM tokacct.unpriced_models;

DELETE FROM tokacct.price_call;
DELETE FROM tokacct.price_discount;
DELETE FROM tokacct.price_provider WHERE catalog = 'custom';
