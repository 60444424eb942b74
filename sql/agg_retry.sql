-- tokacct.retry_economics, tokacct.retry_state and its readers
-- (retry_report, retry_attempts, retry_projection).
-- Expected values are worked out by hand (working beside them) or computed
-- independently with numeric SQL over the same rows; money is exact.
SET extra_float_digits = 0;

-- 1. A heterogeneous population, worked by hand ----------------------------
-- 10 items.  Attempt 1 costs 0.10, later attempts 0.15.
--   attempt 1: 10 tries, items 1-6 succeed           s1 = 6, p1 = 0.6
--   attempt 2:  4 tries (items 7-10), item 7 succeeds  rate 1/4
--   attempt 3:  3 tries (items 8-10), item 8 succeeds  rate 1/3
--   attempt 4:  2 tries (items 9-10), both succeed     rate 1
CREATE TABLE agg_retry_a (item int, attempt int, ok bool, cost numeric);
INSERT INTO agg_retry_a
SELECT i, 1, i <= 6, 0.10 FROM generate_series(1, 10) i
UNION ALL SELECT i, 2, i = 7, 0.15 FROM generate_series(7, 10) i
UNION ALL SELECT i, 3, i = 8, 0.15 FROM generate_series(8, 10) i
UNION ALL SELECT i, 4, true, 0.15 FROM generate_series(9, 10) i;
-- per attempt (attempts, successes, cost, failed cost):
--   1: 10, 6, 1.00, 0.40   2: 4, 1, 0.60, 0.45   3: 3, 1, 0.45, 0.30   4: 2, 2, 0.30, 0
SELECT tokacct.retry_economics(attempt, ok, cost) FROM agg_retry_a;
-- items N1 = 10, attempts A = 19, solved S = 10, p1 = 0.6
-- attempts_per_item = 19/10 = 1.9, solve_rate = 1
-- C = 1.00 + 0.60 + 0.45 + 0.30 = 2.35, F = 0.40 + 0.45 + 0.30 = 1.15
-- failed_share = 1.15 / 2.35
-- T = C / A = 2.35 / 19 = 0.123684210526|3157.. -> 0.123684210526
-- observed = C / S = 2.35 / 10 = 0.235
-- naive = T / p1 = C * N1 / (A * s1) = 23.5 / 114 = 0.206140350877|19.. -> 0.206140350877
-- tail = observed / naive = A * s1 / (S * N1) = 114 / 100 = 1.14
SELECT r.items = 10 AND r.attempts = 19 AND r.solved = 10 AND r.p1 = 0.6
	AND r.success_by_attempt = ARRAY[0.6, 0.25, 1.0 / 3, 1]::float8[]
	AND r.attempts_per_item = 1.9 AND r.solve_rate = 1
	AND r.total_cost = 2.35 AND r.failed_cost = 1.15
	AND abs(r.failed_share - 1.15 / 2.35) <= 1e-12 * (1.15 / 2.35)
	AND r.mean_attempt_cost = 0.123684210526 AND r.cost_per_solved = 0.235
	AND r.naive_cost_per_solved = 0.206140350877
	AND abs(r.tail_factor - 1.14) <= 1e-12 * 1.14 AND r.max_attempt = 4 AS ok
FROM (SELECT tokacct.retry_economics(attempt, ok, cost) s FROM agg_retry_a) x,
	 tokacct.retry_report(x.s) r;
-- reach = attempts / N1: 1, 0.4, 0.3, 0.2; mean cost 0.1, 0.15, 0.15, 0.15
SELECT a.* FROM (SELECT tokacct.retry_economics(attempt, ok, cost) s FROM agg_retry_a) x,
	 tokacct.retry_attempts(x.s) a;
-- capped at k with a fallback of 5 per unsolved item:
--   k=1: C1 = 1.00, S1 = 6, unsolved 4: (1.00 + 4*5)/10 = 2.1,   yield 0.6, 1.00/6 = 0.166666666667
--   k=2: C2 = 1.60, S2 = 7, unsolved 3: (1.60 + 15)/10  = 1.66,  yield 0.7, 1.60/7 = 0.228571428571
--   k=3: C3 = 2.05, S3 = 8, unsolved 2: (2.05 + 10)/10  = 1.205, yield 0.8, 2.05/8 = 0.25625
--   k=4: C4 = 2.35, S4 = 10, unsolved 0: 2.35/10        = 0.235, yield 1,   2.35/10 = 0.235
--   k=9: as k=4 (no attempt beyond 4)
SELECT k, p.cost_per_item = e.cpi AND p.yield = e.y AND p.cost_per_solved = e.cps
	AND p.fallback_items = e.fb AS ok
FROM (SELECT tokacct.retry_economics(attempt, ok, cost) s FROM agg_retry_a) x,
	 (VALUES (1, 2.1, 0.6, 0.166666666667, 4), (2, 1.66, 0.7, 0.228571428571, 3),
			 (3, 1.205, 0.8, 0.25625, 2), (4, 0.235, 1, 0.235, 0), (9, 0.235, 1, 0.235, 0))
		 e(k, cpi, y, cps, fb),
	 tokacct.retry_projection(x.s, e.k, 5) p
ORDER BY k;
-- as a window aggregate: the running state of item 9's attempts
SELECT attempt, tokacct.retry_economics(attempt, ok, cost) OVER (ORDER BY attempt)
FROM agg_retry_a WHERE item = 9;
-- the projection at the largest attempt is the observed cost per solved item
SELECT (tokacct.retry_projection(s, 4, 5)).cost_per_solved = tokacct.cost_per_solved(s) AS ok
FROM (SELECT tokacct.retry_economics(attempt, ok, cost) s FROM agg_retry_a) x;

-- 2. A homogeneous population against the capped-retry formula ------------
-- 8 items, p = 0.5 on every attempt, T = 0.2 per attempt:
--   attempt 1: 8 tries, 4 succeed; 2: 4 tries, 2; 3: 2 tries, 1; 4: 1 try, 1
-- With retries capped at k and a fallback H = 4 the formula gives
--   cost per item = T (1 - (1-p)^k) / p + H (1-p)^k, yield 1 - (1-p)^k
--   k=1: 0.2 + 2 = 2.2; k=2: 0.3 + 1 = 1.3; k=3: 0.35 + 0.5 = 0.85
-- and the observed attempts give the same: k=3: (14 * 0.2 + 1 * 4) / 8 = 0.85
CREATE TABLE agg_retry_b (attempt int, ok bool, cost numeric);
INSERT INTO agg_retry_b
SELECT 1, i <= 4, 0.2 FROM generate_series(1, 8) i
UNION ALL SELECT 2, i <= 2, 0.2 FROM generate_series(1, 4) i
UNION ALL SELECT 3, i <= 1, 0.2 FROM generate_series(1, 2) i
UNION ALL SELECT 4, true, 0.2;
SELECT k, p.cost_per_item, 0.2 * (1 - 0.5 ^ k) / 0.5 + 4 * 0.5 ^ k AS formula,
	   p.yield, 1 - 0.5 ^ k AS formula_yield
FROM (SELECT tokacct.retry_economics(attempt, ok, cost) s FROM agg_retry_b) x,
	 generate_series(1, 3) k, tokacct.retry_projection(x.s, k, 4) p;
-- naive T/p1 = 0.2 / 0.5 = 0.4; observed = 15 * 0.2 / 8 = 0.375;
-- tail = A * s1 / (S * N1) = 15 * 4 / (8 * 8) = 0.9375 (below 1: the last
-- attempt of this sample always succeeded)
SELECT naive_cost_per_solved, cost_per_solved, tail_factor
FROM (SELECT tokacct.retry_economics(attempt, ok, cost) s FROM agg_retry_b) x,
	 tokacct.retry_report(x.s);

-- 3. Attempts beyond 32 share the last bucket ------------------------------
-- one item with 40 attempts, the last one succeeds, each costs 0.01
CREATE TABLE agg_retry_long AS
SELECT a AS attempt, a = 40 AS ok, 0.01 AS cost FROM generate_series(1, 40) a;
-- bucket 32 holds attempts 32..40: 9 tries, 1 success, cost 0.09, failed 0.08
SELECT tokacct.retry_economics(attempt, ok, cost) FROM agg_retry_long;
SELECT attempt, and_beyond, attempts, successes, cost
FROM (SELECT tokacct.retry_economics(attempt, ok, cost) s FROM agg_retry_long) x,
	 tokacct.retry_attempts(x.s) WHERE attempt >= 30;
-- a cap of 31 is exact (cost 0.31, nothing solved, fallback 1); 40 takes
-- everything (0.40, solved); 35 would split the last bucket
SELECT (tokacct.retry_projection(s, 31, 1)).*, (tokacct.retry_projection(s, 40, 1)).*
FROM (SELECT tokacct.retry_economics(attempt, ok, cost) s FROM agg_retry_long) x;
SELECT tokacct.retry_projection(s, 35, 1)
FROM (SELECT tokacct.retry_economics(attempt, ok, cost) s FROM agg_retry_long) x;
-- the state grows as higher attempt numbers arrive (4, 8, 16, 32 buckets);
-- the order of the rows does not matter
SELECT a.s::text = d.s::text AS order_does_not_matter
FROM (SELECT tokacct.retry_economics(attempt, ok, cost ORDER BY attempt) s FROM agg_retry_long) a,
	 (SELECT tokacct.retry_economics(attempt, ok, cost ORDER BY attempt DESC) s FROM agg_retry_long) d;

-- 4. The distribution contract on about 90,000 attempt rows ----------------
-- item i has 1 + (37 i mod 5) attempts (40 for every 5000th item); the last
-- attempt succeeds unless i is a multiple of 7 (the item is abandoned)
CREATE TABLE agg_retry_rows AS
SELECT i AS item, a AS attempt, (a = m.n AND i % 7 <> 0) AS ok,
	   round(0.01 * (i % 13) + a * 0.000123456789 + 0.5, 12) AS cost
FROM generate_series(1, 30000) i,
	 LATERAL (SELECT CASE WHEN i % 5000 = 0 THEN 40 ELSE 1 + (i * 37) % 5 END AS n) m,
	 LATERAL generate_series(1, m.n) a;
ALTER TABLE agg_retry_rows SET (parallel_workers = 2);
ANALYZE agg_retry_rows;

-- the independent answer in numeric SQL: the state's text, built from a
-- GROUP BY on the attempt number (32 and beyond together) ...
CREATE TABLE agg_retry_oracle AS
SELECT 'max_attempt=' || (SELECT max(attempt) FROM agg_retry_rows)
	   || string_agg(' ' || k || ':' || n || ',' || s || ',' || trim_scale(c) || ',' || trim_scale(f), '' ORDER BY k)
		 AS state_text
FROM (SELECT least(attempt, 32) AS k, count(*) AS n, count(*) FILTER (WHERE ok) AS s,
			 sum(cost) AS c, coalesce(sum(cost) FILTER (WHERE NOT ok), 0) AS f
	  FROM agg_retry_rows GROUP BY 1) g;
-- ... and the report's figures
CREATE TABLE agg_retry_oracle_report AS
SELECT n1, a, s, s1, c, f,
	   round((c + 0.0e-30) / a, 12) AS t,
	   round((c + 0.0e-30) / s, 12) AS observed,
	   round((c * n1 + 0.0e-30) / (a * s1), 12) AS naive
FROM (SELECT count(*) FILTER (WHERE attempt = 1) AS n1, count(*) AS a,
			 count(*) FILTER (WHERE ok) AS s, count(*) FILTER (WHERE ok AND attempt = 1) AS s1,
			 sum(cost) AS c, sum(cost) FILTER (WHERE NOT ok) AS f
	  FROM agg_retry_rows) x;

SET max_parallel_workers_per_gather = 0;
CREATE TABLE agg_retry_serial AS
SELECT tokacct.retry_economics(attempt, ok, cost) AS s FROM agg_retry_rows;
SELECT s::text = o.state_text AS serial_state_matches_sql FROM agg_retry_serial, agg_retry_oracle o;
SELECT r.items = o.n1 AND r.attempts = o.a AND r.solved = o.s
	AND abs(r.p1 - o.s1::float8 / o.n1) <= 1e-12 * (o.s1::float8 / o.n1)
	AND r.total_cost = o.c AND r.failed_cost = o.f
	AND abs(r.failed_share - (o.f / o.c)::float8) <= 1e-12 * (o.f / o.c)::float8
	AND r.mean_attempt_cost = o.t AND r.cost_per_solved = o.observed
	AND r.naive_cost_per_solved = o.naive
	AND abs(r.tail_factor - (o.a * o.s1)::float8 / (o.s * o.n1)) <= 1e-12 * (o.a * o.s1)::float8 / (o.s * o.n1)
	AS serial_report_matches_sql
FROM agg_retry_serial, tokacct.retry_report(s) r, agg_retry_oracle_report o;
-- projections for caps 1..5 and 40 against numeric SQL over attempts <= k
SELECT bool_and(p.cost_per_item = o.cpi AND p.cost_per_solved = o.cps
				AND abs(p.yield - o.y) <= 1e-12 * o.y) AS projections_match_sql, count(*)
FROM agg_retry_serial,
	 (SELECT k, round((sum(cost) + 3.5 * (n1 - count(*) FILTER (WHERE ok)) + 0.0e-30) / n1, 12) AS cpi,
			 round((sum(cost) + 0.0e-30) / count(*) FILTER (WHERE ok), 12) AS cps,
			 (count(*) FILTER (WHERE ok))::float8 / n1 AS y
	  FROM agg_retry_rows, (VALUES (1), (2), (3), (4), (5), (40)) v(k),
		   (SELECT count(*) AS n1 FROM agg_retry_rows WHERE attempt = 1) n
	  WHERE attempt <= k GROUP BY k, n1) o,
	 tokacct.retry_projection(s, o.k, 3.5) p;

-- under forced partial aggregation
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF)
SELECT tokacct.retry_economics(attempt, ok, cost) FROM agg_retry_rows;
SELECT p.s::text = s.s::text AS parallel_equals_serial
FROM (SELECT tokacct.retry_economics(attempt, ok, cost) AS s FROM agg_retry_rows) p, agg_retry_serial s;
-- rollup per item group, merged in parallel
CREATE TABLE agg_retry_rollup AS
SELECT item % 101 AS part, tokacct.retry_economics(attempt, ok, cost) AS s
FROM agg_retry_rows GROUP BY 1;
ALTER TABLE agg_retry_rollup SET (parallel_workers = 2);
EXPLAIN (COSTS OFF) SELECT tokacct.merge(s) FROM agg_retry_rollup;
SELECT m.s::text = s.s::text AS parallel_merge_equals_serial
FROM (SELECT tokacct.merge(s) AS s FROM agg_retry_rollup) m, agg_retry_serial s;
RESET max_parallel_workers_per_gather;
SELECT m.s::text = s.s::text AS merge_equals_serial
FROM (SELECT tokacct.merge(s) AS s FROM agg_retry_rollup) m, agg_retry_serial s;
SELECT m.s::text = s.s::text AS merge_of_merges_equals_serial
FROM (SELECT tokacct.merge(s) AS s
	  FROM (SELECT tokacct.merge(s) AS s FROM agg_retry_rollup GROUP BY part % 7) x) m,
	 agg_retry_serial s;
-- one state per item (30,000 groups, hash aggregation), merged
SET enable_sort = off;
SELECT m.s::text = s.s::text AS per_item_merge_equals_serial
FROM (SELECT tokacct.merge(s) AS s FROM (
		SELECT item, tokacct.retry_economics(attempt, ok, cost) AS s
		FROM agg_retry_rows GROUP BY item) x) m, agg_retry_serial s;
RESET enable_sort;
-- millions of rows: 40 copies of the serial state, 3,609,360 attempt rows
-- (python3: 40 * sum(40 if i % 5000 == 0 else 1 + 37 * i % 5 for i in 1..30000))
-- hold 40 times every count and every money total
SELECT m.s::text = o.state_text AS forty_copies_match_sql
FROM (SELECT tokacct.merge(s) AS s FROM agg_retry_serial, generate_series(1, 40)) m,
	 (SELECT 'max_attempt=' || (SELECT max(attempt) FROM agg_retry_rows)
			 || string_agg(' ' || k || ':' || 40 * n || ',' || 40 * s || ',' || trim_scale(40 * c)
						   || ',' || trim_scale(40 * f), '' ORDER BY k) AS state_text
	  FROM (SELECT least(attempt, 32) AS k, count(*) AS n, count(*) FILTER (WHERE ok) AS s,
				   sum(cost) AS c, coalesce(sum(cost) FILTER (WHERE NOT ok), 0) AS f
			FROM agg_retry_rows GROUP BY 1) g) o;
SELECT (tokacct.retry_report(tokacct.merge(s))).attempts = 3609360 AS attempts_in_forty_copies
FROM agg_retry_serial, generate_series(1, 40);
-- stored states are trimmed to their last used attempt: a state with one
-- attempt number is 16 bytes of header and 48 of bucket
SELECT pg_column_size(tokacct.retry_economics(1, true, 1.0)) AS one_bucket_bytes;

-- 5. Combining very different states: empty, one row, many -----------------
SELECT m.s::text = a.s::text AS combine_empty_one_many
FROM (SELECT tokacct.merge(s) AS s FROM (
		SELECT 'max_attempt=0'::tokacct.retry_state AS s
		UNION ALL SELECT tokacct.retry_economics(1, false, 2.5)
		UNION ALL SELECT NULL
		UNION ALL SELECT s FROM agg_retry_serial) x) m,
	 (SELECT tokacct.retry_economics(attempt, ok, cost) AS s
	  FROM (SELECT attempt, ok, cost FROM agg_retry_rows UNION ALL SELECT 1, false, 2.5) y) a;
SELECT tokacct.merge(s) FROM agg_retry_rollup WHERE false;
SELECT * FROM tokacct.retry_report('max_attempt=0');
SELECT * FROM tokacct.retry_attempts('max_attempt=0');
SELECT * FROM tokacct.retry_projection('max_attempt=0', 3, 1);
-- a short state merged into a long one and the other way round
SELECT tokacct.merge(s ORDER BY o) AS short_first, tokacct.merge(s ORDER BY o DESC) AS long_first
FROM (VALUES (1, 'max_attempt=1 1:1,1,0.5,0'::tokacct.retry_state),
			 (2, 'max_attempt=3 1:2,0,2,2 2:2,1,2,1 3:1,1,1,0')) v(o, s);
-- the combine function called directly does not modify its arguments
SELECT tokacct_internal.retry_combine(a, b), a, b
FROM (SELECT 'max_attempt=1 1:1,1,0.5,0'::tokacct.retry_state a,
			 'max_attempt=2 1:1,0,1,1 2:1,1,1,0'::tokacct.retry_state b) x;

-- 6. COPY round trips, text and binary -------------------------------------
-- (files in the instance's data directory: a fixed /tmp name is shared with
-- every other test run on the machine)
SELECT current_setting('data_directory') || '/tokacct_agg_retry.txt' AS copy_txt,
	current_setting('data_directory') || '/tokacct_agg_retry.bin' AS copy_bin \gset
COPY agg_retry_rollup TO :'copy_txt';
COPY agg_retry_rollup TO :'copy_bin' (FORMAT binary);
CREATE TABLE agg_retry_copy_t (LIKE agg_retry_rollup);
CREATE TABLE agg_retry_copy_b (LIKE agg_retry_rollup);
COPY agg_retry_copy_t FROM :'copy_txt';
COPY agg_retry_copy_b FROM :'copy_bin' (FORMAT binary);
SELECT count(*) AS rows,
	   count(*) FILTER (WHERE r.s::text = t.s::text AND r.s::text = b.s::text
						AND tokacct_internal.retry_state_send(r.s) = tokacct_internal.retry_state_send(b.s)) AS identical,
	   count(*) FILTER (WHERE (r.s::text LIKE '%32:%')) AS with_bucket_32
FROM agg_retry_rollup r JOIN agg_retry_copy_t t USING (part) JOIN agg_retry_copy_b b USING (part);

-- 7. Bad rows and arguments -------------------------------------------------
SELECT tokacct.retry_economics(0, true, 1);
SELECT tokacct.retry_economics(1, true, -1);
SELECT tokacct.retry_economics(1, true, 'NaN');
-- more than 12 decimals are rounded half away from zero: 0.0000000000005 -> 0.000000000001
SELECT tokacct.retry_economics(1, true, 0.0000000000005);
SELECT tokacct.retry_economics(1, true, 9223372.036854775808);
-- rows with a NULL are skipped
SELECT tokacct.retry_economics(a, o, c)
FROM (VALUES (1, true, 1.0), (NULL, true, 1.0), (1, NULL, 1.0), (1, true, NULL)) v(a, o, c);
SELECT tokacct.retry_projection('max_attempt=1 1:1,1,1,0', 0, 1);
SELECT tokacct.retry_projection('max_attempt=1 1:1,1,1,0', 1, -1);
SELECT tokacct.retry_projection('max_attempt=1 1:1,1,1,0', 1, 'NaN');
-- 3 rows of attempt 2 (all solved) after 1 failed attempt 1: more solved than
-- items; every reader that counts items refuses it (see hostile_inputs)
SELECT tokacct.retry_projection('max_attempt=2 1:1,0,1,1 2:3,3,3,0', 2, 1);

-- 8. Hostile text input ----------------------------------------------------
SELECT 'max_attempt=1'::tokacct.retry_state;
SELECT 'max_attempt=1 2:1,1,1,0'::tokacct.retry_state;
SELECT 'max_attempt=1 1:1,1,1'::tokacct.retry_state;
SELECT 'max_attempt=1 1:1,2,1,0'::tokacct.retry_state;
SELECT 'max_attempt=1 1:-1,0,0,0'::tokacct.retry_state;
SELECT 'max_attempt=1 1:2,1,1,1.5'::tokacct.retry_state;
SELECT 'max_attempt=1 1:1,1,1,0.5'::tokacct.retry_state;
SELECT 'max_attempt=1 1:1,0,1,0.5'::tokacct.retry_state;
SELECT 'max_attempt=1 1:1,1,NaN,0'::tokacct.retry_state;
SELECT 'max_attempt=2 1:1,1,1,0'::tokacct.retry_state;
SELECT 'max_attempt=1 1:1,1,1,0 '::tokacct.retry_state;
SELECT 'max_attempt=1 1:1,1,1,0;'::tokacct.retry_state;
SELECT 'max_attempt=99999999999 1:1,1,1,0'::tokacct.retry_state;
SELECT 'max_attempt=1 1:0,0,0,0'::tokacct.retry_state;
-- 33 groups
SELECT ('max_attempt=33' || string_agg(' ' || k || ':1,1,1,0', '' ORDER BY k))::tokacct.retry_state
FROM generate_series(1, 33) k;
-- 32 groups with max_attempt 32 and beyond are fine
SELECT ('max_attempt=50' || string_agg(' ' || k || ':1,1,1,0', '' ORDER BY k))::tokacct.retry_state IS NOT NULL AS ok
FROM generate_series(1, 32) k;

-- 9. Hostile binary input (COPY of crafted bytes into a state column) ------
CREATE TABLE agg_retry_bytes (b bytea);
CREATE TABLE agg_retry_recv (s tokacct.retry_state);
CREATE FUNCTION agg_retry_try(b bytea) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	TRUNCATE agg_retry_bytes, agg_retry_recv;
	INSERT INTO agg_retry_bytes VALUES (b);
	EXECUTE format('COPY agg_retry_bytes TO %L (FORMAT binary)', current_setting('data_directory') || '/tokacct_agg_retry_bad.bin');
	EXECUTE format('COPY agg_retry_recv FROM %L (FORMAT binary)', current_setting('data_directory') || '/tokacct_agg_retry_bad.bin');
	RETURN (SELECT s::text FROM agg_retry_recv);
EXCEPTION WHEN OTHERS THEN
	DECLARE d text;
	BEGIN
		GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
		RETURN SQLSTATE || ': ' || SQLERRM || ' / ' || d;
	END;
END $$;
-- max_attempt=1 1:2,1,3,1 is: version 01, bucket count 1, max_attempt 1,
-- then attempts 2, successes 1, cost 3e12 and failed cost 1e12 (int128 hi, lo)
SELECT tokacct_internal.retry_state_send('max_attempt=1 1:2,1,3,1') AS good \gset
SELECT :'good' = '\x01' || '00000001' || '00000001'
	|| '0000000000000002' || '0000000000000001'
	|| '0000000000000000' || '000002ba7def3000'
	|| '0000000000000000' || '000000e8d4a51000' AS layout_as_documented;
SELECT agg_retry_try(:'good');
SELECT agg_retry_try(substr(:'good'::bytea, 1, 56));                   -- truncated
SELECT agg_retry_try(substr(:'good'::bytea, 1, 5));                    -- truncated header
SELECT agg_retry_try(:'good'::bytea || '\x00'::bytea);                 -- oversized
SELECT agg_retry_try(overlay(:'good'::bytea PLACING '\x03' FROM 1));   -- version
SELECT agg_retry_try(overlay(:'good'::bytea PLACING '\x00000021' FROM 2));  -- 33 buckets
SELECT agg_retry_try(overlay(:'good'::bytea PLACING '\xffffffff' FROM 2));  -- -1 buckets
SELECT agg_retry_try(overlay(:'good'::bytea PLACING '\x00000002' FROM 2));  -- 2 buckets, bytes of 1
SELECT agg_retry_try(overlay(:'good'::bytea PLACING '\x00000000' FROM 2) );  -- 0 buckets, bytes of 1
SELECT agg_retry_try(overlay(:'good'::bytea PLACING '\xffffffff' FROM 6));  -- max_attempt -1
SELECT agg_retry_try(overlay(:'good'::bytea PLACING '\xfffffffffffffffe' FROM 10)); -- attempts -2
SELECT agg_retry_try(overlay(:'good'::bytea PLACING '\x0000000000000003' FROM 18)); -- successes 3 > 2
SELECT agg_retry_try(overlay(:'good'::bytea PLACING '\x8000000000000000' FROM 26)); -- cost < 0
SELECT agg_retry_try(overlay(:'good'::bytea PLACING '\x0000ffffffffffff' FROM 50)); -- failed > cost

-- 10. Attempt numbers with gaps --------------------------------------------
-- A group whose attempt numbers have gaps (rows 2 and 12, say) is kept
-- while aggregating as a sparse state, an entry per number with rows,
-- instead of a bucket for every number up to the highest; the answer is
-- the same dense state.  Rows 12 then 2, by hand: attempt 2 one failed row
-- of 1, attempt 12 one failed row of 1, the ten others empty.
SELECT tokacct.retry_economics(a, false, 1) FROM (VALUES (12), (2)) v(a);
SELECT tokacct.retry_economics(a, false, 1) FROM (VALUES (2), (12)) v(a);
-- 42 folds into the last bucket; 2 succeeded
SELECT tokacct.retry_economics(a, a = 2, 0.5) FROM (VALUES (42), (2), (42)) v(a);
-- every number from 1 to 12, first with gaps: the state goes sparse, then
-- back to dense as the gaps fill; any order gives the same state
SELECT count(DISTINCT s::text) AS one_state_in_every_order, min(s::text) AS state
FROM (SELECT o, tokacct.retry_economics(a, false, 1 ORDER BY (a * o) % 13) AS s
	  FROM generate_series(1, 12) a, generate_series(1, 12) o GROUP BY o) x;
-- The aggregate hands out the smaller form.  Rows 2 and 12: two sparse
-- entries of 56 bytes after the 16-byte header, 128 bytes, where twelve
-- buckets of 48 take 16 + 576 = 592 (the same state read from its text).
-- Rows 1 and 2 stay dense: 16 + 2 x 48 = 112 bytes, less than 128.
SELECT pg_column_size(s) AS gapped_bytes, pg_column_size(s::text::tokacct.retry_state) AS dense_bytes,
	   s::text = s::text::tokacct.retry_state::text AS same_text
FROM (SELECT tokacct.retry_economics(a, false, 1) AS s FROM (VALUES (12), (2)) v(a)) x;
SELECT pg_column_size(tokacct.retry_economics(a, false, 1)) AS dense_1_2_bytes FROM (VALUES (2), (1)) v(a);
-- whatever form the group kept while aggregating, the smaller is handed
-- out.  The stored bytes, read with pageinspect: the 4-byte length (4 x
-- size, little-endian), then room, highest number and entries used (0:
-- dense), then the first entry's number (sparse) or bucket's count.
--   rows 12 and 2: 128 bytes, sparse, room 2, highest 12, 2 used, first 2
--   row 2 alone: 16 + 56 = 72 bytes sparse against 16 + 2 x 48 = 112
--   rows 1, 2 and 4: 16 + 3 x 56 = 184 against 16 + 4 x 48 = 208
--   rows 1 to 5 and 7: a tie at 16 + 6 x 56 = 16 + 7 x 48 = 352: dense,
--     7 buckets, the first counting 1 row
CREATE EXTENSION pageinspect;
CREATE TABLE agg_retry_forms (s tokacct.retry_state);
INSERT INTO agg_retry_forms
SELECT tokacct.retry_economics(a, false, 1) FROM (VALUES (1, 12), (1, 2), (2, 2), (3, 1), (3, 2), (3, 4),
	(4, 1), (4, 2), (4, 3), (4, 4), (4, 5), (4, 7)) v(g, a) GROUP BY g ORDER BY g;
SELECT lp, lp_len - t_hoff AS bytes, encode(substr(t_data, 1, 20), 'hex') AS length_room_highest_used_first
FROM heap_page_items(get_raw_page('agg_retry_forms', 0)) ORDER BY lp;
DROP TABLE agg_retry_forms;
DROP EXTENSION pageinspect;
-- a stored sparse state reads as its dense twin everywhere: text and
-- binary output, merge and subtraction, and the reports, which refuse a
-- state with gaps (an attempt must follow a failed one) alike
CREATE TABLE agg_retry_sparse AS
SELECT k, tokacct.retry_economics(a, a = 29, 0.25) AS s
FROM (VALUES (1, 29), (1, 5), (1, 17), (1, 5), (2, 5), (2, 17)) v(k, a) GROUP BY k;
-- (states printed without their empty buckets)
CREATE FUNCTION agg_retry_short(s tokacct.retry_state) RETURNS text
	LANGUAGE sql AS $$ SELECT regexp_replace(s::text, ' [0-9]+:0,0,0,0', '', 'g') $$;
SELECT k, pg_column_size(s) AS bytes, agg_retry_short(s) AS s,
	   tokacct_internal.retry_state_send(s) = tokacct_internal.retry_state_send(s::text::tokacct.retry_state) AS same_binary
FROM agg_retry_sparse ORDER BY k;
SELECT * FROM tokacct.retry_report((SELECT s FROM agg_retry_sparse WHERE k = 2));
SELECT * FROM tokacct.retry_report((SELECT s::text::tokacct.retry_state FROM agg_retry_sparse WHERE k = 2));
-- merged: 5 three times, 17 twice, 29 once (succeeded), 1.5 in all;
-- less group 2's dense twin: 5 twice, 17 once, 29 once
SELECT agg_retry_short(tokacct.merge(s)) AS merged,
	   agg_retry_short(tokacct.retry_subtract(tokacct.merge(s), min(s::text) FILTER (WHERE k = 2)::tokacct.retry_state)) AS less_group_2
FROM agg_retry_sparse;
SELECT agg_retry_short(tokacct.retry_subtract(a.s, b.s)) AS sparse_less_sparse
FROM agg_retry_sparse a, agg_retry_sparse b WHERE a.k = 1 AND b.k = 2;

-- 300 groups of 200 rows each, attempt numbers from a set with gaps by
-- group: {2, 12}, {5, 17, 29}, {1, 3, 40, 31} or {7}; the rows of a group
-- are spread over the table, so workers see them in parts and in any order
CREATE TABLE agg_retry_gaps AS
SELECT i % 300 AS g, k.a[1 + i / 300 % cardinality(k.a)] AS attempt, i % 3 = 0 AS ok,
	   round(0.001 * (i % 17) + 0.25, 12) AS cost
FROM generate_series(0, 59999) i,
	 LATERAL (SELECT (ARRAY[ARRAY[2, 12, 12, 12], ARRAY[5, 17, 29, 29], ARRAY[1, 3, 40, 31],
						   ARRAY[7, 7, 7, 7]])[i % 300 % 4 + 1:i % 300 % 4 + 1][1:4] AS a) k0,
	 LATERAL (SELECT ARRAY(SELECT DISTINCT unnest(k0.a) ORDER BY 1) AS a) k;
ALTER TABLE agg_retry_gaps SET (parallel_workers = 2);
ANALYZE agg_retry_gaps;
-- the independent answer: each group's state text from a GROUP BY on the
-- attempt number, with the empty numbers below the highest written out
CREATE TABLE agg_retry_gaps_oracle AS
SELECT g, 'max_attempt=' || max(mx) || string_agg(' ' || k || ':' || coalesce(n, 0) || ',' || coalesce(s, 0)
		  || ',' || coalesce(trim_scale(c), 0) || ',' || coalesce(trim_scale(f), 0), '' ORDER BY k) AS state_text
FROM (SELECT m.g, k, x.n, x.s, x.c, x.f, m.mx
	  FROM (SELECT g, max(attempt) AS mx FROM agg_retry_gaps GROUP BY g) m
	  CROSS JOIN LATERAL generate_series(1, least(m.mx, 32)) k
	  LEFT JOIN (SELECT g, least(attempt, 32) AS k, count(*) AS n, count(*) FILTER (WHERE ok) AS s,
						sum(cost) AS c, coalesce(sum(cost) FILTER (WHERE NOT ok), 0) AS f
				 FROM agg_retry_gaps GROUP BY 1, 2) x USING (g, k)) y
GROUP BY g;
SET max_parallel_workers_per_gather = 0;
SELECT count(*) FILTER (WHERE a.s::text = o.state_text) AS serial_groups_match_sql, count(*)
FROM (SELECT g, tokacct.retry_economics(attempt, ok, cost) AS s FROM agg_retry_gaps GROUP BY g) a
JOIN agg_retry_gaps_oracle o USING (g);
SELECT count(*) FILTER (WHERE a.s::text = o.state_text) AS descending_groups_match_sql
FROM (SELECT g, tokacct.retry_economics(attempt, ok, cost ORDER BY attempt DESC) AS s
	  FROM agg_retry_gaps GROUP BY g) a
JOIN agg_retry_gaps_oracle o USING (g);
-- partial states in 2 workers, combined in the leader
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET enable_sort = off;
EXPLAIN (COSTS OFF)
SELECT g, tokacct.retry_economics(attempt, ok, cost) FROM agg_retry_gaps GROUP BY g;
SELECT count(*) FILTER (WHERE a.s::text = o.state_text) AS parallel_groups_match_sql
FROM (SELECT g, tokacct.retry_economics(attempt, ok, cost) AS s FROM agg_retry_gaps GROUP BY g) a
JOIN agg_retry_gaps_oracle o USING (g);
-- states of the four kinds of group merged in parallel, and serially:
-- each group in 7 parts (7 is prime to the 300 groups), stored states of
-- both forms
CREATE TABLE agg_retry_gaps_parts AS
SELECT g, g % 4 AS kind, i % 7 AS part, tokacct.retry_economics(attempt, ok, cost) AS s
FROM (SELECT *, row_number() OVER () AS i FROM agg_retry_gaps) r GROUP BY 1, 2, 3;
ALTER TABLE agg_retry_gaps_parts SET (parallel_workers = 2);
ANALYZE agg_retry_gaps_parts;
EXPLAIN (COSTS OFF)
SELECT g, tokacct.merge(s) FROM agg_retry_gaps_parts GROUP BY g;
SELECT count(*) FILTER (WHERE m.s::text = o.state_text) AS parallel_merges_match_sql
FROM (SELECT g, tokacct.merge(s) AS s FROM agg_retry_gaps_parts GROUP BY g) m
JOIN agg_retry_gaps_oracle o USING (g);
RESET enable_sort;
RESET max_parallel_workers_per_gather;
SELECT m.s::text = o.state_text AS merge_by_kind_matches_sql
FROM (SELECT tokacct.merge(s) AS s FROM agg_retry_gaps_parts WHERE kind = 1) m,
	 (SELECT 'max_attempt=29' || string_agg(' ' || k || ':' || coalesce(n, 0) || ',' || coalesce(s, 0)
				|| ',' || coalesce(trim_scale(c), 0) || ',' || coalesce(trim_scale(f), 0), '' ORDER BY k) AS state_text
	  FROM generate_series(1, 29) k
	  LEFT JOIN (SELECT attempt AS k, count(*) AS n, count(*) FILTER (WHERE ok) AS s, sum(cost) AS c,
						coalesce(sum(cost) FILTER (WHERE NOT ok), 0) AS f
				 FROM agg_retry_gaps WHERE g % 4 = 1 GROUP BY 1) x USING (k)) o;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
