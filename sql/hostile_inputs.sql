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
SELECT tokacct.outcome_accum('items=9223372036854775806 solved=0 fixed=0 cost=0 fix_cost=0', 1, true);
SELECT tokacct.outcome_accum('items=9223372036854775807 solved=0 fixed=0 cost=0 fix_cost=0', 1, true);
SELECT tokacct.retry_accum('max_attempt=1 1:9223372036854775806,0,0,0', 1, true, 2);
SELECT tokacct.retry_accum('max_attempt=1 1:9223372036854775807,0,0,0', 1, true, 0);
SELECT tokacct.retry_accum('max_attempt=2 1:5,0,0,0 2:9223372036854775807,9223372036854775807,0,0', 2, false, 0);

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
-- waste: format version 2 (unknown), no spans, total 0; the text form is
-- the same bytes in hexadecimal
SELECT hostile_sqlstates('tokacct.waste_state', encode(b, 'hex'), b)
FROM (SELECT decode('00000002' || '00000000' || '00000000' || repeat('00', 16), 'hex') AS b) q;
DROP FUNCTION hostile_sqlstates(text, text, bytea);

-- 6. Bad input quoted in an error is cut to at most 20 bytes (64 for a
-- status), and the cut fell inside a multibyte character, leaving an invalid
-- byte sequence in the message.  Now it falls on a character boundary.  'é'
-- is 2 bytes in UTF-8, so "x" and 12 'é' (25 bytes) are quoted as "x" and 9
-- 'é' (19 bytes; a 10th would make 21), " x" and 12 'é' as " x" and 9 'é'
-- (20 bytes), and "x" and 40 'é' as a status (81 bytes) as "x" and 31 'é'
-- (63 bytes).
SELECT getdatabaseencoding();
SELECT 'items=1 solved=1 fixed=xéééééééééééé'::tokacct.outcome_state;
SELECT 'items=1 solved=1 fixed=0 cost=0 fix_cost=0 xéééééééééééé'::tokacct.outcome_state;
SELECT '{("a",1,1,1)} xéééééééééééé'::tokacct.frontier_state;
SELECT tokacct.waste_agg('a', NULL, 'llm', 'm', NULL, 'x' || repeat('é', 40), 0, '2026-01-01', NULL);
