#!/usr/bin/env bash
# Benchmark: pricing 10M calls with tokacct.cost() (catalog lookup, exact
# numeric) against what a user would write instead:
#   inline  the same prices inline as numeric constants (the design bar:
#           cost() at most 1.5x this);
#   pico    a join against a price table in integer picodollars per token,
#           summed as int8 (cost() with 2 workers at least as fast: <= 1.0);
#   floor   reading the six columns (count()).
#
#   bash test/bench_pricing.sh [rows]      (default 10000000)
#   BENCH_REPEAT=N                          runs per query (default 5)
#
# One rule for every figure: each query runs BENCH_REPEAT times, the queries
# of a plan interleaved, after one warm-up run of each; a figure is the
# median of those runs (the runs are printed too).  JIT is off everywhere.
# Serial plans (max_parallel_workers_per_gather = 0) measure per-row work on
# one core; then the same with 2 parallel workers, each of which builds its
# own catalog cache.  Before timing the parallel plans, the script runs each
# under EXPLAIN ANALYZE and stops unless 2 workers were launched and
# aggregate (Partial Aggregate).  The sums must be equal exactly.
source "$(dirname "$0")/lib.sh"
ROWS=${1:-10000000}
REPEAT=${BENCH_REPEAT:-5}
build_and_stage
bench_cluster_start "shared_buffers = 256MB" "work_mem = 64MB" "jit = off" \
	"max_parallel_workers = 2" "max_parallel_workers_per_gather = 2"

echo "# tokacct pricing benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $ROWS rows, median of $REPEAT runs, JIT off"
echo "# $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); PostgreSQL $(psql_run -At -c 'SHOW server_version')"
psql_run <<SQL
\set ON_ERROR_STOP 1
SET jit = off;
CREATE EXTENSION tokacct;
\getenv shared SHARED_DATA
SELECT price_sets_added FROM tokacct.load_prices_genai(pg_read_file(:'shared' || '/genai-prices/data.json')::jsonb) \gset
-- calls of openai gpt-4o, named in each row as a ledger names them: input
-- 100..5099 tokens of which half cached, output 0..699
CREATE UNLOGGED TABLE bench_call AS
SELECT 'openai'::text AS provider, 'gpt-4o'::text AS model, (g % 5000 + 100)::int8 AS input_tokens, (g % 700)::int8 AS output_tokens,
       ((g % 5000 + 100) / 2)::int8 AS cache_read_tokens,
       '2026-08-21 00:00+00'::timestamptz + g * interval '1 second' AS at
  FROM generate_series(1, $ROWS) g;
ALTER TABLE bench_call SET (parallel_workers = 2);
-- the price table a user would keep: integer picodollars per token, each
-- row in force from its time until the next one's (every catalog model's
-- prices without customer, time of day or tiers; the catalog's mtok * 10^6)
CREATE UNLOGGED TABLE bench_price AS
SELECT provider, model, in_force_from AS valid_from,
       coalesce(lead(in_force_from) OVER (PARTITION BY provider, model ORDER BY in_force_from), 'infinity') AS valid_until,
       (input_mtok * 1000000)::int8 AS input_pico, (cache_read_mtok * 1000000)::int8 AS cache_read_pico,
       (output_mtok * 1000000)::int8 AS output_pico
  FROM tokacct.price
 WHERE catalog = 'genai-prices' AND customer IS NULL AND start_date IS NULL AND tod_start IS NULL AND variant = 0
   AND input_mtok * 1000000 = (input_mtok * 1000000)::int8 AND cache_read_mtok * 1000000 = (cache_read_mtok * 1000000)::int8
   AND output_mtok * 1000000 = (output_mtok * 1000000)::int8;
CREATE UNIQUE INDEX ON bench_price (provider, model, valid_from);
VACUUM ANALYZE bench_call;
VACUUM ANALYZE bench_price;
SET max_parallel_workers_per_gather = 0;
CREATE FUNCTION pg_temp.run(q text) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz := clock_timestamp(); BEGIN EXECUTE q; RETURN extract(epoch FROM clock_timestamp() - t0); END \$\$;
-- the plan of q, run: whether it launched 2 workers that aggregate
CREATE FUNCTION pg_temp.parallel_ok(q text) RETURNS bool LANGUAGE plpgsql AS \$\$
DECLARE l text; gather bool := false; launched bool := false;
BEGIN
	FOR l IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
		gather := gather OR l ~ 'Partial Aggregate';
		launched := launched OR l ~ 'Workers Launched: 2';
	END LOOP;
	RETURN gather AND launched;
END \$\$;
-- openai gpt-4o in genai-prices: input 2.5, cache read 1.25, output 10 per
-- million (inline: the same constants)
\set q_cost 'SELECT sum(tokacct.cost(provider, model, input_tokens, output_tokens, cache_read_tokens, 0, 0, at)) FROM bench_call'
\set q_inline 'SELECT sum((input_tokens - cache_read_tokens) * 0.0000025 + cache_read_tokens * 0.00000125 + output_tokens * 0.00001) FROM bench_call'
\set q_pico 'SELECT sum((c.input_tokens - c.cache_read_tokens) * p.input_pico + c.cache_read_tokens * p.cache_read_pico + c.output_tokens * p.output_pico) FROM bench_call c JOIN bench_price p ON p.provider = c.provider AND p.model = c.model AND c.at >= p.valid_from AND c.at < p.valid_until'
\set q_floor 'SELECT count(provider) + count(model) + count(input_tokens) + count(output_tokens) + count(cache_read_tokens) + count(at) FROM bench_call'
SELECT (SELECT sum(tokacct.cost(provider, model, input_tokens, output_tokens, cache_read_tokens, 0, 0, at)) FROM bench_call) AS cost_sum,
       (SELECT sum((input_tokens - cache_read_tokens) * 0.0000025 + cache_read_tokens * 0.00000125 + output_tokens * 0.00001) FROM bench_call) AS inline_sum,
       (SELECT sum((c.input_tokens - c.cache_read_tokens) * p.input_pico + c.cache_read_tokens * p.cache_read_pico + c.output_tokens * p.output_pico)
          FROM bench_call c JOIN bench_price p ON p.provider = c.provider AND p.model = c.model AND c.at >= p.valid_from AND c.at < p.valid_until) AS pico_sum
\gset
SELECT :'cost_sum'::numeric = :'inline_sum'::numeric AND :'cost_sum'::numeric * 1000000000000 = :'pico_sum'::numeric
       AS sums_equal_exactly, :'cost_sum' AS sum;
CREATE TEMP TABLE t (what text, ord int, secs float8);
CREATE FUNCTION pg_temp.measure(suffix text, q text[], w text[], n int) RETURNS void LANGUAGE plpgsql AS \$\$
BEGIN
	FOR j IN 1 .. array_length(q, 1) LOOP
		PERFORM pg_temp.run(q[j]);      -- warm-up
	END LOOP;
	FOR i IN 1 .. n LOOP
		FOR j IN 1 .. array_length(q, 1) LOOP
			INSERT INTO t VALUES (w[j] || suffix, i, pg_temp.run(q[j]));
		END LOOP;
	END LOOP;
END \$\$;
\o /dev/null
SELECT pg_temp.measure('', ARRAY[:'q_floor', :'q_inline', :'q_pico', :'q_cost'],
                       ARRAY['floor', 'inline', 'pico', 'cost'], $REPEAT);
\o
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SELECT pg_temp.parallel_ok(:'q_floor') AND pg_temp.parallel_ok(:'q_inline') AND pg_temp.parallel_ok(:'q_pico')
       AND pg_temp.parallel_ok(:'q_cost') AS every_parallel_plan_launched_2_workers \gset
\if :every_parallel_plan_launched_2_workers
SELECT 'every parallel row: Partial Aggregate, Workers Launched: 2 (EXPLAIN ANALYZE)' AS parallel_plans;
\else
\warn 'a parallel plan did not launch 2 workers: the parallel figures would not measure parallel work'
SELECT 1 / 0;
\endif
SELECT (SELECT sum(tokacct.cost(provider, model, input_tokens, output_tokens, cache_read_tokens, 0, 0, at)) FROM bench_call) = :'inline_sum'::numeric
       AS parallel_sum_equal;
\o /dev/null
SELECT pg_temp.measure(' parallel', ARRAY[:'q_floor', :'q_inline', :'q_pico', :'q_cost'],
                       ARRAY['floor', 'inline', 'pico', 'cost'], $REPEAT);
\o
SELECT what, string_agg(round(secs::numeric, 3)::text, ' ' ORDER BY ord) AS runs_s,
       round(percentile_disc(0.5) WITHIN GROUP (ORDER BY secs)::numeric, 3) AS median_s
  FROM t GROUP BY what ORDER BY what;
CREATE TEMP TABLE m AS SELECT what, percentile_disc(0.5) WITHIN GROUP (ORDER BY secs) AS s FROM t GROUP BY what;
SELECT $ROWS AS rows, plan,
       round((c.s / i.s)::numeric, 3) AS cost_to_inline,
       c.s / i.s <= 1.5 AS meets_1_5,
       round((c.s / p.s)::numeric, 3) AS cost_to_pico,
       c.s / p.s <= 1.0 AS meets_1_0,
       round((c.s / f.s)::numeric, 3) AS cost_to_floor
  FROM (VALUES ('serial', ''), ('parallel', ' parallel')) v(plan, sfx)
  JOIN m c ON c.what = 'cost' || v.sfx JOIN m i ON i.what = 'inline' || v.sfx
  JOIN m p ON p.what = 'pico' || v.sfx JOIN m f ON f.what = 'floor' || v.sfx
 ORDER BY plan DESC;
SQL
