-- Extreme and hostile inputs found in review, one block per defect.  Each
-- case gave a wrong answer, an error for a valid question, or a state its
-- own type input refuses before its fix, except block 4 (see there).
-- PostgreSQL builds with -fwrapv, so a signed overflow wraps (defined);
-- test/sanitize.sh builds with -fno-wrapv and UBSan to report every one.
SET timezone = 'UTC';

-- 1. waste_agg took a span starting at +/-infinity and built a state whose
--    text form the type's own input refuses ("Invalid start time"), so a
--    rollup table holding it could not be reloaded (COPY, pg_dump).  Now
--    the row is refused, as a NULL start time is.
SELECT tokacct.waste_agg('a', NULL, 'llm', 'x', NULL, 'ok', 1, 'infinity');
SELECT tokacct.waste_agg('a', NULL, 'llm', 'x', NULL, 'ok', 1, '-infinity');
-- the earliest and latest finite times still round-trip through text
SELECT s::text::tokacct.waste_state::text = s::text AS round_trip
FROM (SELECT tokacct.waste_agg(id, NULL, 'llm', 'x', NULL, 'ok', 1, t) AS s
	  FROM (VALUES ('a', '4713-11-24 00:00:00+00 BC'::timestamptz),
				   ('b', '294276-12-31 23:59:59+00'::timestamptz)) v(id, t)) q;

-- 2. A transition function called on a state that already counts
--    2^63 - 1 rows wrapped its count to a negative number and returned an
--    invalid state.
-- one row below the limit is fine: items 2^63 - 1, solved 1, cost 1
SELECT tokacct_internal.outcome_accum('items=9223372036854775806 solved=0 fixed=0 cost=0 fix_cost=0', 1, true);
SELECT tokacct_internal.outcome_accum('items=9223372036854775807 solved=0 fixed=0 cost=0 fix_cost=0', 1, true);
SELECT tokacct_internal.retry_accum('max_attempt=1 1:9223372036854775806,0,0,0', 1, true, 2);
SELECT tokacct_internal.retry_accum('max_attempt=1 1:9223372036854775807,0,0,0', 1, true, 0);
SELECT tokacct_internal.retry_accum('max_attempt=2 1:5,0,0,0 2:9223372036854775807,9223372036854775807,0,0', 2, false, 0);

-- 3. Capped retries with a tiny first-try success rate: the powers (1-p)^k
--    were rounded to 40 decimals, so for p below 1e-40 they became 1, the
--    expected attempts 0, and the functions failed with "division by zero"
--    (or priced the attempts at nothing).  Worked by hand, q = 1 - p:
--    p = 1e-50, k = 1, T = 1, H = 0: attempts = 1, yield = p = 1e-50,
--      cost per item = T * 1 + H * q = 1, AI cost per AI-solved item
--      = T * attempts / yield = 1e50.
SELECT * FROM tokacct.expected_item_cost(1, 1e-50, 1, 0);
--    p = 1e-50, k = 2, T = 1, H = 5: attempts = 1 + q = 2 - 1e-50,
--      yield = 1 - q^2 = 2e-50 - 1e-100, cost per item = (2 - 1e-50)
--      + 5 (1 - 2e-50 + 1e-100) = 7 - 1.1e-49 + 5e-100, 7 at 12 decimals.
SELECT cost_per_item = 7 AS cost_ok, abs(expected_attempts - 2) < 1e-15 AS attempts_ok,
	abs(yield / 2e-50 - 1) < 1e-12 AS yield_ok
FROM tokacct.expected_item_cost(1, 1e-50, 2, 5);
--    the largest T with T * 1 + 0 * q <= 10 for k = 1: T = 10
SELECT tokacct.break_even_attempt_cost(1e-50, 10, 1, 0);
--    k = 3, H = 0, U = 6: T (1 + q + q^2) <= 6 with 1 + q + q^2 = 3 - 3e-60
--      + 1e-120, so T = 6 / (3 - 3e-60 + ...) = 2 + 2e-60 + ..., 2 when
--      rounded down to 12 decimals.
SELECT tokacct.break_even_attempt_cost(1e-60, 6, 3, 0);

-- 4. cost() with a usage object giving reasoning tokens under both of its
--    names: the sum was checked after adding, which is right only because
--    of -fwrapv (the same error before and after the change, which makes
--    the check independent of -fwrapv; test/sanitize.sh reported it).
SELECT tokacct.cost('acme', 'any-model',
	'{"output_tokens": 1, "reasoning_tokens": 9223372036854775807, "output_reasoning_tokens": 1}'::jsonb,
	'2026-01-01');

-- 5. An error of a state's input carries the errcode of the form it read
--    (invalid_text_representation 22P02, invalid_binary_representation
--    22P03): frontier_state's binary input said 22P02, and waste_state's
--    text input (hexadecimal of the binary form) said 22P03.
CREATE FUNCTION hostile_sqlstates(typ text, text_form text, binary_form bytea)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	text_code text := 'accepted';
	binary_code text := 'accepted';
BEGIN
	BEGIN
		EXECUTE format('SELECT %L::%s', text_form, typ);
	EXCEPTION WHEN OTHERS THEN
		text_code := SQLSTATE;
	END;
	CREATE TEMP TABLE hostile_bytes (b bytea);
	INSERT INTO hostile_bytes VALUES (binary_form);
	EXECUTE format('COPY hostile_bytes TO %L (FORMAT binary)',
		current_setting('data_directory') || '/tokacct_hostile.bin');
	EXECUTE format('CREATE TEMP TABLE hostile_state (s %s)', typ);
	BEGIN
		EXECUTE format('COPY hostile_state FROM %L (FORMAT binary)',
			current_setting('data_directory') || '/tokacct_hostile.bin');
	EXCEPTION WHEN OTHERS THEN
		binary_code := SQLSTATE;
	END;
	DROP TABLE hostile_bytes, hostile_state;
	RETURN 'text ' || text_code || ', binary ' || binary_code;
END $$;
-- frontier: an option with 0 items, as text and as binary (version 1, one
-- option "a", count 0, both sums 0)
SELECT hostile_sqlstates('tokacct.frontier_state', '{("a",0,0,0)}',
	decode('01' || '00000001' || '6100' || '0000000000000000' || repeat('00', 32), 'hex'));
-- waste: format version 3 (unknown), no spans, total 0; the text form is
-- the same bytes in hexadecimal
SELECT hostile_sqlstates('tokacct.waste_state', encode(b, 'hex'), b)
FROM (SELECT decode('00000003' || '00000000' || '00000000' || repeat('00', 16), 'hex') AS b) q;
DROP FUNCTION hostile_sqlstates(text, text, bytea);

-- 6. Bad input quoted in an error is cut to at most 20 bytes (64 for a
-- status), and the cut fell inside a multibyte character, leaving an invalid
-- byte sequence in the message.  Now it falls on a character boundary.  'é'
-- is 2 bytes in UTF-8, so "x" and 12 'é' (25 bytes) are quoted as "x" and 9
-- 'é' (19 bytes; a 10th would make 21), " x" and 12 'é' as " x" and 9 'é'
-- (20 bytes), and "x" and 40 'é' as a status (81 bytes) as "x" and 31 'é'
-- (63 bytes) followed by "..." (as every quote of input cut short).
SELECT getdatabaseencoding();
SELECT 'items=1 solved=1 fixed=xéééééééééééé'::tokacct.outcome_state;
SELECT 'items=1 solved=1 fixed=0 cost=0 fix_cost=0 xéééééééééééé'::tokacct.outcome_state;
SELECT '{("a",1,1,1)} xéééééééééééé'::tokacct.frontier_state;
SELECT tokacct.waste_agg('a', NULL, 'llm', 'm', NULL, 'x' || repeat('é', 40), 0, '2026-01-01', NULL);

-- 7. A state that could not be restored: cost_sketch(float8) over a
--    subnormal cost kept it as its min, printed as 4.9406564584124654e-324,
--    which the sketch's input refused (strtod reports ERANGE for a subnormal
--    result), so a text COPY or a pg_dump of a rollup holding it failed to
--    load.  Now a cost below a picodollar is 0 for the min and the max as it
--    is for the buckets (the sketch cannot tell it from 0 anyway), and the
--    input reads every finite double a state stored before may hold,
--    subnormals and -0 included.  By hand: 1e-310 and 5e-324 are zeros, 1e-12
--    has key -1395 and 3 key 56 (see agg_sketch), so count 4, zero 2, min 0,
--    max 3.
SELECT tokacct.cost_sketch(x) FROM (VALUES ('5e-324'::float8), ('1e-310'), ('1e-12'), ('3')) v(x);
--    -0, -1e-310 and -9.99e-13 are zeros, 0.1 has key -116,
--    1e15 and -1e15 key 1745 (positive and negative buckets)
SELECT tokacct.cost_sketch(x) FROM (VALUES ('-0'::float8), ('-1e-310'), ('-1e15'),
	('1e15'), ('-9.99e-13'), ('0.1')) v(x);
--    the text forms of states stored before: subnormal and -0 min and max
--    read back to the same bits; an underflow to 0 or an overflow is refused
SELECT s::text, tokacct_internal.sketch_state_send(s)
FROM (VALUES ('v=1 count=2 zero=2 min=-4.9406564584124654e-324 max=9.9999999999999694e-311 pos={} neg={}'::tokacct.sketch_state),
			 ('v=1 count=1 zero=1 min=-0 max=-0 pos={} neg={}')) v(s);
SELECT 'v=1 count=1 zero=1 min=1e-400 max=0 pos={} neg={}'::tokacct.sketch_state;
SELECT 'v=1 count=1 zero=1 min=0 max=1e309 pos={} neg={}'::tokacct.sketch_state;
--    The class: every state type, built by its aggregate from extreme rows
--    (k = 1, 2) or read from the extreme text forms its input accepts (k = 3
--    to 6), reads back exactly from its text form, from its binary form, and
--    through COPY of a table, text and binary.  Sums of 2^63 - 1 items of
--    2^63 - 1 units: 85070591730234615847396907.784232501249; of -2^63
--    units: -85070591730234615856620279.821087277056 (python3).
CREATE TABLE hostile_rt (k int, outcome tokacct.outcome_state, retry tokacct.retry_state,
	context tokacct.context_state, sketch tokacct.sketch_state,
	frontier tokacct.frontier_state, waste tokacct.waste_state);
INSERT INTO hostile_rt SELECT 1,
	(SELECT tokacct.cost_per_outcome(c, true, c) FROM (VALUES (9223372.036854775807), (0.000000000001)) v(c)),
	(SELECT tokacct.retry_economics(a, a = 2147483647, 9223372.036854775807)
	 FROM (SELECT generate_series(1, 31) UNION ALL SELECT 2147483647) v(a)),
	(SELECT tokacct.context_growth(s, i, o) FROM (VALUES (-2147483648, 0, 4294967295),
		(2147483647, 4294967295, 0), (0, 4294967295, 4294967295)) v(s, i, o)),
	(SELECT tokacct.cost_sketch(x) FROM (VALUES ('5e-324'::float8), ('1e-310'), ('1e-12'), ('3')) v(x)),
	(SELECT tokacct.utility_frontier(o, c, v, n) FROM (VALUES
		(E'q"uote\\back', 9223372.036854775807, -9223372.036854775807, 9223372036854775807),
		(E'tab\tnew\nline é', 0, 9223372.036854775807, 1),
		(' sp ', 0.000000000001, -0.000000000001, 2)) v(o, c, v, n)),
	(SELECT tokacct.waste_agg(id, p, kind, name, args, st, c, t) FROM (VALUES
		('a', NULL, 'llm', E'n"\\\te', '{"x": 1}', 'ok', 9223372.036854775807, '4713-11-24 00:00:00+00 BC'::timestamptz),
		('b', 'a', 'tool', 'é', NULL, 'error', NULL, '294276-12-31 23:59:59+00')) v(id, p, kind, name, args, st, c, t));
INSERT INTO hostile_rt SELECT 2, tokacct.cost_per_outcome(0, false), tokacct.retry_economics(1, false, 0),
	tokacct.context_growth(1, 0, 0),
	(SELECT tokacct.cost_sketch(x) FROM (VALUES ('-0'::float8), ('-1e-310'), ('-1e15'),
		('1e15'), ('-9.99e-13'), ('0.1')) v(x)),
	tokacct.utility_frontier('z', 0, 0), tokacct.waste_agg('r', NULL, 'llm', 'x', NULL, 'ok', 0, '2026-01-01');
INSERT INTO hostile_rt SELECT 3,
	'items=9223372036854775807 solved=9223372036854775807 fixed=9223372036854775807 cost=85070591730234615847396907.784232501249 fix_cost=85070591730234615847396907.784232501249',
	('max_attempt=2147483647' || string_agg(' ' || k || ':9223372036854775807,0,85070591730234615847396907.784232501249,85070591730234615847396907.784232501249', '' ORDER BY k))::tokacct.retry_state,
	'{(-2147483648,4294967295,4294967295),(2147483647,0,0)}',
	'v=1 count=2 zero=2 min=-4.9406564584124654e-324 max=9.9999999999999694e-311 pos={} neg={}',
	'{("a",9223372036854775807,85070591730234615847396907.784232501249,-85070591730234615856620279.821087277056)}',
	NULL
FROM generate_series(1, 32) k;
INSERT INTO hostile_rt VALUES (4, 'items=0 solved=0 fixed=0 cost=0 fix_cost=0', 'max_attempt=0', '{}',
	'v=1 count=1 zero=1 min=-0 max=-0 pos={} neg={}', '{}', NULL),
	(5, NULL, NULL, NULL, 'v=1 count=0 zero=0 min=-0 max=0 pos={} neg={}', NULL, NULL),
	(6, NULL, NULL, NULL, 'v=1 count=3 zero=0 min=-1000000000000000 max=1000000000000000 pos={1745:2} neg={1745:1}', NULL, NULL);
-- text: each value's text form reads back to the same binary form
SELECT k,
	outcome IS NULL OR tokacct_internal.outcome_state_send(outcome::text::tokacct.outcome_state) = tokacct_internal.outcome_state_send(outcome) AS outcome_ok,
	retry IS NULL OR tokacct_internal.retry_state_send(retry::text::tokacct.retry_state) = tokacct_internal.retry_state_send(retry) AS retry_ok,
	context IS NULL OR tokacct_internal.context_state_send(context::text::tokacct.context_state) = tokacct_internal.context_state_send(context) AS context_ok,
	sketch IS NULL OR tokacct_internal.sketch_state_send(sketch::text::tokacct.sketch_state) = tokacct_internal.sketch_state_send(sketch) AS sketch_ok,
	frontier IS NULL OR tokacct_internal.frontier_state_send(frontier::text::tokacct.frontier_state) = tokacct_internal.frontier_state_send(frontier) AS frontier_ok,
	waste IS NULL OR tokacct_internal.waste_state_send(waste::text::tokacct.waste_state) = tokacct_internal.waste_state_send(waste) AS waste_ok
FROM hostile_rt ORDER BY k;
-- COPY, text and binary, into copies of the table: the same binary forms
SELECT current_setting('data_directory') || '/tokacct_hostile_rt.txt' AS rt_txt,
	current_setting('data_directory') || '/tokacct_hostile_rt.bin' AS rt_bin \gset
COPY hostile_rt TO :'rt_txt';
COPY hostile_rt TO :'rt_bin' (FORMAT binary);
CREATE TABLE hostile_rt_txt (LIKE hostile_rt);
CREATE TABLE hostile_rt_bin (LIKE hostile_rt);
COPY hostile_rt_txt FROM :'rt_txt';
COPY hostile_rt_bin FROM :'rt_bin' (FORMAT binary);
SELECT k,
	bool_and(tokacct_internal.outcome_state_send(a.outcome) IS NOT DISTINCT FROM tokacct_internal.outcome_state_send(c.outcome)
		AND tokacct_internal.retry_state_send(a.retry) IS NOT DISTINCT FROM tokacct_internal.retry_state_send(c.retry)
		AND tokacct_internal.context_state_send(a.context) IS NOT DISTINCT FROM tokacct_internal.context_state_send(c.context)
		AND tokacct_internal.sketch_state_send(a.sketch) IS NOT DISTINCT FROM tokacct_internal.sketch_state_send(c.sketch)
		AND tokacct_internal.frontier_state_send(a.frontier) IS NOT DISTINCT FROM tokacct_internal.frontier_state_send(c.frontier)
		AND tokacct_internal.waste_state_send(a.waste) IS NOT DISTINCT FROM tokacct_internal.waste_state_send(c.waste))
		FILTER (WHERE c.via = 'text') AS copy_text_same,
	bool_and(tokacct_internal.outcome_state_send(a.outcome) IS NOT DISTINCT FROM tokacct_internal.outcome_state_send(c.outcome)
		AND tokacct_internal.retry_state_send(a.retry) IS NOT DISTINCT FROM tokacct_internal.retry_state_send(c.retry)
		AND tokacct_internal.context_state_send(a.context) IS NOT DISTINCT FROM tokacct_internal.context_state_send(c.context)
		AND tokacct_internal.sketch_state_send(a.sketch) IS NOT DISTINCT FROM tokacct_internal.sketch_state_send(c.sketch)
		AND tokacct_internal.frontier_state_send(a.frontier) IS NOT DISTINCT FROM tokacct_internal.frontier_state_send(c.frontier)
		AND tokacct_internal.waste_state_send(a.waste) IS NOT DISTINCT FROM tokacct_internal.waste_state_send(c.waste))
		FILTER (WHERE c.via = 'binary') AS copy_binary_same,
	count(*) AS copies
FROM hostile_rt a JOIN (SELECT 'text' AS via, * FROM hostile_rt_txt
						UNION ALL SELECT 'binary', * FROM hostile_rt_bin) c USING (k)
GROUP BY k ORDER BY k;
DROP TABLE hostile_rt, hostile_rt_txt, hostile_rt_bin;

-- 8. cost_quantile(s, 1) over a count near 2^63 returned the min: q (n - 1)
--    in doubles was 2^63, out of range for a bigint (undefined; x86 gives
--    -2^63, read as rank 0).  Ranks are now exact when n - 1 passes 2^53.
--    A state of 2^63 - 1 costs: one of 1 (key 0), 2^63 - 2 of 2 (key 35),
--    min 1 and max 2.  By hand (c = 2 / (gamma + 1) = 0.990098221046997):
--    q = 0: the min, 1; q = 1: rank n - 1, the max, 2; q = 0.5: rank
--    (2^63 - 2) / 2 = 2^62 - 1, in bucket 35: 2c = 1.980196442093994;
--    tail_ratio = p95 / p50 = 2c / 2c = 1.
SELECT q, tokacct.cost_quantile(s, q) AS estimate, by_hand,
	abs(tokacct.cost_quantile(s, q) - by_hand) <= 1e-12 AS ok
FROM (VALUES ('v=1 count=9223372036854775807 zero=0 min=1 max=2 pos={0:1,35:9223372036854775806} neg={}'::tokacct.sketch_state)) v(s),
	 (VALUES (0::float8, 1::float8), (0.5, 1.980196442093994), (1, 2)) w(q, by_hand) ORDER BY q;
SELECT tokacct.cost_quantiles(s, '{1, 0, 1}') AS max_min_max, tokacct.tail_ratio(s)
FROM (VALUES ('v=1 count=9223372036854775807 zero=0 min=1 max=2 pos={0:1,35:9223372036854775806} neg={}'::tokacct.sketch_state)) v(s);
--    Past 2^53 a double no longer holds n - 1 exactly: with n = 2^53 + 2
--    (2^53 + 1 costs of 1, one of 2), (double) (n - 1) is 2^53, and q = 1
--    gave rank 2^53, a cost of 1, instead of the max 2.  q = 0.5: rank
--    floor((2^53 + 1) / 2) = 2^52 and fraction 0.5, both ranks in bucket 0
--    (c, clamped to the min 1): 1.
SELECT q, tokacct.cost_quantile(s, q) AS estimate
FROM (VALUES ('v=1 count=9007199254740994 zero=0 min=1 max=2 pos={0:9007199254740993,35:1} neg={}'::tokacct.sketch_state)) v(s),
	 unnest('{0, 0.5, 1}'::float8[]) q ORDER BY q;

-- 9. retry_economics over inconsistent rows reported impossible rates.
--    The state keeps counts per attempt number, no item ids: it cannot
--    tell which rows are wrong, nor leave them out.  But items whose
--    attempts are numbered 1, 2, 3, ... and stop at the first success have
--    at most as many attempts k + 1 as failed attempts k; the readers that
--    count items (retry_report, retry_attempts, retry_projection,
--    cost_per_solved) refuse a state that breaks this, naming the attempt
--    number, as retry_projection already refused more successes than items.
--    a. One item succeeding at attempts 1, 2 and 3: attempt 1 has 1 row and
--       no failure, attempt 2 has 1 row.  (Before: solve rate 3 / 1 = 3.)
SELECT tokacct.retry_report(tokacct.retry_economics(a, true, 1)) FROM (VALUES (1), (2), (3)) v(a);
--    b. Item A fails attempt 1 and succeeds at 2 and 3, item B succeeds at
--       1: attempt 1: 2 rows, 1 failed; attempt 2: 1 row (fine), 0 failed;
--       attempt 3: 1 row.  (Before: solve rate 3 / 2 = 1.5.)
CREATE TABLE hostile_retry (item text, attempt int, ok bool, cost numeric);
INSERT INTO hostile_retry VALUES ('A', 1, false, 1), ('A', 2, true, 1), ('A', 3, true, 1), ('B', 1, true, 1);
SELECT tokacct.retry_report(tokacct.retry_economics(attempt, ok, cost)) FROM hostile_retry;
--    every reader that counts items refuses it, with data_exception
CREATE FUNCTION hostile_code(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE q;
	RETURN 'answered';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ' ' || SQLERRM;
END $$;
SELECT f, hostile_code(format('SELECT * FROM %s((SELECT tokacct.retry_economics(attempt, ok, cost) FROM hostile_retry)%s)', f, a))
FROM (VALUES ('tokacct.retry_report', ''), ('tokacct.retry_attempts', ''),
			 ('tokacct.retry_projection', ', 1, 5'), ('tokacct.retry_projection', ', 3, 5'),
			 ('tokacct.cost_per_solved', '')) v(f, a);
--    c. Attempts 32 and beyond share a bucket: one item fails attempts 1 to
--       39 and succeeds at 35 and 40.  Bucket 32 holds 9 rows, 2 successes;
--       attempt 31 has 1 failure, and an item succeeds once.  (Before:
--       solve rate 2.)
SELECT tokacct.retry_report(tokacct.retry_economics(a, a IN (35, 40), 0.01)) FROM generate_series(1, 40) a;
--    and a row of attempt 32 or beyond with no failed attempt 31:
SELECT tokacct.retry_report('max_attempt=32 1:1,0,1,1 2:1,0,1,1 3:1,0,1,1 4:1,0,1,1 5:1,0,1,1 6:1,0,1,1 7:1,0,1,1 8:1,0,1,1 9:1,0,1,1 10:1,0,1,1 11:1,0,1,1 12:1,0,1,1 13:1,0,1,1 14:1,0,1,1 15:1,0,1,1 16:1,0,1,1 17:1,0,1,1 18:1,0,1,1 19:1,0,1,1 20:1,0,1,1 21:1,0,1,1 22:1,0,1,1 23:1,0,1,1 24:1,0,1,1 25:1,0,1,1 26:1,0,1,1 27:1,0,1,1 28:1,0,1,1 29:1,0,1,1 30:1,0,1,1 31:1,1,1,0 32:1,0,1,1');
--    d. A time window that cuts an item's attempts apart: day 1 holds item
--       C's failed attempt 1, day 2 its successful attempt 2 and item D's
--       success.  Day 2 alone is refused (attempt 2: 1 row, attempt 1: no
--       failure); the merged days are items C and D, both solved: items 2,
--       attempts 3, solved 2, solve rate 1, p1 0.5.
CREATE TABLE hostile_retry_days AS
SELECT day, tokacct.retry_economics(attempt, ok, 1) AS s
FROM (VALUES (1, 1, false), (2, 2, true), (2, 1, true)) v(day, attempt, ok) GROUP BY day;
SELECT day, hostile_code(format('SELECT tokacct.retry_report(%L)', s)) FROM hostile_retry_days ORDER BY day;
SELECT items, attempts, solved, solve_rate, p1 FROM tokacct.retry_report((SELECT tokacct.merge(s) FROM hostile_retry_days));
--    e. What the state cannot see: one odd row among consistent ones.  X
--       succeeds at attempt 1 and then fails an attempt 2; Y fails 1 and
--       succeeds at 2; Z fails 1.  The counts (attempt 1: 3 rows, 1
--       success; attempt 2: 2 rows, 1 success) are those of X succeeding at
--       1, Y at 2 and Z failing twice, so every rate is possible: items 3,
--       solved 2, solve rate 2/3, reach of attempt 2: 2/3.
SELECT items, solved, round(solve_rate::numeric, 6) AS solve_rate,
	(SELECT round(reach::numeric, 6) FROM tokacct.retry_attempts(s) WHERE attempt = 2) AS reach_2
FROM (SELECT tokacct.retry_economics(a, ok, 1) AS s
	  FROM (VALUES ('X', 1, true), ('X', 2, false), ('Y', 1, false), ('Y', 2, true), ('Z', 1, false)) v(i, a, ok)) x,
	 tokacct.retry_report(s);
DROP TABLE hostile_retry, hostile_retry_days;

-- 10. Messages.
--    a. A truncated binary value must be invalid_binary_representation
--       (22P03): frontier_state's receive read past the end with pq_getmsg*
--       and failed with protocol_violation (08P01), which a client takes for
--       a broken connection.  Every prefix of a valid binary form of every
--       state type, through COPY (FORMAT binary):
CREATE TABLE hostile_bytes (b bytea);
CREATE FUNCTION hostile_recv(typ text, bytes bytea, OUT code text, OUT message text, OUT detail text)
LANGUAGE plpgsql AS $$
BEGIN
	TRUNCATE hostile_bytes;
	INSERT INTO hostile_bytes VALUES (bytes);
	EXECUTE format('COPY hostile_bytes TO %L (FORMAT binary)',
		current_setting('data_directory') || '/tokacct_hostile_prefix.bin');
	EXECUTE format('CREATE TEMP TABLE hostile_prefix (s %s)', typ);
	code := 'accepted';
	BEGIN
		EXECUTE format('COPY hostile_prefix FROM %L (FORMAT binary)',
			current_setting('data_directory') || '/tokacct_hostile_prefix.bin');
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
		code := SQLSTATE;
	END;
	DROP TABLE hostile_prefix;
END $$;
-- a valid binary form of each state type
CREATE TABLE hostile_good (typ, b) AS VALUES
	('tokacct.outcome_state', tokacct_internal.outcome_state_send('items=3 solved=2 fixed=1 cost=1.5 fix_cost=2')),
	('tokacct.retry_state', tokacct_internal.retry_state_send('max_attempt=2 1:2,1,3,1 2:1,1,1,0')),
	('tokacct.context_state', tokacct_internal.context_state_send('{(1,100,20),(2,120,30)}')),
	('tokacct.sketch_state', tokacct_internal.sketch_state_send('v=1 count=3 zero=1 min=-2 max=1 pos={0:1} neg={35:1}')),
	('tokacct.frontier_state', tokacct_internal.frontier_state_send('{("ab",2,3,4),("c",1,1,1)}')),
	('tokacct.waste_state', (SELECT tokacct_internal.waste_state_send(tokacct.waste_agg(id, p, 'llm', 'm', NULL, 'ok', 1, '2026-01-01'))
							  FROM (VALUES ('a', NULL), ('b', 'a')) x(id, p)));
SELECT typ, length(b) AS bytes, string_agg(DISTINCT code, ', ') AS prefixes_give
FROM hostile_good, generate_series(0, length(b) - 1) n, LATERAL (SELECT (hostile_recv(typ, substr(b, 1, n))).code) c
GROUP BY typ, b ORDER BY typ;
--       and the two other ways frontier_state's receive raised 08P01: a name
--       with no terminating zero byte, and bytes after the last option
SELECT (hostile_recv('tokacct.frontier_state', decode('01' || '00000001' || '6162', 'hex'))).code AS unterminated_name,
	(hostile_recv('tokacct.frontier_state', tokacct_internal.frontier_state_send('{("a",1,1,1)}') || '\x00'::bytea)).code AS trailing_byte;
--    b. An error quoting bad input quotes at most 64 bytes of it, cut at a
--       character boundary and followed by "...": context_state and
--       sketch_state quoted their whole input (200 kB in, 200 kB out), as
--       did utility_frontier the name of an option with a negative cost.
CREATE FUNCTION hostile_message(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	m text;
	d text;
BEGIN
	EXECUTE q;
	RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL;
	RETURN SQLSTATE || ' ' || length(m) || '+' || length(d) || ' chars: ' || m || ' / ' || d;
END $$;
SELECT hostile_message(format('SELECT %L::%s', t, typ)) AS error
FROM (VALUES ('tokacct.context_state', '{(1,2,' || repeat('9', 200000) || ')}'),
			 ('tokacct.context_state', '{(1,2,3)' || repeat('x', 200000)),
			 ('tokacct.sketch_state', 'v=1 count=' || repeat('9', 200000)),
			 ('tokacct.sketch_state', 'v=1 count=1 zero=0 min=' || repeat('é', 100000)),
			 ('tokacct.sketch_state', 'v=1 count=1 zero=0 min=1 max=1 pos={0:1} neg={} ' || repeat('é', 100000)),
			 ('tokacct.frontier_state', '{("a",' || repeat('1', 200000) || ',1,1)}'),
			 ('tokacct.frontier_state', '{("a",1,' || repeat('1', 200000) || 'x,1)}'),
			 ('tokacct.frontier_state', '{("' || repeat('é', 500) || '",1,1,1),("' || repeat('é', 500) || '",1,1,1)}'),
			 ('tokacct.outcome_state', 'items=' || repeat('9', 200000)),
			 ('tokacct.retry_state', 'max_attempt=1 1:1,1,' || repeat('9', 200000)),
			 ('tokacct.waste_state', repeat('é', 100000))) v(typ, t);
SELECT hostile_message($$SELECT tokacct.utility_frontier(repeat('é', 100000), -1, 1)$$) AS error;
DROP FUNCTION hostile_message(text);
--    c. An item count of utility_frontier passing 2^63 - 1 was reported as
--       money ("numeric value out of range: The sum exceeds the largest
--       amount tokacct keeps exactly in one value (9223372.036854775807)");
--       so was merging two such states.  And the attempts of a retry state
--       adding up past 2^63 - 1 were reported as "merging the states"
--       when a report summed them.
SELECT tokacct.utility_frontier('a', 1, 1, n) FROM (VALUES (9223372036854775807), (1)) v(n);
SELECT tokacct.merge(s) FROM (VALUES ('{("a",9223372036854775807,9223372036854775807,0)}'::tokacct.frontier_state),
	('{("a",1,1,0)}')) v(s);
SELECT (tokacct.retry_report('max_attempt=2 1:9223372036854775807,0,0,0 2:9223372036854775807,0,0,0')).attempts;
DROP FUNCTION hostile_code(text);
--    d. One error for a bad state, whatever its type: bad text is
--       invalid_text_representation (22P02), or numeric_value_out_of_range
--       (22003) for a number its field cannot hold, with the message
--       'invalid input syntax for type tokacct.X: "<input>"' (the input
--       quoted whole up to 64 bytes, else its first 64 bytes and "...");
--       bad binary is invalid_binary_representation (22P03) with
--       'invalid external representation for type tokacct.X'.  Before,
--       there were five wordings ('invalid tokacct.outcome_state value',
--       'invalid waste_state', 'invalid cost sketch: ...', 'invalid
--       context_state: ...', 'invalid input syntax for type waste_state'),
--       and context_state's text and binary inputs raised errors of the
--       aggregate's arguments (22023, 23505).  Per type: a syntax error, a
--       number out of range, fields no rows can give; and in binary a cut,
--       a byte too many, an unknown version and fields no rows can give.
--       The message is compared with the wording built here, the SQLSTATE
--       with the one expected; the detail says what the input does wrong.
CREATE FUNCTION hostile_text(typ text, t text, OUT code text, OUT message text, OUT detail text)
LANGUAGE plpgsql AS $$
BEGIN
	code := 'accepted';
	EXECUTE format('SELECT %L::%s', t, typ);
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
	code := SQLSTATE;
END $$;
WITH good AS (SELECT * FROM hostile_good),
-- the version is the first byte (outcome, retry, frontier) or int32 (the others)
version(typ, at, v) AS (VALUES ('tokacct.outcome_state', 1, '\x02'::bytea), ('tokacct.retry_state', 1, '\x02'),
	('tokacct.frontier_state', 1, '\x02'), ('tokacct.context_state', 1, '\x00000002'),
	('tokacct.sketch_state', 1, '\x00000002'), ('tokacct.waste_state', 1, '\x00000003')),
-- fields no rows can give: outcome solved 9 of 3 items; retry max_attempt
-- 5 with attempts up to 2; context call order 1 twice; sketch count 4 with
-- 3 in its buckets; frontier option "ab" with 0 items; waste a total of 1
-- unit for spans of 2 (the low half of the total, bytes 21 to 28)
fields(typ, at, v) AS (VALUES ('tokacct.outcome_state', 10, '\x0000000000000009'::bytea),
	('tokacct.retry_state', 6, '\x00000005'), ('tokacct.context_state', 29, '\x00000001'),
	('tokacct.sketch_state', 5, '\x0000000000000004'), ('tokacct.frontier_state', 9, '\x0000000000000000'),
	('tokacct.waste_state', 21, '\x0000000000000001')),
cases(typ, what, expect, t, b) AS (
	VALUES
	('tokacct.outcome_state', 'text: syntax', '22P02', 'items=1 solved=0 fixed=0 cost=x fix_cost=0', NULL::bytea),
	('tokacct.outcome_state', 'text: out of range', '22003', 'items=99999999999999999999 solved=0 fixed=0 cost=0 fix_cost=0', NULL),
	('tokacct.outcome_state', 'text: fields', '22P02', 'items=1 solved=2 fixed=0 cost=0 fix_cost=0', NULL),
	('tokacct.retry_state', 'text: syntax', '22P02', 'max_attempt=1 1:1;', NULL),
	('tokacct.retry_state', 'text: out of range', '22003', 'max_attempt=3000000000', NULL),
	('tokacct.retry_state', 'text: fields', '22P02', 'max_attempt=1 1:1,2,1,0', NULL),
	('tokacct.context_state', 'text: syntax', '22P02', '{(1,2,3)', NULL),
	('tokacct.context_state', 'text: out of range', '22003', '{(1,4294967296,3)}', NULL),
	('tokacct.context_state', 'text: fields', '22P02', '{(1,2,3),(1,4,5)}', NULL),
	('tokacct.sketch_state', 'text: syntax', '22P02', 'v=1 count=', NULL),
	('tokacct.sketch_state', 'text: out of range', '22003', 'v=1 count=99999999999999999999', NULL),
	('tokacct.sketch_state', 'text: fields', '22P02', 'v=1 count=1 zero=0 min=0 max=0 pos={} neg={}', NULL),
	('tokacct.frontier_state', 'text: syntax', '22P02', '{("a",1,1,1)', NULL),
	('tokacct.frontier_state', 'text: out of range', '22003', '{("a",99999999999999999999,1,1)}', NULL),
	('tokacct.frontier_state', 'text: fields', '22P02', '{("a",0,1,1)}', NULL),
	('tokacct.waste_state', 'text: syntax', '22P02', 'zz', NULL),
	('tokacct.waste_state', 'text: fields', '22P02', (SELECT encode(overlay(b PLACING v FROM at), 'hex')
		FROM good JOIN fields USING (typ) WHERE typ = 'tokacct.waste_state'), NULL)
	UNION ALL
	SELECT typ, 'binary: cut', '22P03', NULL, substr(b, 1, length(b) - 1) FROM good
	UNION ALL
	SELECT typ, 'binary: a byte too many', '22P03', NULL, b || '\x00'::bytea FROM good
	UNION ALL
	SELECT typ, 'binary: version', '22P03', NULL, overlay(b PLACING v FROM at) FROM good JOIN version USING (typ)
	UNION ALL
	SELECT typ, 'binary: fields', '22P03', NULL, overlay(b PLACING v FROM at) FROM good JOIN fields USING (typ))
SELECT typ, what, k.code = expect AS code_ok,
	k.message = CASE WHEN t IS NULL THEN 'invalid external representation for type ' || typ
				ELSE 'invalid input syntax for type ' || typ || ': "'
					 || CASE WHEN octet_length(t) > 64 THEN left(t, 64) || '...' ELSE t END || '"' END AS wording,
	k.detail
FROM cases, LATERAL (SELECT * FROM hostile_recv(typ, b) WHERE t IS NULL
					  UNION ALL SELECT * FROM hostile_text(typ, t) WHERE t IS NOT NULL) k
ORDER BY typ, what;
DROP FUNCTION hostile_recv(text, bytea);
DROP FUNCTION hostile_text(text, text);
DROP TABLE hostile_bytes, hostile_good;
