#!/usr/bin/env bash
# Benchmark: pricing 10M calls with tokacct.cost() (catalog lookup, exact
# numeric) against inline arithmetic with the same prices as constants.
# The design bar: cost() at most 1.5x the inline arithmetic, in one run.
#
#   bash test/bench_pricing.sh [rows]      (default 10000000)
#
# Serial plans (max_parallel_workers_per_gather = 0) measure per-row work on
# one core; then the same with 2 parallel workers (each worker builds its own
# catalog cache).  Each query runs three times, alternating; ratios are
# taken between the medians.  The sums must be equal exactly.
source "$(dirname "$0")/lib.sh"
ROWS=${1:-10000000}
build_and_stage
cluster_start "shared_buffers = 256MB" "work_mem = 64MB"

psql_run <<SQL
\set ON_ERROR_STOP 1
CREATE EXTENSION tokacct;
\getenv shared SHARED_DATA
SELECT price_sets_added FROM tokacct.load_prices_genai(pg_read_file(:'shared' || '/genai-prices/data.json')::jsonb) \gset
-- calls: input 100..5099 tokens of which half cached, output 0..699
CREATE UNLOGGED TABLE bench_call AS
SELECT (g % 5000 + 100)::int8 AS input_tokens, (g % 700)::int8 AS output_tokens,
       ((g % 5000 + 100) / 2)::int8 AS cache_read_tokens,
       '2026-08-21 00:00+00'::timestamptz + g * interval '1 second' AS at
  FROM generate_series(1, $ROWS) g;
VACUUM ANALYZE bench_call;
SET max_parallel_workers_per_gather = 0;
SET jit = off;
CREATE FUNCTION pg_temp.run(q text) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz := clock_timestamp(); BEGIN EXECUTE q; RETURN extract(epoch FROM clock_timestamp() - t0); END \$\$;
-- openai gpt-4o in genai-prices: input 2.5, cache read 1.25, output 10 per million
\set q_cost 'SELECT sum(tokacct.cost(''openai'', ''gpt-4o'', input_tokens, output_tokens, cache_read_tokens, 0, 0, at)) FROM bench_call'
\set q_inline 'SELECT sum((input_tokens - cache_read_tokens) * 0.0000025 + cache_read_tokens * 0.00000125 + output_tokens * 0.00001) FROM bench_call'
\set q_floor 'SELECT count(input_tokens) + count(output_tokens) + count(cache_read_tokens) + count(at) FROM bench_call'
SELECT (SELECT sum(tokacct.cost('openai', 'gpt-4o', input_tokens, output_tokens, cache_read_tokens, 0, 0, at)) FROM bench_call) AS cost_sum,
       (SELECT sum((input_tokens - cache_read_tokens) * 0.0000025 + cache_read_tokens * 0.00000125 + output_tokens * 0.00001) FROM bench_call) AS inline_sum
\gset
SELECT :'cost_sum'::numeric = :'inline_sum'::numeric AS sums_equal_exactly, :'cost_sum' AS sum;
CREATE TEMP TABLE t (what text, ord int, secs float8);
INSERT INTO t SELECT 'floor', 1, pg_temp.run(:'q_floor');
INSERT INTO t SELECT 'inline', 1, pg_temp.run(:'q_inline');
INSERT INTO t SELECT 'cost', 1, pg_temp.run(:'q_cost');
INSERT INTO t SELECT 'inline', 2, pg_temp.run(:'q_inline');
INSERT INTO t SELECT 'cost', 2, pg_temp.run(:'q_cost');
INSERT INTO t SELECT 'inline', 3, pg_temp.run(:'q_inline');
INSERT INTO t SELECT 'cost', 3, pg_temp.run(:'q_cost');
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SELECT (SELECT sum(tokacct.cost('openai', 'gpt-4o', input_tokens, output_tokens, cache_read_tokens, 0, 0, at)) FROM bench_call) = :'inline_sum'::numeric
       AS parallel_sum_equal;
INSERT INTO t SELECT 'inline parallel', 1, pg_temp.run(:'q_inline');
INSERT INTO t SELECT 'cost parallel', 1, pg_temp.run(:'q_cost');
INSERT INTO t SELECT 'inline parallel', 2, pg_temp.run(:'q_inline');
INSERT INTO t SELECT 'cost parallel', 2, pg_temp.run(:'q_cost');
INSERT INTO t SELECT 'inline parallel', 3, pg_temp.run(:'q_inline');
INSERT INTO t SELECT 'cost parallel', 3, pg_temp.run(:'q_cost');
SELECT what, string_agg(round(secs::numeric, 3)::text, ' ' ORDER BY ord) AS runs_s,
       round(percentile_disc(0.5) WITHIN GROUP (ORDER BY secs)::numeric, 3) AS median_s
  FROM t GROUP BY what ORDER BY what;
CREATE TEMP TABLE m AS SELECT what, percentile_disc(0.5) WITHIN GROUP (ORDER BY secs) AS s FROM t GROUP BY what;
SELECT $ROWS AS rows, plan,
       round((c.s / i.s)::numeric, 3) AS ratio_cost_to_inline,
       c.s / i.s <= 1.5 AS meets_bar_1_5
  FROM (VALUES ('serial', 'cost', 'inline'), ('parallel', 'cost parallel', 'inline parallel')) v(plan, cw, iw)
  JOIN m c ON c.what = v.cw JOIN m i ON i.what = v.iw
 ORDER BY plan DESC;
SQL
