-- tokacct.cost_per_outcome and tokacct.outcome_state.
-- Every expected value is either worked out by hand (the working is in the
-- comment beside it) or computed independently with numeric SQL over the
-- same rows; money is compared exactly.
SET extra_float_digits = 0;

-- 1. A small example worked by hand ---------------------------------------
CREATE TABLE agg_outcome_small (cost numeric, solved bool, fix numeric);
INSERT INTO agg_outcome_small VALUES
	(1.5, true, NULL),             -- solved by AI
	(2.25, false, 3),              -- not solved, a human fix of 3
	(0.000000000001, true, 0),     -- solved; a fix cost of 0 is no fix
	(NULL, true, 7),               -- skipped: NULL cost
	(4, NULL, NULL);               -- skipped: NULL solved
-- items = 3, solved = 2, fixed = 1
-- ai_cost = 1.5 + 2.25 + 0.000000000001 = 3.750000000001
-- cost_per_item = 3.750000000001 / 3 = 1.250000000000333.. -> 1.25
-- cost_per_solved = 3.750000000001 / 2 = 1.8750000000005 -> half up -> 1.875000000001
-- total = 3.750000000001 + 3 = 6.750000000001; / 2 = 3.3750000000005 -> 3.375000000001
SELECT tokacct.cost_per_outcome(cost, solved, fix) FROM agg_outcome_small;
SELECT r.items = 3 AND r.solved = 2 AND r.solve_rate = 2.0 / 3
	AND r.ai_cost = 3.750000000001 AND r.cost_per_item = 1.25
	AND r.cost_per_solved = 1.875000000001 AND r.fixed_items = 1
	AND r.human_fix_cost = 3 AND r.total_cost = 6.750000000001
	AND r.total_cost_per_solved = 3.375000000001 AS ok
FROM (SELECT (tokacct.outcome_report(tokacct.cost_per_outcome(cost, solved, fix))).*
	  FROM agg_outcome_small) r;
-- the two-argument form ignores fixes
SELECT tokacct.cost_per_outcome(cost, solved) FROM agg_outcome_small;
SELECT tokacct.cost_per_solved(tokacct.cost_per_outcome(cost, solved)) = 1.875000000001 AS ok
FROM agg_outcome_small;
-- as a window aggregate: a running state per row
SELECT cost, tokacct.cost_per_outcome(cost, solved) OVER (ORDER BY cost)
FROM agg_outcome_small WHERE cost IS NOT NULL AND solved IS NOT NULL;
-- no rows: an empty state, and NULL quotients
SELECT tokacct.cost_per_outcome(cost, solved) FROM agg_outcome_small WHERE false;
SELECT * FROM tokacct.outcome_report('items=0 solved=0 fixed=0 cost=0 fix_cost=0');
-- nothing solved: cost per solved is NULL
SELECT tokacct.cost_per_solved('items=2 solved=0 fixed=0 cost=5 fix_cost=0'::tokacct.outcome_state) IS NULL AS ok;

-- 2. Money is exact: totals beyond one int64 amount ------------------------
-- 9223372.036854775807 is the largest amount one row may carry; ten of them
-- sum to 92233720.36854775807, beyond int64 picodollars, kept exactly.
SELECT (tokacct.outcome_report(tokacct.cost_per_outcome(9223372.036854775807, true))).ai_cost
	= 10 * 9223372.036854775807 AS ok
FROM generate_series(1, 10);
SELECT tokacct.cost_per_outcome(9223372.036854775808, true);
-- more than 12 decimals are rounded half away from zero: 0.0000000000005 -> 0.000000000001
-- (money.sql has the cases in depth)
SELECT tokacct.cost_per_outcome(0.0000000000005, true);
SELECT tokacct.cost_per_outcome('NaN', true);
SELECT tokacct.cost_per_outcome(-1, true);
SELECT tokacct.cost_per_outcome(1, true, -0.5);
SELECT tokacct.cost_per_outcome(1, true, 'Infinity');
-- every value shape the per-row decoder meets: 1 to 1,000,003 times
-- 10^-12 .. 10^0, read from a table (short varlena headers) and computed
-- (long headers); each row's state must hold exactly its value, and the
-- totals must equal numeric sums
CREATE TABLE agg_outcome_shapes AS
SELECT i AS id, round(((i * 7919) % 1000003) * 10.0 ^ (i % 13 - 12), 12) AS cost
FROM generate_series(1, 26000) i;
SELECT count(*) AS values_checked,
	   count(*) FILTER (WHERE (tokacct.outcome_report(s)).ai_cost = cost
						AND (tokacct.outcome_report(c)).ai_cost = cost) AS exact
FROM (SELECT id, cost, tokacct.cost_per_outcome(cost, true) AS s,
			 tokacct.cost_per_outcome(cost * 1 + 0, true) AS c
	  FROM agg_outcome_shapes GROUP BY id, cost) x;
SELECT (tokacct.outcome_report(tokacct.cost_per_outcome(cost, true))).ai_cost = sum(cost) AS total_exact,
	   (tokacct.outcome_report(tokacct.cost_per_outcome(-(-cost), false))).ai_cost = sum(cost) AS computed_total_exact,
	   min(cost), max(cost)
FROM agg_outcome_shapes;
-- a numeric stored out of line (a toast pointer, which also has a 1-byte
-- header) takes the slow, checking path: 10^k - 1 for k = 100..400 digits
-- is out of range, whatever the bytes of its toast pointer look like
CREATE TABLE agg_outcome_toast (k int, pad text, cost numeric);
ALTER TABLE agg_outcome_toast ALTER pad SET STORAGE PLAIN, ALTER cost SET STORAGE EXTERNAL;
INSERT INTO agg_outcome_toast
SELECT k, repeat('x', 7000), 10::numeric ^ k - 1 FROM generate_series(100, 400, 4) k;
INSERT INTO agg_outcome_toast VALUES (0, repeat('x', 7000), 1.5);
SELECT pg_relation_size(reltoastrelid) > 0 AS toasted FROM pg_class WHERE relname = 'agg_outcome_toast';
CREATE FUNCTION agg_outcome_out_of_range(k int) RETURNS bool LANGUAGE plpgsql AS $$
BEGIN
	PERFORM tokacct.cost_per_outcome(cost, true) FROM agg_outcome_toast t WHERE t.k = $1;
	RETURN false;
EXCEPTION WHEN numeric_value_out_of_range THEN
	RETURN true;
END $$;
SELECT count(*) AS values, count(*) FILTER (WHERE agg_outcome_out_of_range(k)) AS out_of_range
FROM agg_outcome_toast WHERE k > 0;
SELECT tokacct.cost_per_outcome(cost, true) FROM agg_outcome_toast WHERE k = 0;
-- trailing zeros beyond 12 decimals are fine
SELECT tokacct.cost_per_outcome(1.50000000000000000, true);

-- 3. The distribution contract on 120,000 rows -----------------------------
CREATE TABLE agg_outcome_rows AS
SELECT i AS id,
	   round((i % 9973) * 0.001234567891 + (i % 7) * 1000.5, 12) AS cost,
	   i % 3 <> 0 AS solved,
	   CASE WHEN i % 5 = 0 THEN (i % 11) * 0.75 END AS fix
FROM generate_series(1, 120000) i;
ALTER TABLE agg_outcome_rows SET (parallel_workers = 2);
ANALYZE agg_outcome_rows;

-- the independent answer, in numeric SQL (quotients with 30 decimals, then
-- rounded half up to 12, which is what tokacct promises)
CREATE TABLE agg_outcome_oracle AS
SELECT count(*) AS items,
	   count(*) FILTER (WHERE solved) AS solved,
	   sum(cost) AS ai_cost,
	   round((sum(cost) + 0.0e-30) / count(*), 12) AS cost_per_item,
	   round((sum(cost) + 0.0e-30) / count(*) FILTER (WHERE solved), 12) AS cost_per_solved,
	   count(*) FILTER (WHERE fix > 0) AS fixed_items,
	   coalesce(sum(fix), 0) AS human_fix_cost,
	   sum(cost) + coalesce(sum(fix), 0) AS total_cost,
	   round((sum(cost) + coalesce(sum(fix), 0) + 0.0e-30) / count(*) FILTER (WHERE solved), 12)
		 AS total_cost_per_solved
FROM agg_outcome_rows;

-- serially
SET max_parallel_workers_per_gather = 0;
CREATE TABLE agg_outcome_serial AS
SELECT tokacct.cost_per_outcome(cost, solved, fix) AS s FROM agg_outcome_rows;
SELECT r.items = o.items AND r.solved = o.solved AND r.ai_cost = o.ai_cost
	AND r.cost_per_item = o.cost_per_item AND r.cost_per_solved = o.cost_per_solved
	AND r.fixed_items = o.fixed_items AND r.human_fix_cost = o.human_fix_cost
	AND r.total_cost = o.total_cost AND r.total_cost_per_solved = o.total_cost_per_solved
	AND abs(r.solve_rate - o.solved::float8 / o.items) <= 1e-12 * (o.solved::float8 / o.items)
	AS serial_matches_numeric_sql
FROM agg_outcome_serial, tokacct.outcome_report(s) r, agg_outcome_oracle o;

-- under forced partial aggregation
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF)
SELECT tokacct.cost_per_outcome(cost, solved, fix) FROM agg_outcome_rows;
SELECT p.s::text = s.s::text AS parallel_equals_serial
FROM (SELECT tokacct.cost_per_outcome(cost, solved, fix) AS s FROM agg_outcome_rows) p,
	 agg_outcome_serial s;
-- the merge aggregate runs in parallel too
CREATE TABLE agg_outcome_rollup AS
SELECT id % 97 AS part, tokacct.cost_per_outcome(cost, solved, fix) AS s
FROM agg_outcome_rows GROUP BY 1;
ALTER TABLE agg_outcome_rollup SET (parallel_workers = 2);
EXPLAIN (COSTS OFF) SELECT tokacct.merge(s) FROM agg_outcome_rollup;
SELECT m.s::text = s.s::text AS parallel_merge_equals_serial
FROM (SELECT tokacct.merge(s) AS s FROM agg_outcome_rollup) m, agg_outcome_serial s;
RESET max_parallel_workers_per_gather;

-- merged from stored states, grouped as a rollup would be
SELECT m.s::text = s.s::text AS merge_equals_serial, (SELECT count(*) FROM agg_outcome_rollup) AS parts
FROM (SELECT tokacct.merge(s) AS s FROM agg_outcome_rollup) m, agg_outcome_serial s;
-- two levels of rollup: merge of merges
SELECT m.s::text = s.s::text AS merge_of_merges_equals_serial
FROM (SELECT tokacct.merge(s) AS s
	  FROM (SELECT tokacct.merge(s) AS s FROM agg_outcome_rollup GROUP BY part % 5) x) m,
	 agg_outcome_serial s;

-- 4. Combining very different states: empty, one row, many -----------------
-- empty + one row (1.5, solved) + the 120,000 rows = all of them plus one
SELECT m.s::text = a.s::text AS combine_empty_one_many
FROM (SELECT tokacct.merge(s) AS s FROM (
		SELECT 'items=0 solved=0 fixed=0 cost=0 fix_cost=0'::tokacct.outcome_state AS s
		UNION ALL SELECT tokacct.cost_per_outcome(1.5, true)
		UNION ALL SELECT NULL
		UNION ALL SELECT s FROM agg_outcome_serial) x) m,
	 (SELECT tokacct.cost_per_outcome(cost, solved, fix) AS s
	  FROM (SELECT cost, solved, fix FROM agg_outcome_rows
			UNION ALL SELECT 1.5, true, NULL) y) a;
-- millions of rows: 25 copies of the serial state (3,000,000 items) hold
-- 25 times every count and money total
SELECT r.items = 25 * o.items AND r.solved = 25 * o.solved AND r.ai_cost = 25 * o.ai_cost
	AND r.fixed_items = 25 * o.fixed_items AND r.human_fix_cost = 25 * o.human_fix_cost
	AND r.cost_per_solved = o.cost_per_solved AS twenty_five_copies_match_sql, r.items
FROM (SELECT tokacct.merge(s) AS s FROM agg_outcome_serial, generate_series(1, 25)) m,
	 tokacct.outcome_report(m.s) r, agg_outcome_oracle o;
SELECT tokacct.merge(s) FROM (SELECT NULL::tokacct.outcome_state AS s) x;
SELECT tokacct.merge(s) FROM agg_outcome_rollup WHERE false;
-- the combine function called directly does not modify its arguments
SELECT tokacct_internal.outcome_combine(a, b), a, b
FROM (SELECT 'items=1 solved=1 fixed=0 cost=1 fix_cost=0'::tokacct.outcome_state a,
			 'items=2 solved=0 fixed=1 cost=2 fix_cost=0.5'::tokacct.outcome_state b) x;

-- 5. COPY round trips, text and binary -------------------------------------
-- (files in the instance's data directory: a fixed /tmp name is shared with
-- every other test run on the machine)
SELECT current_setting('data_directory') || '/tokacct_agg_outcome.txt' AS copy_txt,
	current_setting('data_directory') || '/tokacct_agg_outcome.bin' AS copy_bin \gset
COPY agg_outcome_rollup TO :'copy_txt';
COPY agg_outcome_rollup TO :'copy_bin' (FORMAT binary);
CREATE TABLE agg_outcome_copy_t (LIKE agg_outcome_rollup);
CREATE TABLE agg_outcome_copy_b (LIKE agg_outcome_rollup);
COPY agg_outcome_copy_t FROM :'copy_txt';
COPY agg_outcome_copy_b FROM :'copy_bin' (FORMAT binary);
SELECT count(*) AS rows,
	   count(*) FILTER (WHERE r.s::text = t.s::text AND r.s::text = b.s::text) AS identical
FROM agg_outcome_rollup r JOIN agg_outcome_copy_t t USING (part) JOIN agg_outcome_copy_b b USING (part);
-- the empty state and the largest sums round-trip too: (2^63-1) rows of the
-- largest amount make (2^63-1)^2 units = 85070591730234615847396907.784232501249
SELECT s::text, tokacct_internal.outcome_state_send(s) = tokacct_internal.outcome_state_send(s::text::tokacct.outcome_state) AS same_bytes
FROM (VALUES ('items=0 solved=0 fixed=0 cost=0 fix_cost=0'::tokacct.outcome_state),
			 ('items=9223372036854775807 solved=9223372036854775807 fixed=1 cost=85070591730234615847396907.784232501249 fix_cost=9223372.036854775807')) v(s);

-- 6. Hostile text input ----------------------------------------------------
SELECT 'items=3 solved=2'::tokacct.outcome_state;
SELECT 'items=3 solved=2 fixed=0 cost=1 fix_cost=0 extra'::tokacct.outcome_state;
SELECT 'items=-1 solved=0 fixed=0 cost=0 fix_cost=0'::tokacct.outcome_state;
SELECT 'items=3 solved=4 fixed=0 cost=1 fix_cost=0'::tokacct.outcome_state;
SELECT 'items=3 solved=1 fixed=4 cost=1 fix_cost=4'::tokacct.outcome_state;
SELECT 'items=3 solved=1 fixed=0 cost=NaN fix_cost=0'::tokacct.outcome_state;
SELECT 'items=3 solved=1 fixed=0 cost=1.0000000000001 fix_cost=0'::tokacct.outcome_state;
SELECT 'items=3 solved=1 fixed=0 cost=1e5 fix_cost=0'::tokacct.outcome_state;
SELECT 'items=3 solved=1 fixed=0 cost=1. fix_cost=0'::tokacct.outcome_state;
SELECT 'items=99999999999999999999 solved=1 fixed=0 cost=1 fix_cost=0'::tokacct.outcome_state;
SELECT 'items=1 solved=1 fixed=0 cost=99999999999999999999999999999999999999 fix_cost=0'::tokacct.outcome_state;
-- a cost no 2 rows can carry (each row holds at most 9223372.036854775807)
SELECT 'items=2 solved=1 fixed=0 cost=18446744.073709551615 fix_cost=0'::tokacct.outcome_state;
SELECT 'items=0 solved=0 fixed=0 cost=0.000000000001 fix_cost=0'::tokacct.outcome_state;
SELECT 'items=2 solved=1 fixed=1 cost=1 fix_cost=0'::tokacct.outcome_state;
SELECT 'items=2 solved=1 fixed=0 cost=1 fix_cost=0.5'::tokacct.outcome_state;
SELECT ' items=2 solved=1 fixed=0 cost=1 fix_cost=0'::tokacct.outcome_state;
SELECT ''::tokacct.outcome_state;
-- sums that would overflow when merged
SELECT tokacct.merge(s) FROM (VALUES
	('items=9223372036854775807 solved=0 fixed=0 cost=0 fix_cost=0'::tokacct.outcome_state),
	('items=1 solved=0 fixed=0 cost=0 fix_cost=0')) v(s);

-- 7. Hostile binary input (COPY of crafted bytes into a state column) ------
-- A binary COPY file of a bytea column carries the raw bytes; read into an
-- outcome_state column, they go to its receive function.
CREATE TABLE agg_outcome_bytes (b bytea);
CREATE TABLE agg_outcome_recv (s tokacct.outcome_state);
CREATE FUNCTION agg_outcome_try(b bytea) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	TRUNCATE agg_outcome_bytes, agg_outcome_recv;
	INSERT INTO agg_outcome_bytes VALUES (b);
	EXECUTE format('COPY agg_outcome_bytes TO %L (FORMAT binary)', current_setting('data_directory') || '/tokacct_agg_outcome_bad.bin');
	EXECUTE format('COPY agg_outcome_recv FROM %L (FORMAT binary)', current_setting('data_directory') || '/tokacct_agg_outcome_bad.bin');
	RETURN (SELECT s::text FROM agg_outcome_recv);
EXCEPTION WHEN OTHERS THEN
	DECLARE d text;
	BEGIN
		GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
		RETURN SQLSTATE || ': ' || SQLERRM || ' / ' || d;
	END;
END $$;
-- the good bytes of items=3 solved=2 fixed=1 cost=1.5 fix_cost=2:
-- version 01, then int64 3, 2, 1, then int128 1.5e12 and 2e12 as hi, lo
SELECT tokacct_internal.outcome_state_send('items=3 solved=2 fixed=1 cost=1.5 fix_cost=2') AS good \gset
SELECT :'good' = '\x01' || '000000000000000300000000000000020000000000000001'
	|| '0000000000000000' || '0000015d3ef79800'
	|| '0000000000000000' || '000001d1a94a2000' AS layout_as_documented;
SELECT agg_outcome_try(:'good');
SELECT agg_outcome_try(substr(:'good'::bytea, 1, 56));                 -- truncated
SELECT agg_outcome_try(:'good'::bytea || '\x00'::bytea);               -- oversized
SELECT agg_outcome_try(''::bytea);                                     -- empty
SELECT agg_outcome_try(overlay(:'good'::bytea PLACING '\x02' FROM 1)); -- version
SELECT agg_outcome_try(overlay(:'good'::bytea PLACING '\xffffffffffffffff' FROM 2));  -- items = -1
SELECT agg_outcome_try(overlay(:'good'::bytea PLACING '\x0000000000000009' FROM 10)); -- solved 9 > items 3
SELECT agg_outcome_try(overlay(:'good'::bytea PLACING '\xffffffffffffffff' FROM 26)); -- cost < 0
SELECT agg_outcome_try(overlay(:'good'::bytea PLACING '\x0000000000000000' FROM 50)); -- fix_cost 0, fixed 1
