#!/usr/bin/env bash
# test/bench_waste.sh: waste classification over many traces, against the
# read floor count(*) ... GROUP BY trace_id, measured in the same run.
#
#   bash test/bench_waste.sh [spans]      (default 10,000,000)
#
# Builds a span table of traces of 20 to 200 spans (a 4-ary tree of model and
# tool calls with some failures, rate limits, repeated tool calls and a
# retried attempt), stored in trace order with an index on trace_id, as a
# span table clustered by trace is.  Then times, best of 3:
#   floor: SELECT count(*), sum(n) FROM (SELECT trace_id, count(*) n ... GROUP BY trace_id)
#   waste: SELECT count(*), sum(waste) FROM (SELECT trace_id, waste_agg(...) ... GROUP BY trace_id)
#          CROSS JOIN LATERAL waste_summary(st)    (aggregate + full classification)
#   floor_heap: the floor with index-only scans off, so that it reads the
#          table's rows as the waste query must
#   read:  SELECT count(*), sum(n) FROM (SELECT trace_id, count(attempt) n ... GROUP BY trace_id)
#          the cheapest query that reads every column waste_agg reads
#          (attempt is the table's last column, so every column is deformed)
#   collect: waste_agg alone, no classification (count(st) of the states)
# each with the plan the planner picks, serially (no parallel workers) and
# with 2 workers, and prints the ratios.  Not run by CI.
source "$(dirname "$0")/lib.sh"

SPANS=${1:-10000000}
ensure_build_deps
build_and_stage
cluster_start "shared_buffers = 3GB" "work_mem = 64MB" "max_parallel_workers = 2" "jit = off"

log "generating about $SPANS spans"
psql_run <<SQL
CREATE EXTENSION tokacct;
CREATE TABLE bench_spans (
	trace_id bigint, span_id text, parent_id text, kind text, name text,
	args_hash text, status text, cost numeric, started_at timestamptz, attempt int);
-- trace t has 20 + (t * 7919) % 181 spans (20..200, mean 110)
INSERT INTO bench_spans
SELECT t,
       lpad(to_hex(t * 256 + s), 16, '0'),
       CASE WHEN s > 1 THEN lpad(to_hex(t * 256 + (s + 2) / 4), 16, '0') END,
       CASE WHEN s = 1 THEN 'agent' WHEN s % 3 = 0 THEN 'tool' ELSE 'llm' END,
       CASE WHEN s % 3 = 0 THEN 'tool_' || (s % 5) ELSE 'model_call' END,
       CASE WHEN s % 3 = 0 THEN 'args_' || (s % 13) ELSE md5(s::text) END,
       CASE WHEN s % 37 = 0 THEN 'error' WHEN s % 41 = 0 THEN '429' ELSE 'ok' END,
       CASE WHEN s = 1 THEN NULL ELSE (s % 97) * 0.000013 END,
       '2026-03-01'::timestamptz + t * interval '1 hour' + s * interval '1 second',
       NULL
  FROM generate_series(1, ($SPANS / 110)::int) t,
       generate_series(1, 20 + (t * 7919) % 181) s;
CREATE INDEX ON bench_spans (trace_id);
VACUUM ANALYZE bench_spans;
SQL

psql_run -At <<'SQL'
SELECT 'spans ' || count(*) || ', traces ' || count(DISTINCT trace_id) || ', table ' ||
       pg_size_pretty(pg_table_size('bench_spans')) FROM bench_spans;
SQL

cat > "$BUILD/bench_waste.sql" <<'SQL'
\set floor 'SELECT count(*), sum(n) FROM (SELECT trace_id, count(*) AS n FROM bench_spans GROUP BY trace_id) q'
\set read 'SELECT count(*), sum(n) FROM (SELECT trace_id, count(attempt) AS n FROM bench_spans GROUP BY trace_id) q'
\set collect 'SELECT count(st) FROM (SELECT trace_id, tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at, attempt) AS st FROM bench_spans GROUP BY trace_id) q'
\set waste 'SELECT count(*), sum(w.waste) FROM (SELECT trace_id, tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at, attempt) AS st FROM bench_spans GROUP BY trace_id) q CROSS JOIN LATERAL tokacct.waste_summary(q.st) w'
CREATE TEMP TABLE timing (what text, workers int, run int, ms float8);
-- best of 3; "floor_heap" is the same count(*) query with index-only scans
-- off, so that it reads the table's rows as the waste query must
CREATE FUNCTION pg_temp.timeit(q text, what text, workers int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; i int;
BEGIN
	PERFORM set_config('max_parallel_workers_per_gather', workers::text, true);
	PERFORM set_config('enable_indexonlyscan', CASE WHEN what = 'floor_heap' THEN 'off' ELSE 'on' END, true);
	FOR i IN 1..3 LOOP
		t0 := clock_timestamp();
		EXECUTE q;
		INSERT INTO timing VALUES (what, workers, i, 1000 * extract(epoch FROM clock_timestamp() - t0));
	END LOOP;
END $$;
SET max_parallel_workers_per_gather = 0;
EXPLAIN (COSTS OFF) :floor;
SET enable_indexonlyscan = off;
EXPLAIN (COSTS OFF) :floor;
RESET enable_indexonlyscan;
EXPLAIN (COSTS OFF) :read;
EXPLAIN (COSTS OFF) :waste;
\echo the waste query with 2 workers allowed: the cost of waste_combine keeps it serial
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) :waste;
SET max_parallel_workers_per_gather = 0;
\o /dev/null
BEGIN;
SELECT pg_temp.timeit(:'floor', 'floor', 0);
SELECT pg_temp.timeit(:'floor', 'floor_heap', 0);
SELECT pg_temp.timeit(:'read', 'read', 0);
SELECT pg_temp.timeit(:'collect', 'collect', 0);
SELECT pg_temp.timeit(:'waste', 'waste', 0);
SELECT pg_temp.timeit(:'floor', 'floor', 2);
SELECT pg_temp.timeit(:'floor', 'floor_heap', 2);
SELECT pg_temp.timeit(:'read', 'read', 2);
SELECT pg_temp.timeit(:'collect', 'collect', 2);
SELECT pg_temp.timeit(:'waste', 'waste', 2);
COMMIT;
\o
:waste;
CREATE TEMP VIEW best AS
SELECT workers, what, min(ms) AS ms FROM timing GROUP BY workers, what;
CREATE FUNCTION pg_temp.ms(w int, x text) RETURNS float8 LANGUAGE sql
	AS $$ SELECT ms FROM best WHERE workers = w AND what = x $$;
\echo times in ms, best of 3
SELECT workers, round(pg_temp.ms(workers, 'floor')) AS floor, round(pg_temp.ms(workers, 'floor_heap')) AS floor_heap,
       round(pg_temp.ms(workers, 'read')) AS read, round(pg_temp.ms(workers, 'collect')) AS collect,
       round(pg_temp.ms(workers, 'waste')) AS waste
  FROM (VALUES (0), (2)) v(workers) ORDER BY workers;
\echo the waste query against each floor (the bar: at most 3 against count(*) GROUP BY trace_id)
SELECT workers,
       round((pg_temp.ms(workers, 'waste') / pg_temp.ms(workers, 'floor'))::numeric, 2) AS vs_floor,
       round((pg_temp.ms(workers, 'waste') / pg_temp.ms(workers, 'floor_heap'))::numeric, 2) AS vs_floor_heap,
       round((pg_temp.ms(workers, 'waste') / pg_temp.ms(workers, 'read'))::numeric, 2) AS vs_read,
       round((pg_temp.ms(workers, 'read') / pg_temp.ms(workers, 'floor'))::numeric, 2) AS read_vs_floor
  FROM (VALUES (0), (2)) v(workers) ORDER BY workers;
SQL
log "timing (best of 3)"
psql_run -f "$BUILD/bench_waste.sql" -P pager=off
