-- utility_frontier: hand-worked frontiers, exactness, I/O, hostile input,
-- parallel and merged aggregation.
\pset null '(null)'

-- A hand-worked frontier over item rows.  Means per option (cost, value):
--   loss      (0.5, -1)    cheapest, negative value: frontier start
--   cheap     (1, 1)       items (1,0) (1,1) (1,2); slope from loss 2/0.5 = 4
--   mid       (2, 3)       items (2,2) (2,4); slope (3-1)/(2-1) = 2
--   mid2      (2, 3)       identical to mid: mid sorts first and stands for it
--   samecost  (2, 2.5)     same cost as mid, lower value: dominated by mid
--   mixdom    (2.5, 3.2)   above mid's value, under segment mid-collinear
--                          (3 + 0.5 * 1 = 3.5 > 3.2): dominated by the pair
--   collinear (3, 4)       slope 1 from mid
--   under     (3.5, 3.9)   collinear gives more (4) for less: dominated by it
--   top       (4, 5)       slope 1 from collinear: collinear stays on the
--                          frontier (a weakly concave chain)
--   pricey    (6, 5)       top's value for more: dominated by top
CREATE TABLE fr_items (option text, cost numeric, value numeric);
INSERT INTO fr_items VALUES
	('loss', 0.5, -1),
	('cheap', 1, 0), ('cheap', 1, 1), ('cheap', 1, 2),
	('mid', 2, 2), ('mid', 2, 4),
	('mid2', 2, 3),
	('samecost', 2, 2.5),
	('mixdom', 2.5, 3.2),
	('collinear', 3, 4),
	('under', 3.5, 3.9),
	('top', 4, 5),
	('pricey', 6, 5),
	(NULL, 1, 1), ('cheap', NULL, 1), ('cheap', 1, NULL);	-- skipped
SELECT o.* FROM (SELECT tokacct.utility_frontier(option, cost, value) AS f FROM fr_items) s,
	tokacct.frontier_options(s.f) o;

-- The state, in text: option, items, exact cost sum, exact value sum.
SELECT tokacct.utility_frontier(option, cost, value) FROM fr_items;

-- A single option: one frontier point, no marginal utility.
SELECT o.* FROM tokacct.frontier_options('{("only",4,10,12)}') o;

-- Every value negative: the cheapest still starts the frontier.
--   a (1,-2), b (2,-1): slope 1; c (3,-5) is dominated by b.
SELECT option, on_frontier, frontier_rank, marginal_utility, dominated_by
  FROM tokacct.frontier_options('{("a",1,1,-2),("b",1,2,-1),("c",1,3,-5)}');

-- Equal costs, different values: the higher value wins.
SELECT option, on_frontier, dominated_by
  FROM tokacct.frontier_options('{("x",1,1,2),("y",1,1,3)}');

-- Identical points only: the first by name stands for both.
SELECT option, on_frontier, frontier_rank, dominated_by
  FROM tokacct.frontier_options('{("q",2,2,2),("p",1,1,1)}');

-- 'human' and 'BPO' are options like any other, at their unit prices.
--   gpt (0.40, 6.00), human (9, 11): slope 5/8.6; BPO (12, 11): dominated by human.
SELECT option, mean_cost, mean_value, on_frontier,
	   marginal_utility = 5 / 8.6::float8 AS slope_ok, dominated_by
  FROM (SELECT tokacct.utility_frontier(o, c, v, n) AS f
		  FROM (VALUES ('gpt', 0.40, 6.00, 900::bigint), ('human', 9, 11, 40),
					   ('BPO', 12, 11, 60)) t(o, c, v, n)) s,
	   tokacct.frontier_options(s.f);

-- Means are rounded half away from zero to 12 decimals and the frontier is
-- computed on them: 4/3 = 1.333333333333, -2/3 = -0.666666666667.
SELECT mean_cost = round(4 / 3::numeric, 12) AS cost_ok,
	   mean_value = round(-2 / 3::numeric, 12) AS value_ok
  FROM tokacct.frontier_options('{("m",3,4,-2)}');

-- Exact at the limits, where float8 cannot tell the points apart:
-- a (0, -9000000), b (4500000, 0), c (9000000, 9000000) are collinear, so b is
-- on the frontier; one picodollar less value puts b under the segment a-c.
SELECT option, on_frontier, marginal_utility, dominated_by
  FROM tokacct.frontier_options('{("a",1,0,-9000000),("b",1,4500000,0),("c",1,9000000,9000000)}');
SELECT option, on_frontier, dominated_by
  FROM tokacct.frontier_options('{("a",1,0,-9000000),("b",1,4500000,-0.000000000001),("c",1,9000000,9000000)}');

-- The weighted form counts a row as that many items: the same state as the
-- item rows (cheap: 3 items at mean cost 1, value 1).
SELECT (SELECT tokacct.utility_frontier(o, c, v, n)::text
		  FROM (VALUES ('cheap', 1, 1, 3::bigint), ('mid', 2, 3, 2)) t(o, c, v, n))
	 = (SELECT tokacct.utility_frontier(option, cost, value)::text
		  FROM fr_items WHERE option IN ('cheap', 'mid')) AS weighted_same;

-- Options are told apart by every byte of their names, also where names
-- share their length and first and last four bytes: ab x2, abcd1234efgh,
-- abcd5678efgh, abcdXwxyz x2, abcdYwxyz, abcdefgh x2, ac.
SELECT tokacct.utility_frontier(o, 1, 1)
  FROM (VALUES ('abcdXwxyz'), ('abcdYwxyz'), ('abcdXwxyz'), ('ab'), ('ac'), ('ab'),
			   ('abcdefgh'), ('abcdefgh'), ('abcd1234efgh'), ('abcd5678efgh')) t(o);

-- No rows: NULL, like sum().
SELECT tokacct.utility_frontier(option, cost, value) IS NULL AS is_null FROM fr_items WHERE false;

-- Bad rows.
SELECT tokacct.utility_frontier(o, c, v) FROM (VALUES ('a', -1, 1)) t(o, c, v);
-- more than 12 decimals are rounded half away from zero: 1.0000000000001 -> 1
SELECT tokacct.utility_frontier(o, c, v) FROM (VALUES ('a', 1.0000000000001, 1)) t(o, c, v);
SELECT tokacct.utility_frontier(o, c, v) FROM (VALUES ('a', 'NaN'::numeric, 1)) t(o, c, v);
SELECT tokacct.utility_frontier(o, c, v) FROM (VALUES ('a', 1, 9223373)) t(o, c, v);
SELECT tokacct.utility_frontier(o, c, v) FROM (VALUES ('', 1, 1)) t(o, c, v);
SELECT tokacct.utility_frontier(o, c, v, n) FROM (VALUES ('a', 1, 1, 0::bigint)) t(o, c, v, n);
SELECT tokacct.utility_frontier(o, c, v, n) FROM (VALUES ('a', 1, 1, -5::bigint)) t(o, c, v, n);
SELECT tokacct.utility_frontier(repeat('x', 1001), 1, 1);
SELECT tokacct_internal.frontier_accum(NULL, 'a', 1, 1);

-- Text input: round trip, escapes, and hostile values.
SELECT '{ ( "a\"b\\c" , 2 , 3.5 , -1 ) , ("z",1,0,0) }'::tokacct.frontier_state;
SELECT '{}'::tokacct.frontier_state;
SELECT o.* FROM tokacct.frontier_options('{}') o;
SELECT 'x'::tokacct.frontier_state;
SELECT '{("a",1,1,1)'::tokacct.frontier_state;
SELECT '{("a",1,1,1)} x'::tokacct.frontier_state;
SELECT '{("a,1,1,1)}'::tokacct.frontier_state;
SELECT '{("",1,1,1)}'::tokacct.frontier_state;
SELECT '{("a",0,0,0)}'::tokacct.frontier_state;
SELECT '{("a",-1,1,1)}'::tokacct.frontier_state;
SELECT '{("a",1,-1,1)}'::tokacct.frontier_state;
SELECT '{("a",1,9223372.036854775808,1)}'::tokacct.frontier_state;
SELECT '{("a",2,18446744.073709551614,-18446744.073709551616)}'::tokacct.frontier_state;
SELECT '{("a",1,1,-9223372.036854775809)}'::tokacct.frontier_state;
SELECT '{("a",1,1.0000000000001,1)}'::tokacct.frontier_state;
SELECT '{("a",1,NaN,1)}'::tokacct.frontier_state;
SELECT '{("a",99999999999999999999,1,1)}'::tokacct.frontier_state;
-- A sum is read up to 2^126 money units, the bound of every state's
-- amounts: 2^126 units are read, then refused by the check against the count
-- (22P02); 2^126 + 1 units are out of range (22003); digits followed by
-- anything else are not a number (22P02), however many.
SELECT '{("a",1,85070591730234615865843651.857942052864,1)}'::tokacct.frontier_state;
\echo :LAST_ERROR_SQLSTATE
SELECT '{("a",1,1,-85070591730234615865843651.857942052865)}'::tokacct.frontier_state;
\echo :LAST_ERROR_SQLSTATE
SELECT '{("a",1,85070591730234615865843651.857942052865x,1)}'::tokacct.frontier_state;
\echo :LAST_ERROR_SQLSTATE
SELECT '{("a",1,1,1),("a",2,2,2)}'::tokacct.frontier_state;
SELECT '{("a",1,1e3,1)}'::tokacct.frontier_state;
SELECT ('{("' || repeat('x', 1001) || '",1,1,1)}')::tokacct.frontier_state;
SELECT ('{' || string_agg('("o' || i || '",1,1,1)', ',') || '}')::tokacct.frontier_state
  FROM generate_series(1, 1001) i;

-- Binary input: a bytea column's payload, read back as a frontier_state,
-- goes through the receive function.  Each of these states is hostile.
CREATE TABLE fr_bytes (id int, b bytea);
-- Layout: version byte, int32 options, then per option: name, NUL, int64
-- items, cost sum and value sum as int128 (high then low int64).
INSERT INTO fr_bytes VALUES
	-- a valid state: ("a", 1 item, cost 1 = 10^12 = 0xe8d4a51000 units, value 0)
	(1, decode('01' || '00000001' || '6100' || '0000000000000001'
		|| '0000000000000000' || '000000e8d4a51000' || '0000000000000000' || '0000000000000000', 'hex')),
	-- unknown version
	(2, decode('02' || '00000001' || '6100', 'hex')),
	-- negative number of options
	(3, decode('01' || 'ffffffff', 'hex')),
	-- truncated inside the item count
	(4, decode('01' || '00000001' || '6100' || '00000000000001', 'hex')),
	-- 0 items
	(5, decode('01' || '00000001' || '6100' || '0000000000000000' || repeat('00', 32), 'hex')),
	-- cost sum -1 unit
	(6, decode('01' || '00000001' || '6100' || '0000000000000001' || repeat('ff', 16) || repeat('00', 16), 'hex')),
	-- cost sum 2^64 units: more than 1 item can cost
	(7, decode('01' || '00000001' || '6100' || '0000000000000001'
		|| '0000000000000001' || '0000000000000000' || repeat('00', 16), 'hex')),
	-- option "a" twice
	(8, decode('01' || '00000002' || '6100' || '0000000000000001' || repeat('00', 32)
		|| '6100' || '0000000000000001' || repeat('00', 32), 'hex')),
	-- a trailing byte after an empty state
	(9, decode('01' || '00000000' || 'ff', 'hex')),
	-- claims 1,000,000 options
	(10, decode('01' || '000f4240', 'hex')),
	-- a name that is not valid UTF-8
	(11, decode('01' || '00000001' || 'ff00' || '0000000000000001' || repeat('00', 32), 'hex'));
CREATE TABLE fr_bin (f tokacct.frontier_state);
CREATE FUNCTION fr_load(int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE d text;
BEGIN
	EXECUTE format('COPY (SELECT b FROM fr_bytes WHERE id = %s) TO %L (FORMAT binary)', $1, current_setting('data_directory') || '/tokacct_fr_bytes.bin');
	TRUNCATE fr_bin;
	EXECUTE format('COPY fr_bin FROM %L (FORMAT binary)', current_setting('data_directory') || '/tokacct_fr_bytes.bin');
	RETURN (SELECT f::text FROM fr_bin);
EXCEPTION WHEN others THEN
	GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
	RETURN 'ERROR: ' || SQLERRM || coalesce(' / ' || nullif(d, ''), '');
END $$;
SELECT id, fr_load(id) FROM fr_bytes ORDER BY id;

-- COPY round trips, text and binary, of states of very different shapes.
CREATE TABLE fr_states (k int, f tokacct.frontier_state);
INSERT INTO fr_states
	SELECT 1, tokacct.utility_frontier(option, cost, value) FROM fr_items
	UNION ALL SELECT 2, '{}'
	UNION ALL SELECT 3, '{("one",1,0.000000000001,-9223372.036854775808)}'
	-- the largest sums a state may hold: (2^63-1) items at 2^63-1 and -2^63 units
	UNION ALL SELECT 4, '{("a\"b",9223372036854775807,85070591730234615847396907.784232501249,-85070591730234615856620279.821087277056)}';
-- (files in the instance's data directory: a fixed /tmp name is shared with
-- every other test run on the machine)
SELECT current_setting('data_directory') || '/tokacct_fr_states.txt' AS copy_txt,
	current_setting('data_directory') || '/tokacct_fr_states.bin' AS copy_bin \gset
COPY fr_states TO :'copy_txt';
COPY fr_states TO :'copy_bin' (FORMAT binary);
CREATE TABLE fr_text (LIKE fr_states);
CREATE TABLE fr_binary (LIKE fr_states);
COPY fr_text FROM :'copy_txt';
COPY fr_binary FROM :'copy_bin' (FORMAT binary);
SELECT s.k, s.f::text = t.f::text AS text_same, s.f::text = b.f::text AS binary_same
  FROM fr_states s JOIN fr_text t USING (k) JOIN fr_binary b USING (k) ORDER BY k;

-- Merging very different states: empty, one option, many; NULLs skipped.
--   cheap: 3 + 3 items, cost 3 + 3, value 3 + 3.
SELECT tokacct.merge(f) FROM (VALUES ('{}'::tokacct.frontier_state), (NULL),
	('{("cheap",3,3,3)}'), ((SELECT tokacct.utility_frontier(option, cost, value) FROM fr_items))) t(f);
SELECT tokacct.merge(f) IS NULL AS is_null FROM fr_states WHERE false;

-- Serial, parallel and merged from stored states: the same state.
-- 60000 items over 7 options; option k costs k/1000 + (i % 13) / 100000 and is
-- worth (i % 29) / 7 rounded to 6 decimals.
CREATE TABLE fr_big AS
	SELECT 'model-' || (i % 7) AS option,
		   (i % 7) / 1000.0 + (i % 13) / 100000.0 AS cost,
		   round((i % 29) / 7.0, 6) AS value,
		   i % 10 AS day
	  FROM generate_series(1, 60000) i;
ALTER TABLE fr_big SET (parallel_workers = 2);
ANALYZE fr_big;
CREATE TABLE fr_serial AS SELECT tokacct.utility_frontier(option, cost, value)::text AS f FROM fr_big;
-- the exact sums, by plain numeric SQL
SELECT bool_and(e.ok) AS sums_ok FROM (
	SELECT o.items = x.n AND o.mean_cost = round(x.c / x.n, 12) AND o.mean_value = round(x.v / x.n, 12) AS ok
	  FROM tokacct.frontier_options((SELECT f::tokacct.frontier_state FROM fr_serial)) o
	  JOIN (SELECT option, count(*) AS n, sum(cost) AS c, sum(value) AS v FROM fr_big GROUP BY option) x
	 USING (option)) e;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT tokacct.utility_frontier(option, cost, value) FROM fr_big;
SELECT tokacct.utility_frontier(option, cost, value)::text = (SELECT f FROM fr_serial) AS parallel_same FROM fr_big;
EXPLAIN (COSTS OFF) SELECT tokacct.utility_frontier(option, cost, value, 2) FROM fr_big;
SELECT tokacct.utility_frontier(option, cost, value, 2)::text
	 = (SELECT tokacct.utility_frontier(option, cost, value)::text FROM (SELECT * FROM fr_big UNION ALL SELECT * FROM fr_big) d) AS weighted_parallel_same
  FROM fr_big;
CREATE TABLE fr_rollup AS
	SELECT day, tokacct.utility_frontier(option, cost, value) AS f FROM fr_big GROUP BY day;
ALTER TABLE fr_rollup SET (parallel_workers = 2);
EXPLAIN (COSTS OFF) SELECT tokacct.merge(f) FROM fr_rollup;
SELECT tokacct.merge(f)::text = (SELECT f FROM fr_serial) AS merged_same FROM fr_rollup;
-- Many options (300, about 5,000 bytes of names): states grow during the
-- scan and in the combine step; still the serial answer.
CREATE TABLE fr_many AS
	SELECT 'option-number-' || (i % 300) AS option, (i % 11) / 10.0 AS cost, (i % 17) / 4.0 AS value
	  FROM generate_series(1, 30000) i;
ALTER TABLE fr_many SET (parallel_workers = 2);
ANALYZE fr_many;
EXPLAIN (COSTS OFF) SELECT tokacct.utility_frontier(option, cost, value) FROM fr_many;
SET max_parallel_workers_per_gather = 0;
CREATE TABLE fr_many_serial AS SELECT tokacct.utility_frontier(option, cost, value)::text AS f FROM fr_many;
SET max_parallel_workers_per_gather = 2;
SELECT tokacct.utility_frontier(option, cost, value)::text = (SELECT f FROM fr_many_serial) AS parallel_same,
	   (SELECT count(*) FROM tokacct.frontier_options((SELECT f::tokacct.frontier_state FROM fr_many_serial))) AS options
  FROM fr_many;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- As a window aggregate, over a moving frame: rows i-2..i, option m(i % 3)
-- with cost i % 5 and value i.
SELECT i, tokacct.utility_frontier('m' || (i % 3), i % 5, i)
		OVER (ORDER BY i ROWS BETWEEN 2 PRECEDING AND CURRENT ROW)
  FROM generate_series(1, 5) i;
