#!/usr/bin/env bash
# test/bench_waste.sh: waste classification over many traces, against the
# read floor and hand-written SQL, measured in the same run.
#
#   bash test/bench_waste.sh [spans]      (default 10,000,000)
#
# Builds a span table of traces of 20 to 200 spans (a 4-ary tree of model
# and tool calls), stored in trace order with an index on trace_id, as a
# span table clustered by trace is.  Every path of the classifier is taken,
# in these shares by construction (the script prints the shares the
# classifier finds):
#   - stuck loops: 1 parent in 20 has its (up to) 4 children the same
#     successful search tool call with the same arguments (a run of 4);
#   - duplicate tool calls: 1 tool call in 12 repeats the name and
#     arguments of the tool call 3 spans before it (never its ancestor);
#   - failed calls: of the other spans, 2.5 % end in "error", 1.5 % in
#     "429" and 0.5 % in "timeout" (a failed model call followed by a
#     sibling model call is a failed attempt, else an error call; a failed
#     span with children abandons its subtree), 0.5 % are "discarded";
#   - attempt numbers on the model calls (their rank among their siblings).
# Then times, median of 3 runs each, JIT off, serially (no parallel
# workers) and with 2 workers:
#   floor: SELECT count(*), sum(n) FROM (SELECT trace_id, count(*) n ... GROUP BY trace_id)
#   floor_heap: the floor with index-only scans off, reading the rows
#   read:  count(attempt) GROUP BY trace_id: the cheapest query that reads
#          every column waste_agg reads (attempt is the table's last column)
#   collect: waste_agg alone, no classification (count(st) of the states)
#   waste: waste_agg + LATERAL waste_summary (the six classes of every trace)
#   sql_dup: hand-written SQL for one class alone: the cost of duplicate
#          tool calls per trace with a window function (row_number() over
#          the trace, tool and arguments), summed
# Before timing, the plan of the 2-worker waste query is checked with
# EXPLAIN ANALYZE: the script stops with an error unless it is a partial
# aggregation under a Gather with 2 workers launched.
# The same rows are also copied, in the same trace order, into a table
# partitioned by hash of trace_id (BENCH_PARTITIONS partitions, default 8,
# each with its own index on trace_id), where a user gets parallel waste
# with enable_partitionwise_aggregate = on: each trace lies in one
# partition, so the planner aggregates each partition whole (a full
# aggregate per partition under a Parallel Append), and each worker
# classifies whole traces and sends the leader only its sums.  On that
# table, median of 3 each, serially and with 2 workers in turn (serial, 2
# workers, serial, ...: the load of other jobs hits both alike): part_read
# (the read floor, as above) and part_waste (the waste query, the same text
# over the partitioned table).  The script stops with an error unless the
# 2-worker plan (EXPLAIN ANALYZE) is a Parallel Append of full (not
# partial) grouped aggregates under the Gather, waste_summary runs below
# the Gather too, and 2 workers were launched; and unless the answer over
# the partitioned table, serial and with 2 workers, is the serial answer
# over the plain table. Last, the memory of
# one trace of 1M spans (BENCH_BIG_TRACE spans) aggregated by waste_agg:
# the backend's peak resident memory (VmHWM in /proc/self/status) before
# and after, against the size of the state.  Not run by CI.
source "$(dirname "$0")/lib.sh"

SPANS=${1:-10000000}
BIG_TRACE=${BENCH_BIG_TRACE:-1000000}
PARTS=${BENCH_PARTITIONS:-8}
ensure_build_deps
build_and_stage
bench_cluster_start "shared_buffers = 3GB" "work_mem = 64MB" "max_parallel_workers = 2" "jit = off"

log "generating about $SPANS spans"
psql_run <<SQL
CREATE EXTENSION tokacct;
CREATE TABLE bench_spans (
	trace_id bigint, span_id text, parent_id text, kind text, name text,
	args_hash text, status text, cost numeric, started_at timestamptz, attempt int);
-- trace t has 20 + (t * 7919) % 181 spans (20..200, mean 110); span s's
-- parent is span (s + 2) / 4; h is a per-span draw in 0..999, hp the draw
-- of the parent (for loops among its children)
INSERT INTO bench_spans
SELECT t,
       lpad(to_hex(t * 256 + s), 16, '0'),
       CASE WHEN s > 1 THEN lpad(to_hex(t * 256 + (s + 2) / 4), 16, '0') END,
       CASE WHEN s = 1 THEN 'agent' WHEN lp OR s % 3 = 0 THEN 'tool' ELSE 'llm' END,
       CASE WHEN s = 1 THEN 'agent' WHEN lp THEN 'search'
            WHEN s % 3 = 0 AND dup THEN 'tool_' || ((s - 3) % 5)
            WHEN s % 3 = 0 THEN 'tool_' || (s % 5) ELSE 'model_call' END,
       CASE WHEN lp THEN 'loop_' || ((s + 2) / 4)
            WHEN s % 3 = 0 AND dup THEN 'args_' || (s - 3)
            WHEN s % 3 = 0 THEN 'args_' || s ELSE md5(s::text) END,
       CASE WHEN s = 1 OR lp THEN 'ok' WHEN h < 25 THEN 'error' WHEN h < 40 THEN '429'
            WHEN h < 45 THEN 'timeout' WHEN h < 50 THEN 'discarded' ELSE 'ok' END,
       CASE WHEN s = 1 THEN NULL ELSE (s % 97) * 0.000013 END,
       '2026-03-01'::timestamptz + t * interval '1 hour' + s * interval '1 second',
       CASE WHEN s > 1 AND NOT lp AND s % 3 <> 0 THEN (s + 2) % 4 + 1 END
  FROM generate_series(1, ($SPANS / 110)::int) t,
       generate_series(1, 20 + (t * 7919) % 181) s,
       LATERAL (SELECT (t * 2654435761 + s * 40503) % 1000 AS h,
                       s > 1 AND (s + 2) / 4 >= 2 AND (t * 2654435761 + ((s + 2) / 4) * 7) % 20 = 0 AS lp,
                       s > 3 AND (t * 97 + s * 31) % 12 = 0 AS dup) d;
CREATE INDEX ON bench_spans (trace_id);
VACUUM ANALYZE bench_spans;
SQL

log "copying the spans into a table partitioned by hash of trace_id ($PARTS partitions)"
# a sequential scan of bench_spans, from its first page (no synchronized
# scan), gives the rows in the order they were generated: each partition
# is stored in trace order too, and indexed on trace_id as bench_spans is
psql_run <<SQL
CREATE TABLE bench_spans_part (LIKE bench_spans) PARTITION BY HASH (trace_id);
SELECT format('CREATE TABLE bench_spans_part_%s PARTITION OF bench_spans_part FOR VALUES WITH (MODULUS %s, REMAINDER %s)',
              r, $PARTS, r)
  FROM generate_series(0, $PARTS - 1) r \gexec
SET synchronize_seqscans = off;
SET max_parallel_workers_per_gather = 0;
INSERT INTO bench_spans_part SELECT * FROM bench_spans;
CREATE INDEX ON bench_spans_part (trace_id);
VACUUM ANALYZE bench_spans_part;
SQL

psql_run -At <<'SQL'
SELECT 'spans ' || count(*) || ', traces ' || count(DISTINCT trace_id) || ', table ' ||
       pg_size_pretty(pg_table_size('bench_spans')) FROM bench_spans;
SELECT 'partitioned: ' || count(*) || ' partitions of ' ||
       pg_size_pretty(min(pg_table_size(relid))) || ' to ' || pg_size_pretty(max(pg_table_size(relid))) ||
       ', ' || pg_size_pretty(sum(pg_table_size(relid))) || ' in all'
  FROM pg_partition_tree('bench_spans_part') WHERE isleaf;
SQL
log "shares of the spans and of the cost per class (the classifier's answer, serial)"
psql_run -P pager=off <<'SQL'
SET max_parallel_workers_per_gather = 0;
SELECT round(100.0 * sum(error_call_spans) / sum(spans), 2) AS error_call,
       round(100.0 * sum(failed_attempt_spans) / sum(spans), 2) AS failed_attempt,
       round(100.0 * sum(abandoned_branch_spans) / sum(spans), 2) AS abandoned,
       round(100.0 * sum(stuck_loop_spans) / sum(spans), 2) AS stuck_loop,
       round(100.0 * sum(duplicate_tool_call_spans) / sum(spans), 2) AS duplicate,
       '% of spans' AS unit
  FROM (SELECT tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at, attempt) AS st
          FROM bench_spans GROUP BY trace_id) q, tokacct.waste_summary(q.st) w
UNION ALL
SELECT round(100 * sum(error_call) / sum(total), 2), round(100 * sum(failed_attempt) / sum(total), 2),
       round(100 * sum(abandoned_branch) / sum(total), 2), round(100 * sum(stuck_loop) / sum(total), 2),
       round(100 * sum(duplicate_tool_call) / sum(total), 2), '% of cost'
  FROM (SELECT tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at, attempt) AS st
          FROM bench_spans GROUP BY trace_id) q, tokacct.waste_summary(q.st) w;
SQL

cat > "$BUILD/bench_waste.sql" <<'SQL'
\set floor 'SELECT count(*), sum(n) FROM (SELECT trace_id, count(*) AS n FROM bench_spans GROUP BY trace_id) q'
\set read 'SELECT count(*), sum(n) FROM (SELECT trace_id, count(attempt) AS n FROM bench_spans GROUP BY trace_id) q'
\set collect 'SELECT count(st) FROM (SELECT trace_id, tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at, attempt) AS st FROM bench_spans GROUP BY trace_id) q'
\set waste 'SELECT count(*), sum(w.waste), sum(w.total), sum(w.duplicate_tool_call) FROM (SELECT trace_id, tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at, attempt) AS st FROM bench_spans GROUP BY trace_id) q CROSS JOIN LATERAL tokacct.waste_summary(q.st) w'
\set sql_dup 'SELECT count(*), sum(d) FROM (SELECT trace_id, sum(cost) FILTER (WHERE rn > 1) AS d FROM (SELECT trace_id, cost, row_number() OVER (PARTITION BY trace_id, name, args_hash ORDER BY started_at) AS rn FROM bench_spans WHERE kind = ''tool'') r GROUP BY trace_id) q'
-- the read floor and the waste query over the table partitioned by trace_id
\set part_read 'SELECT count(*), sum(n) FROM (SELECT trace_id, count(attempt) AS n FROM bench_spans_part GROUP BY trace_id) q'
\set part_waste 'SELECT count(*), sum(w.waste), sum(w.total), sum(w.duplicate_tool_call) FROM (SELECT trace_id, tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at, attempt) AS st FROM bench_spans_part GROUP BY trace_id) q CROSS JOIN LATERAL tokacct.waste_summary(q.st) w'
SET jit = off;
CREATE TEMP TABLE timing (what text, workers int, run int, ms float8);
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
-- the same, serial and with 2 workers in turn (0, 2, 0, 2, 0, 2), so that
-- the load of other jobs on the shared machine hits both alike
CREATE FUNCTION pg_temp.timeit_pair(q text, what text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; i int; w int;
BEGIN
	PERFORM set_config('enable_indexonlyscan', 'on', true);
	PERFORM set_config('enable_partitionwise_aggregate', CASE WHEN what LIKE 'part%' THEN 'on' ELSE 'off' END, true);
	FOR i IN 1..3 LOOP
		FOREACH w IN ARRAY ARRAY[0, 2] LOOP
			PERFORM set_config('max_parallel_workers_per_gather', w::text, true);
			t0 := clock_timestamp();
			EXECUTE q;
			INSERT INTO timing VALUES (what, w, i, 1000 * extract(epoch FROM clock_timestamp() - t0));
		END LOOP;
	END LOOP;
END $$;
-- the plan of a query, and the same with EXPLAIN ANALYZE
CREATE FUNCTION pg_temp.plan(q text, run bool) RETURNS text LANGUAGE plpgsql AS $$
DECLARE l text; r text := '';
BEGIN
	FOR l IN EXECUTE 'EXPLAIN (COSTS OFF' || CASE WHEN run THEN ', ANALYZE, TIMING OFF, SUMMARY OFF' ELSE '' END || ') ' || q LOOP
		r := r || l || E'\n';
	END LOOP;
	RETURN r;
END $$;
-- whether a node matching child is below the first node matching parent in
-- a text plan: on a later line indented deeper, before the next line
-- indented no deeper than the parent's
CREATE FUNCTION pg_temp.below(plan text, parent text, child text) RETURNS bool LANGUAGE plpgsql AS $$
DECLARE l text; d int;
BEGIN
	FOREACH l IN ARRAY string_to_array(plan, E'\n') LOOP
		IF d IS NULL THEN
			IF l ~ parent THEN d := length(l) - length(ltrim(l)); END IF;
		ELSIF length(l) - length(ltrim(l)) <= d THEN
			RETURN false;
		ELSIF l ~ child THEN
			RETURN true;
		END IF;
	END LOOP;
	RETURN false;
END $$;
SET max_parallel_workers_per_gather = 0;
\echo serial plans
EXPLAIN (COSTS OFF) :floor;
EXPLAIN (COSTS OFF) :read;
EXPLAIN (COSTS OFF) :waste;
\echo the waste query with 2 workers allowed, run once (EXPLAIN ANALYZE)
SET max_parallel_workers_per_gather = 2;
SELECT pg_temp.plan(:'waste', true) AS parallel_plan \gset
\echo :parallel_plan
-- stop unless the plan aggregates in 2 workers that really ran
SELECT :'parallel_plan' ~ 'Workers Launched: 2' AND :'parallel_plan' ~ 'Partial (Group|Hash)Aggregate'
   AS parallel_ok \gset
\if :parallel_ok
\echo the 2-worker waste plan is a partial aggregation in 2 launched workers
\else
\warn the 2-worker waste plan is not parallel (see above): stopping
SELECT 1/0 AS the_2_worker_waste_plan_is_not_parallel;
\endif
\echo the other queries with 2 workers allowed
EXPLAIN (COSTS OFF) :read;
EXPLAIN (COSTS OFF) :collect;
EXPLAIN (COSTS OFF) :sql_dup;
\echo the table partitioned by trace_id, enable_partitionwise_aggregate on: the serial waste plan
SET enable_partitionwise_aggregate = on;
SET max_parallel_workers_per_gather = 0;
EXPLAIN (COSTS OFF) :part_waste;
\echo the same with 2 workers allowed, run once (EXPLAIN ANALYZE)
SET max_parallel_workers_per_gather = 2;
SELECT pg_temp.plan(:'part_waste', true) AS part_plan \gset
\echo :part_plan
-- stop unless the workers aggregate whole partitions and classify them: a
-- Parallel Append of full aggregates grouped by trace (no partial or
-- finalize step of the grouped aggregate anywhere) and waste_summary, all
-- below the Gather, with 2 workers launched
SELECT :'part_plan' ~ 'Workers Launched: 2'
       AND pg_temp.below(:'part_plan', 'Gather', 'Parallel Append')
       AND pg_temp.below(:'part_plan', 'Parallel Append', '->  (Group|Hash)Aggregate')
       AND pg_temp.below(:'part_plan', 'Gather', 'Function Scan on waste_summary')
       AND :'part_plan' !~ '(Partial|Finalize) (Group|Hash|Mixed)Aggregate'
   AS part_ok \gset
\if :part_ok
\echo the 2-worker plan over the partitioned table aggregates whole partitions and classifies them in 2 launched workers
\else
\warn the 2-worker plan over the partitioned table is not a partition-wise aggregate in 2 workers (see above): stopping
SELECT 1/0 AS the_2_worker_partitioned_plan_is_not_partitionwise;
\endif
\echo the read floor over the partitioned table with 2 workers allowed
EXPLAIN (COSTS OFF) :part_read;
SET enable_partitionwise_aggregate = off;
SET max_parallel_workers_per_gather = 0;
\echo the answer (count, waste, total, duplicates), serial and with 2 workers (the script stops unless they are equal)
SET max_parallel_workers_per_gather = 2;
SELECT row(q.*)::text AS parallel_answer FROM (:waste) q \gset
SET max_parallel_workers_per_gather = 0;
SELECT row(q.*)::text AS serial_answer FROM (:waste) q \gset
\echo serial: :serial_answer
\echo 2 workers: :parallel_answer
SELECT :'serial_answer' = :'parallel_answer' AS same_answer \gset
\if :same_answer
\else
\warn the 2-worker answer differs from the serial one: stopping
SELECT 1/0 AS the_2_worker_answer_differs;
\endif
\echo the same over the partitioned table, serial and with 2 workers (the script stops unless both are the serial answer above)
SET enable_partitionwise_aggregate = on;
SELECT row(q.*)::text AS part_serial_answer FROM (:part_waste) q \gset
SET max_parallel_workers_per_gather = 2;
SELECT row(q.*)::text AS part_parallel_answer FROM (:part_waste) q \gset
SET max_parallel_workers_per_gather = 0;
SET enable_partitionwise_aggregate = off;
\echo partitioned, serial: :part_serial_answer
\echo partitioned, 2 workers: :part_parallel_answer
SELECT :'serial_answer' = :'part_serial_answer' AND :'serial_answer' = :'part_parallel_answer' AS part_same_answer \gset
\if :part_same_answer
\else
\warn an answer over the partitioned table differs from the serial one over the plain table: stopping
SELECT 1/0 AS the_partitioned_answer_differs;
\endif
\o /dev/null
BEGIN;
SELECT pg_temp.timeit(:'floor', 'floor', 0);
SELECT pg_temp.timeit(:'floor', 'floor_heap', 0);
SELECT pg_temp.timeit(:'read', 'read', 0);
SELECT pg_temp.timeit(:'collect', 'collect', 0);
SELECT pg_temp.timeit(:'waste', 'waste', 0);
SELECT pg_temp.timeit(:'sql_dup', 'sql_dup', 0);
SELECT pg_temp.timeit(:'floor', 'floor', 2);
SELECT pg_temp.timeit(:'floor', 'floor_heap', 2);
SELECT pg_temp.timeit(:'read', 'read', 2);
SELECT pg_temp.timeit(:'collect', 'collect', 2);
SELECT pg_temp.timeit(:'waste', 'waste', 2);
SELECT pg_temp.timeit(:'sql_dup', 'sql_dup', 2);
SELECT pg_temp.timeit_pair(:'part_read', 'part_read');
SELECT pg_temp.timeit_pair(:'part_waste', 'part_waste');
COMMIT;
\o
CREATE TEMP VIEW med AS
SELECT workers, what, percentile_disc(0.5) WITHIN GROUP (ORDER BY ms) AS ms FROM timing GROUP BY workers, what;
CREATE FUNCTION pg_temp.ms(w int, x text) RETURNS float8 LANGUAGE sql
	AS $$ SELECT ms FROM med WHERE workers = w AND what = x $$;
\echo times in ms, median of 3
SELECT workers, round(pg_temp.ms(workers, 'floor')) AS floor, round(pg_temp.ms(workers, 'floor_heap')) AS floor_heap,
       round(pg_temp.ms(workers, 'read')) AS read, round(pg_temp.ms(workers, 'collect')) AS collect,
       round(pg_temp.ms(workers, 'waste')) AS waste, round(pg_temp.ms(workers, 'sql_dup')) AS sql_dup
  FROM (VALUES (0), (2)) v(workers) ORDER BY workers;
\echo the waste query against each floor and the hand-written SQL for duplicates alone (bar: at most 2 against read)
SELECT workers,
       round((pg_temp.ms(workers, 'waste') / pg_temp.ms(workers, 'floor'))::numeric, 2) AS vs_floor,
       round((pg_temp.ms(workers, 'waste') / pg_temp.ms(workers, 'floor_heap'))::numeric, 2) AS vs_floor_heap,
       round((pg_temp.ms(workers, 'waste') / pg_temp.ms(workers, 'read'))::numeric, 2) AS vs_read,
       round((pg_temp.ms(workers, 'waste') / pg_temp.ms(workers, 'sql_dup'))::numeric, 2) AS vs_sql_dup
  FROM (VALUES (0), (2)) v(workers) ORDER BY workers;
\echo 2 workers against serial (below 1: faster with 2 workers)
SELECT round((pg_temp.ms(2, 'waste') / pg_temp.ms(0, 'waste'))::numeric, 2) AS waste,
       round((pg_temp.ms(2, 'read') / pg_temp.ms(0, 'read'))::numeric, 2) AS read,
       round((pg_temp.ms(2, 'sql_dup') / pg_temp.ms(0, 'sql_dup'))::numeric, 2) AS sql_dup;
\echo the table partitioned by trace_id, enable_partitionwise_aggregate on: times in ms, median of 3
SELECT workers, round(pg_temp.ms(workers, 'part_read')) AS read, round(pg_temp.ms(workers, 'part_waste')) AS waste
  FROM (VALUES (0), (2)) v(workers) ORDER BY workers;
\echo the waste query over the partitioned table against its read floor (bar: at most 2) and against the serial waste query over the plain table
SELECT workers,
       round((pg_temp.ms(workers, 'part_waste') / pg_temp.ms(workers, 'part_read'))::numeric, 2) AS vs_read,
       round((pg_temp.ms(workers, 'part_waste') / pg_temp.ms(0, 'waste'))::numeric, 2) AS vs_plain_serial
  FROM (VALUES (0), (2)) v(workers) ORDER BY workers;
\echo partitioned, 2 workers against serial (bar: below 1)
SELECT round((pg_temp.ms(2, 'part_waste') / pg_temp.ms(0, 'part_waste'))::numeric, 2) AS waste,
       round((pg_temp.ms(2, 'part_read') / pg_temp.ms(0, 'part_read'))::numeric, 2) AS read;
SQL
log "timing (median of 3)"
psql_run -f "$BUILD/bench_waste.sql" -P pager=off

# one trace of BIG_TRACE spans, generated on the fly (no table: the table's
# pages would count in the resident memory); work_mem is small so that the
# function scan's rows go to a temporary file, not to memory
log "memory of one trace of $BIG_TRACE spans"
psql_run -P pager=off <<SQL
SET work_mem = '1MB';
SET max_parallel_workers_per_gather = 0;
CREATE FUNCTION pg_temp.hwm() RETURNS bigint LANGUAGE sql AS
\$\$ SELECT substring(pg_read_file('/proc/self/status') FROM 'VmHWM:\s+(\d+) kB')::bigint * 1024 \$\$;
CREATE FUNCTION pg_temp.big(n int) RETURNS bigint LANGUAGE sql AS \$\$
SELECT pg_column_size(tokacct.waste_agg(lpad(to_hex(s), 16, '0'),
         CASE WHEN s > 1 THEN lpad(to_hex((s + 2) / 4), 16, '0') END,
         CASE WHEN s % 3 = 0 THEN 'tool' ELSE 'llm' END,
         CASE WHEN s % 3 = 0 THEN 'tool_' || (s % 5) ELSE 'model_call' END,
         CASE WHEN s % 3 = 0 THEN 'args_' || s ELSE 'm' END,
         'ok', (s % 97) * 0.000013, '2026-03-01'::timestamptz + s * interval '1 ms', NULL::int))
  FROM generate_series(1, n) s \$\$;
SELECT pg_temp.big(1000);
SELECT pg_temp.hwm() AS before \gset
SELECT pg_temp.big($BIG_TRACE) AS state_bytes \gset
SELECT pg_temp.hwm() AS after \gset
SELECT $BIG_TRACE AS spans, pg_size_pretty(:state_bytes::bigint) AS state,
       pg_size_pretty(:before::bigint) AS vmhwm_before, pg_size_pretty(:after::bigint) AS vmhwm_after,
       round((:after - :before)::numeric / :state_bytes, 2) AS peak_growth_vs_state;
SQL
