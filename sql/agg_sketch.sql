-- cost_sketch: the cost quantile sketch, its state type and merge.
--
-- Buckets (src/agg_sketch.h): key(x) = ceil(35 log2 |x|), gamma = 2^(1/35);
-- bucket k stands for 2 gamma^k / (gamma + 1), within alpha =
-- (gamma - 1)/(gamma + 1) = 0.00990177895300299 (python3) of every value in
-- it.  Quantiles interpolate as percentile_cont: h = q (n - 1), between the
-- order statistics of ranks floor(h) and floor(h) + 1; ranks 0 and n - 1 are
-- the exact min and max.  Bound: |estimate - percentile_cont| <=
-- alpha ((1 - f) |x_lo| + f |x_hi|), f = h - floor(h), which is alpha |p|
-- when both order statistics have the same sign.

-- keys worked out by hand (python3: ceil(35 * log2(x))):
--   1 -> 0, 2 -> 35, 0.5 -> -35, 1.5 -> 21 (35 * 0.58496 = 20.47),
--   0.1 -> -116 (35 * -3.32193 = -116.27), 1e-12 -> -1395, -3 -> 56 (negative)
SELECT tokacct.cost_sketch(x) FROM (VALUES (1), (2), (0.5), (1.5), (0.1), (0.000000000001), (-3), (0), (0)) v(x);
-- float8 costs: 1e15 is the largest magnitude (key 1745); below 1e-12 counts as 0
SELECT tokacct.cost_sketch(x) FROM (VALUES (1e15::float8), (4e-13), (-0.0), (1)) v(x);

-- quantiles of {1, 2, 3, 4, 100}, by hand (c = 2 / (gamma + 1) = 0.990098221046997):
--   q = 0: the exact min 1; q = 1: the exact max 100
--   q = 0.25: h = 1, rank 1 = 2 (key 35): 2 c = 1.980196442093994
--   q = 0.5: h = 2, rank 2 = 3 (key 56): 2^(56/35) c = 3.0014165522268152
--   q = 0.9: h = 3.6, ranks 3 (4, key 70: 4 c) and 4 (max 100):
--            4c + 0.6 (100 - 4c) = 61.5841571536752 (percentile_cont: 61.6)
CREATE TABLE sk_small AS SELECT x::numeric AS cost FROM (VALUES (4), (100), (1), (3), (2)) v(x);
WITH s AS (SELECT tokacct.cost_sketch(cost) AS s FROM sk_small),
     want(q, v) AS (VALUES (0.0::float8, 1.0::float8), (1, 100), (0.25, 1.980196442093994),
                           (0.5, 3.0014165522268152), (0.9, 61.5841571536752))
SELECT q, tokacct.cost_quantile(s, q) AS estimate, v AS by_hand,
       abs(tokacct.cost_quantile(s, q) - v) <= 1e-12 * v AS ok
FROM s, want ORDER BY q;
SELECT tokacct.cost_quantiles(tokacct.cost_sketch(cost), '{0.9, 0, NULL, 1}') FROM sk_small;
SELECT tokacct.cost_quantiles(tokacct.cost_sketch(cost), '{}') FROM sk_small;
-- tail ratio p95/p50: p95: h = 3.8, 4c + 0.8 (100 - 4c) = 80.79203536837; over 3.0014165522268152
SELECT abs(tokacct.tail_ratio(tokacct.cost_sketch(cost))
           - (4 * 0.990098221046997 + 0.8 * (100 - 4 * 0.990098221046997)) / 3.0014165522268152)
       <= 1e-12 * 26.9 AS tail_ratio_ok,
       tokacct.sketch_count(tokacct.cost_sketch(cost)) AS n
FROM sk_small;
-- a single value is returned exactly at every q; an empty sketch gives NULL
SELECT tokacct.cost_quantile(tokacct.cost_sketch(0.123), 0.5),
       tokacct.cost_quantile('v=1 count=0 zero=0 min=0 max=0 pos={} neg={}', 0.5) AS empty,
       tokacct.tail_ratio('v=1 count=0 zero=0 min=0 max=0 pos={} neg={}') AS empty_ratio,
       tokacct.tail_ratio(tokacct.cost_sketch(x)) AS zero_median
FROM (VALUES (0::numeric), (0), (5)) v(x);

-- deterministic lognormal (Box-Muller, mu = -4, sigma = 1.2) and Pareto
-- (x_m = 0.002, shape 1.5) costs, 100,000 each, with 9 decimals
SELECT setseed(0.42);
CREATE TABLE sk_costs AS
SELECT 'lognormal' AS dist, g AS id,
       round(exp(-4 + 1.2 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))::numeric, 9) AS cost
FROM generate_series(1, 100000) g
UNION ALL
SELECT 'pareto', g, round((0.002 / power(1 - random(), 1 / 1.5))::numeric, 9)
FROM generate_series(1, 100000) g;
-- mixed signs and zeros: refunds (negative), free calls (0), paid calls
INSERT INTO sk_costs
SELECT 'mixed', g, CASE WHEN g % 10 = 0 THEN -round((g % 97 + 1) * 0.013, 9)
                        WHEN g % 10 = 1 THEN 0
                        ELSE round(exp(((g * 7919) % 1000) / 150.0 - 5)::numeric, 9) END
FROM generate_series(1, 20000) g;
ALTER TABLE sk_costs SET (parallel_workers = 2);
ANALYZE sk_costs;
CREATE TABLE sk_qs AS SELECT unnest('{0, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1}'::float8[]) AS q;

SET max_parallel_workers_per_gather = 0;
CREATE TABLE sk_serial AS SELECT dist, tokacct.cost_sketch(cost) AS s FROM sk_costs GROUP BY dist;

-- against percentile_cont on the same costs as float8: within 1% everywhere
WITH exact AS (SELECT dist, q, percentile_cont(q) WITHIN GROUP (ORDER BY cost::float8) AS p
               FROM sk_costs, sk_qs WHERE dist <> 'mixed' GROUP BY dist, q)
SELECT dist, count(*) AS quantiles,
       count(*) FILTER (WHERE abs(tokacct.cost_quantile(s, q) - p) <= 0.01 * abs(p)) AS within_1pct,
       max(abs(tokacct.cost_quantile(s, q) - p) / p) < 0.0099018 AS max_below_alpha,
       max(abs(tokacct.cost_quantile(s, q) - p) / p) > 0.001 AS error_not_trivial
FROM exact JOIN sk_serial USING (dist) GROUP BY dist ORDER BY dist;

-- with negatives and zeros: the general bound, from the order statistics
WITH ranked AS (SELECT cost::float8 AS v, row_number() OVER (ORDER BY cost) - 1 AS r
                FROM sk_costs WHERE dist = 'mixed'),
     n AS (SELECT count(*) AS n FROM ranked),
     h AS (SELECT q, q * (n - 1) AS h, floor(q * (n - 1))::bigint AS lo FROM sk_qs, n),
     st AS (SELECT h.q, h.h - h.lo AS f, a.v AS xlo, coalesce(b.v, a.v) AS xhi
            FROM h JOIN ranked a ON a.r = h.lo LEFT JOIN ranked b ON b.r = h.lo + 1)
SELECT count(*) AS quantiles,
       count(*) FILTER (WHERE abs(tokacct.cost_quantile(s, q) - (xlo + f * (xhi - xlo)))
                              <= 0.01 * ((1 - f) * abs(xlo) + f * abs(xhi)) + 1e-15) AS within_bound
FROM st, sk_serial WHERE dist = 'mixed';
SELECT tokacct.cost_quantiles(s, '{0, 0.05, 0.1, 0.2}') AS low_quantiles
FROM sk_serial WHERE dist = 'mixed';

-- the float8 overload builds the same sketch from the same costs
SELECT count(*) AS dists,
       count(*) FILTER (WHERE f.s::text = n.s::text) AS same
FROM (SELECT dist, tokacct.cost_sketch(cost::float8) AS s FROM sk_costs GROUP BY dist) f
JOIN sk_serial n USING (dist);

-- forced partial aggregation: the same sketch
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT tokacct.cost_sketch(cost) FROM sk_costs WHERE dist = 'pareto';
SELECT (SELECT tokacct.cost_sketch(cost)::text FROM sk_costs WHERE dist = 'pareto')
     = (SELECT s::text FROM sk_serial WHERE dist = 'pareto') AS parallel_same;
SET enable_sort = off;
EXPLAIN (COSTS OFF) SELECT dist, tokacct.cost_sketch(cost) FROM sk_costs GROUP BY dist;
SELECT count(*) AS dists, count(*) FILTER (WHERE p.s::text = n.s::text) AS same
FROM (SELECT dist, tokacct.cost_sketch(cost) AS s FROM sk_costs GROUP BY dist) p
JOIN sk_serial n USING (dist);
RESET enable_sort;
RESET max_parallel_workers_per_gather;

-- states stored per dist and shard (id % 500), merged later: the same sketch
CREATE TABLE sk_rollup AS
SELECT dist, id % 500 AS shard, tokacct.cost_sketch(cost) AS s FROM sk_costs GROUP BY dist, id % 500;
SELECT count(*) AS dists, count(*) FILTER (WHERE m.s::text = n.s::text) AS same,
       sum(tokacct.sketch_count(m.s)) AS costs
FROM (SELECT dist, tokacct.merge(s) AS s FROM sk_rollup GROUP BY dist) m
JOIN sk_serial n USING (dist);
SET max_parallel_workers_per_gather = 2;
ALTER TABLE sk_rollup SET (parallel_workers = 2);
EXPLAIN (COSTS OFF) SELECT tokacct.merge(s) FROM sk_rollup WHERE dist = 'lognormal';
SELECT (SELECT tokacct.merge(s)::text FROM sk_rollup WHERE dist = 'lognormal')
     = (SELECT s::text FROM sk_serial WHERE dist = 'lognormal') AS merged_parallel_same;
RESET max_parallel_workers_per_gather;

-- COPY text and binary round trips
-- (files in the instance's data directory: a fixed /tmp name is shared with
-- every other test run on the machine)
SELECT current_setting('data_directory') || '/tokacct_sk.txt' AS sk_txt,
	current_setting('data_directory') || '/tokacct_sk.bin' AS sk_bin \gset
COPY sk_serial TO :'sk_txt';
COPY sk_serial TO :'sk_bin' (FORMAT binary);
CREATE TABLE sk_back_txt (LIKE sk_serial);
CREATE TABLE sk_back_bin (LIKE sk_serial);
COPY sk_back_txt FROM :'sk_txt';
COPY sk_back_bin FROM :'sk_bin' (FORMAT binary);
SELECT count(*) AS dists,
       count(*) FILTER (WHERE a.s::text = t.s::text AND a.s::text = b.s::text) AS same,
       count(*) FILTER (WHERE tokacct.cost_quantiles(a.s, '{0,0.5,0.95,0.99,1}')
                              = tokacct.cost_quantiles(b.s, '{0,0.5,0.95,0.99,1}')) AS same_quantiles
FROM sk_serial a JOIN sk_back_txt t USING (dist) JOIN sk_back_bin b USING (dist);
SELECT tokacct_internal.sketch_state_send(tokacct.cost_sketch(x)) FROM (VALUES (1::numeric), (0), (-0.5)) v(x);

-- combining very different states: empty, one cost, a million costs
CREATE TABLE sk_mixed (s tokacct.sketch_state);
INSERT INTO sk_mixed VALUES ('v=1 count=0 zero=0 min=0 max=0 pos={} neg={}'), (NULL);
INSERT INTO sk_mixed SELECT tokacct.cost_sketch(7.5);
INSERT INTO sk_mixed SELECT tokacct.cost_sketch(round(0.001 * (1 + g % 5000), 6)) FROM generate_series(1, 1000000) g;
INSERT INTO sk_mixed VALUES ('v=1 count=0 zero=0 min=0 max=0 pos={} neg={}');
-- the same as one sketch over the union
SELECT (SELECT tokacct.merge(s)::text FROM sk_mixed)
     = (SELECT tokacct.cost_sketch(x)::text FROM
          (SELECT 7.5 AS x UNION ALL SELECT round(0.001 * (1 + g % 5000), 6) FROM generate_series(1, 1000000) g) u)
       AS merged_same,
       (SELECT tokacct.sketch_count(tokacct.merge(s)) FROM sk_mixed) AS costs;
-- the median of 0.001 .. 5.000 (each 200 times) plus 7.5: rank 500000 is
-- 2.501 (0.001 (1 + 2500)); percentile_cont gives exactly 2.501
SELECT abs(tokacct.cost_quantile(tokacct.merge(s), 0.5) - 2.501) <= 0.01 * 2.501 AS median_ok,
       tokacct.cost_quantile(tokacct.merge(s), 1) AS max
FROM sk_mixed;
SELECT tokacct.merge(s) IS NULL AS no_rows FROM sk_mixed WHERE false;
-- states of disjoint shapes: only negatives, only zeros, only tiny, only
-- large costs, and partial states with empty edge buckets; merged in every
-- order they give the sketch of the union (keys by hand: 2e-12 -> ceil(35 *
-- -38.863) = -1360, 123.456 -> ceil(243.17) = 244, 9e6 -> ceil(808.55) = 809,
-- -0.001 -> ceil(-348.8) = -348, -2.5 -> ceil(46.27) = 47)
CREATE TABLE sk_shapes (part int, cost numeric);
INSERT INTO sk_shapes VALUES (1, -2.5), (1, -0.001), (2, 0), (2, 0), (3, 0.000000000001),
	(3, 0.000000000002), (4, 9000000), (4, 123.456), (5, 1);
CREATE TABLE sk_shape_states AS SELECT part, tokacct.cost_sketch(cost) AS s FROM sk_shapes GROUP BY part;
SELECT count(*) AS orders,
       count(*) FILTER (WHERE m = (SELECT tokacct.cost_sketch(cost)::text FROM sk_shapes)) AS same
FROM (SELECT o, (SELECT tokacct.merge(s ORDER BY (part * o) % 7)::text FROM sk_shape_states) AS m
      FROM generate_series(1, 6) o) x;
SELECT tokacct.cost_sketch(cost) FROM sk_shapes;
-- a running sketch as a window aggregate (rows 1..k)
SELECT part, tokacct.sketch_count(tokacct.cost_sketch(cost) OVER (ORDER BY part, cost)),
       tokacct.cost_quantile(tokacct.cost_sketch(cost) OVER (ORDER BY part, cost), 1) AS running_max
FROM sk_shapes ORDER BY part, cost;

-- bad input
SELECT tokacct.cost_sketch(x) FROM (VALUES ('NaN'::float8)) v(x);
SELECT tokacct.cost_sketch(x) FROM (VALUES ('Infinity'::float8)) v(x);
SELECT tokacct.cost_sketch(x) FROM (VALUES (1.0000001e15::float8)) v(x);
SELECT tokacct.cost_sketch(x) FROM (VALUES ('NaN'::numeric)) v(x);
-- more than 12 decimals are rounded half away from zero: 0.0000000000001 -> 0
SELECT tokacct.cost_sketch(x) FROM (VALUES (0.0000000000001::numeric)) v(x);
SELECT tokacct.cost_quantile(tokacct.cost_sketch(1.0), 1.5);
SELECT tokacct.cost_quantile(tokacct.cost_sketch(1.0), 'NaN');
SELECT tokacct.cost_quantile('v=1 count=0 zero=0 min=0 max=0 pos={} neg={}', -0.1);
SELECT tokacct.cost_quantiles(tokacct.cost_sketch(1.0), '{0.5, 2}');
SELECT tokacct.cost_quantiles(tokacct.cost_sketch(1.0), '{{0.5}}');
SELECT tokacct_internal.sketch_add(NULL, 1.0);
SELECT tokacct_internal.sketch_combine(NULL, NULL);
-- hostile text
SELECT 'v=2 count=0 zero=0 min=0 max=0 pos={} neg={}'::tokacct.sketch_state;
SELECT 'v=1 count=3 zero=0 min=1 max=1 pos={0:2} neg={}'::tokacct.sketch_state;
SELECT 'v=1 count=-1 zero=-1 min=0 max=0 pos={} neg={}'::tokacct.sketch_state;
SELECT 'v=1 count=0 zero=1 min=0 max=0 pos={0:-1} neg={}'::tokacct.sketch_state;
SELECT 'v=1 count=2 zero=0 min=1 max=2 pos={35:1,0:1} neg={}'::tokacct.sketch_state;
SELECT 'v=1 count=1 zero=0 min=1 max=1 pos={99999:1} neg={}'::tokacct.sketch_state;
SELECT 'v=1 count=1 zero=0 min=1.5 max=1.5 pos={0:1} neg={}'::tokacct.sketch_state;
SELECT 'v=1 count=2 zero=0 min=2 max=1 pos={0:1,35:1} neg={}'::tokacct.sketch_state;
SELECT 'v=1 count=1 zero=0 min=nan max=1 pos={0:1} neg={}'::tokacct.sketch_state;
SELECT 'v=1 count=0 zero=0 min=3 max=3 pos={} neg={}'::tokacct.sketch_state;
SELECT 'v=1 count=2 zero=0 min=1 max=1 pos={0:9223372036854775807,1:9223372036854775807} neg={}'::tokacct.sketch_state;
SELECT 'v=1 count=1 zero=0 min=1 max=1 pos={0:1} neg={} extra'::tokacct.sketch_state;
SELECT 'v=1 count=1 zero=0 min=1 max=1 pos={0:1'::tokacct.sketch_state;
SELECT 'v=1 count=1 zero=0 min=1 max=1 pos={0:1} neg={}'::tokacct.sketch_state AS valid;
-- hostile binary, through COPY (FORMAT binary) and the receive function;
-- layout: version (4) count (8) zero (8) min (8) max (8), per sign n (4) and
-- n times key (4) count (8)
CREATE TABLE sk_bytes (b bytea);
CREATE TABLE sk_recv (s tokacct.sketch_state);
CREATE FUNCTION sk_try_recv(bytes bytea) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	TRUNCATE sk_bytes, sk_recv;
	INSERT INTO sk_bytes VALUES (bytes);
	EXECUTE format('COPY sk_bytes TO %L (FORMAT binary)',
		current_setting('data_directory') || '/tokacct_sk_bytes.bin');
	EXECUTE format('COPY sk_recv FROM %L (FORMAT binary)',
		current_setting('data_directory') || '/tokacct_sk_bytes.bin');
	RETURN (SELECT s::text FROM sk_recv);
EXCEPTION WHEN OTHERS THEN
	DECLARE d text;
	BEGIN
		GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
		RETURN SQLSTATE || ': ' || SQLERRM || ' / ' || d;
	END;
END $$;
CREATE TABLE sk_one AS SELECT tokacct_internal.sketch_state_send(tokacct.cost_sketch(x)) AS b
FROM (VALUES (1::numeric), (2), (-0.5)) v(x);
SELECT sk_try_recv(b) AS valid FROM sk_one;
SELECT sk_try_recv(substr(b, 1, length(b) - 1)) AS truncated FROM sk_one;
SELECT sk_try_recv(substr(b, 1, 20)) AS truncated_header FROM sk_one;
SELECT sk_try_recv(b || '\x00'::bytea) AS trailing FROM sk_one;
SELECT sk_try_recv(overlay(b PLACING '\x00000009' FROM 1)) AS version FROM sk_one;
SELECT sk_try_recv(overlay(b PLACING '\x0000000000000004' FROM 5)) AS count FROM sk_one;
SELECT sk_try_recv(overlay(b PLACING '\x7fffffff' FROM 37)) AS bins FROM sk_one;
SELECT sk_try_recv(overlay(b PLACING '\xffffffff' FROM 37)) AS negative_bins FROM sk_one;
SELECT sk_try_recv(overlay(b PLACING '\x7ff8000000000000' FROM 21)) AS nan_min FROM sk_one;
SELECT sk_try_recv(overlay(b PLACING '\xffffffffffffffff' FROM 45)) AS negative_bucket FROM sk_one;
