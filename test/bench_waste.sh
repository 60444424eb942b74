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
EXPLAIN (COSTS OFF) :waste;
\o /dev/null
BEGIN;
SELECT pg_temp.timeit(:'floor', 'floor', 0);
SELECT pg_temp.timeit(:'floor', 'floor_heap', 0);
SELECT pg_temp.timeit(:'waste', 'waste', 0);
SELECT pg_temp.timeit(:'floor', 'floor', 2);
SELECT pg_temp.timeit(:'floor', 'floor_heap', 2);
SELECT pg_temp.timeit(:'waste', 'waste', 2);
COMMIT;
\o
:waste;
SELECT workers, round(min(ms) FILTER (WHERE what = 'floor')) AS floor_ms,
       round(min(ms) FILTER (WHERE what = 'floor_heap')) AS floor_heap_ms,
       round(min(ms) FILTER (WHERE what = 'waste')) AS waste_ms,
       round((min(ms) FILTER (WHERE what = 'waste') / min(ms) FILTER (WHERE what = 'floor'))::numeric, 2) AS ratio_floor,
       round((min(ms) FILTER (WHERE what = 'waste') / min(ms) FILTER (WHERE what = 'floor_heap'))::numeric, 2) AS ratio_floor_heap
  FROM timing GROUP BY workers ORDER BY workers;
SQL
log "timing (best of 3)"
psql_run -f "$BUILD/bench_waste.sql" -P pager=off
