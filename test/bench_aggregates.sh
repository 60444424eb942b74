#!/usr/bin/env bash
# test/bench_aggregates.sh: speed of tokacct's aggregates, as ratios measured
# in one run (not run by CI).
#
#   bash test/bench_aggregates.sh            10M rows
#   BENCH_ROWS=1000000 bash test/bench_aggregates.sh
#
# For each aggregate it prints, serially (JIT off, no parallel workers) and
# with 2 parallel workers (JIT off):
#   vs_sql   = time of the aggregate / time of the equivalent hand-written SQL
#              (target <= 1.0)
#   vs_floor = time of the aggregate / time of the read floor, the query that
#              only reads its columns: SELECT count(col1), count(col2), ...
#              (target <= 1.2)
# The three queries of a line run in turn, BENCH_REPEAT rounds (default 5)
# after a warm-up; the fastest run of each counts, which damps noise from
# other work on the machine.
#
# Each aggregate has its own bench_* function; bench_main calls them in
# order.  To add an aggregate: load its table in a load_* function, add a
# bench_* function that calls measure for its three queries, and call both
# from bench_main.
source "$(dirname "$0")/lib.sh"

ROWS=${BENCH_ROWS:-10000000}
REPEAT=${BENCH_REPEAT:-5}

# sql for the timing helper: runs the three queries of a measurement in
# turn, REPEAT rounds after a warm-up, and returns the best ms of each
# (interleaving spreads the noise of a shared machine over all three)
timing_sql() {
	cat <<'SQL'
CREATE FUNCTION bench_ms(q text[], n int) RETURNS float8[] LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz;
	best float8[] := array_fill('Infinity'::float8, ARRAY[array_length(q, 1)]);
BEGIN
	FOR j IN 1 .. array_length(q, 1) LOOP
		EXECUTE q[j];                   -- warm-up
	END LOOP;
	FOR i IN 1 .. n LOOP
		FOR j IN 1 .. array_length(q, 1) LOOP
			t0 := clock_timestamp();
			EXECUTE q[j];
			best[j] := least(best[j], 1000 * extract(epoch FROM clock_timestamp() - t0));
		END LOOP;
	END LOOP;
	RETURN best;
END $$;
SQL
}

# measure NAME MODE AGG_SQL HAND_SQL FLOOR_SQL: print one line of ratios.
# MODE is "serial" or "parallel".
measure() {
	local name=$1 mode=$2 agg=$3 hand=$4 floor=$5 settings
	if [ "$mode" = serial ]; then
		settings="SET jit = off; SET max_parallel_workers_per_gather = 0;"
	else
		settings="SET jit = off; SET max_parallel_workers_per_gather = 2;
			SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;"
	fi
	psql_run -At -F ' ' <<SQL
$settings
SELECT format('%-26s %-8s agg %8s ms  sql %8s ms  floor %8s ms  vs_sql %5s  vs_floor %5s',
			  '$name', '$mode', round(t[1]::numeric, 0), round(t[2]::numeric, 0), round(t[3]::numeric, 0),
			  round((t[1] / t[2])::numeric, 2), round((t[1] / t[3])::numeric, 2))
FROM (SELECT bench_ms(ARRAY[\$q\$$agg\$q\$, \$q\$$hand\$q\$, \$q\$$floor\$q\$], $REPEAT) AS t) x;
SQL
}

# plan_of SQL: the parallel plan, run, to show the workers were launched
plan_of() {
	psql_run -At <<SQL | grep -E 'Aggregate|Gather|Workers|Scan' | sed 's/^ *//; s/ *(actual.*//' | tr '\n' ';'
SET jit = off; SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) $1;
SQL
	echo
}

# --- cost_per_outcome and retry_economics ------------------------------------

# One row per attempt: item, attempt number, succeeded, cost (a price-like
# numeric with up to 10 decimals), a human fix cost on 5% of the rows.
load_outcome_retry() {
	log "loading $ROWS attempt rows"
	psql_run <<SQL
CREATE TABLE bench_attempts (
	item bigint, attempt int, ok bool, cost numeric, fix numeric);
INSERT INTO bench_attempts
SELECT i / 2, CASE WHEN i % 10 < 7 THEN 1 WHEN i % 10 < 9 THEN 2 ELSE 3 + i % 40 END,
	   i % 3 <> 0,
	   ((i * 7919) % 100000) * 0.0000012345,
	   CASE WHEN i % 20 = 0 THEN (i % 97) * 0.25 END
FROM generate_series(1::bigint, $ROWS) i;
ALTER TABLE bench_attempts SET (parallel_workers = 2);
VACUUM ANALYZE bench_attempts;
SQL
}

bench_outcome_retry() {
	local mode
	for mode in serial parallel; do
		measure "cost_per_outcome(3 args)" $mode \
			"SELECT tokacct.cost_per_outcome(cost, ok, fix) FROM bench_attempts" \
			"SELECT count(*), count(*) FILTER (WHERE ok), sum(cost), count(*) FILTER (WHERE fix > 0), sum(fix) FROM bench_attempts" \
			"SELECT count(cost), count(ok), count(fix) FROM bench_attempts"
		measure "cost_per_outcome(2 args)" $mode \
			"SELECT tokacct.cost_per_outcome(cost, ok) FROM bench_attempts" \
			"SELECT count(*), count(*) FILTER (WHERE ok), sum(cost) FROM bench_attempts" \
			"SELECT count(cost), count(ok) FROM bench_attempts"
		measure "retry_economics" $mode \
			"SELECT tokacct.retry_economics(attempt, ok, cost) FROM bench_attempts" \
			"SELECT least(attempt, 32), count(*), count(*) FILTER (WHERE ok), sum(cost), sum(cost) FILTER (WHERE NOT ok), max(attempt) FROM bench_attempts GROUP BY 1" \
			"SELECT count(attempt), count(ok), count(cost) FROM bench_attempts"
	done
	echo "plan (parallel): $(plan_of 'SELECT tokacct.retry_economics(attempt, ok, cost) FROM bench_attempts')"
}

bench_main() {
	build_and_stage
	cluster_start "shared_buffers = 2GB" "max_parallel_workers = 2" \
		"max_parallel_workers_per_gather = 2" "work_mem = 64MB"
	psql_run -c 'CREATE EXTENSION tokacct'
	timing_sql | psql_run
	load_outcome_retry
	echo "# tokacct aggregate benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $ROWS rows, best of $REPEAT"
	echo "# $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); PostgreSQL $(psql_run -At -c 'SHOW server_version')"
	bench_outcome_retry
}

bench_main
