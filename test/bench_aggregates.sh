#!/usr/bin/env bash
# test/bench_aggregates.sh: speed of tokacct's aggregates, as ratios measured
# in one run (not run by CI).
#
#   bash test/bench_aggregates.sh            10M rows
#   BENCH_ROWS=1000000 bash test/bench_aggregates.sh
#   BENCH_ONLY=by_item bash test/bench_aggregates.sh
#                                            only the rows grouped by item
#                                            (both tables, below), about
#                                            half an hour at 10M rows
#
# For each aggregate it prints, serially (JIT off, no parallel workers) and
# with 2 parallel workers (JIT off):
#   vs_sql   = time of the aggregate / time of the equivalent hand-written SQL
#              (target <= 1.0)
#   vs_floor = time of the aggregate / time of the read floor, the query that
#              only reads its columns: SELECT count(col1), count(col2), ...
#              (target <= 1.2)
# ungrouped, and grouped by a team column (1,000 groups, a hash aggregate;
# with workers, partial hash aggregates in the workers) against the same
# hand-written SQL and floor grouped the same way; serially also grouped by
# item (two rows a group), where what a group costs shows.
# retry_economics by item is also timed on a second table of ROWS rows,
# bench_item_attempts, whose items are numbered as tokacct's attempts views
# give them: attempts 1..n in order, n = 1 for 70% of the items, 2 for 20%,
# 3 for 8% and 4 to 6 for 2% (1.44 rows an item, about ROWS / 1.44
# items), every attempt but the last failed, and the last succeeded for 9
# items in 10.  In bench_attempts a fifth of the items has two rows
# numbered (2, 12), (2, 22), (2, 32) or (2, 42), which no source of
# tokacct's gives; its row is kept as it was so that its figures stay
# comparable, and repeated with the three queries' results read within the
# query (a count of each column) rather than kept by EXECUTE.
# One rule for every figure: the three queries of a line run in turn,
# BENCH_REPEAT rounds (default 5) after a warm-up, and each figure is the
# median of its runs.  JIT is off everywhere.  Before timing a parallel
# line, each of its three queries runs under EXPLAIN ANALYZE and the script
# stops unless the plan launched 2 workers and aggregates in them (Partial
# Aggregate / Partial HashAggregate).
#
# Each aggregate has its own bench_* function; bench_main calls them in
# order.  To add an aggregate: load its table in a load_* function, add a
# bench_* function that calls measure for its three queries, and call both
# from bench_main.
source "$(dirname "$0")/lib.sh"

ROWS=${BENCH_ROWS:-10000000}
REPEAT=${BENCH_REPEAT:-5}

# sql for the timing helpers: bench_ms runs the three queries of a
# measurement in turn, REPEAT rounds after a warm-up, and returns the median
# ms of each (interleaving spreads the noise of a shared machine over all
# three); bench_parallel_ok tells whether a query's plan, run, launched 2
# workers that aggregate
timing_sql() {
	cat <<'SQL'
CREATE FUNCTION bench_ms(q text[], n int) RETURNS float8[] LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz;
	runs float8[] := '{}';
	med float8[] := '{}';
BEGIN
	FOR j IN 1 .. array_length(q, 1) LOOP
		EXECUTE q[j];                   -- warm-up
	END LOOP;
	FOR i IN 1 .. n LOOP
		FOR j IN 1 .. array_length(q, 1) LOOP
			t0 := clock_timestamp();
			EXECUTE q[j];
			runs := runs || ARRAY[j::float8, 1000 * extract(epoch FROM clock_timestamp() - t0)];
		END LOOP;
	END LOOP;
	FOR j IN 1 .. array_length(q, 1) LOOP
		med := med || (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY runs[2 * k])
						 FROM generate_series(1, n * array_length(q, 1)) k WHERE runs[2 * k - 1] = j);
	END LOOP;
	RETURN med;
END $$;
CREATE FUNCTION bench_parallel_ok(q text) RETURNS bool LANGUAGE plpgsql AS $$
DECLARE l text; partial bool := false; launched bool := false;
BEGIN
	FOR l IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
		partial := partial OR l ~ 'Partial (Hash|Group)?Aggregate';
		launched := launched OR l ~ 'Workers Launched: 2';
	END LOOP;
	RETURN partial AND launched;
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
			SET parallel_setup_cost = 0;"
	fi
	if [ "$mode" = parallel ]; then
		psql_run -At <<SQL
$settings
DO \$do\$ BEGIN
	IF NOT (bench_parallel_ok(\$q\$$agg\$q\$) AND bench_parallel_ok(\$q\$$hand\$q\$) AND bench_parallel_ok(\$q\$$floor\$q\$)) THEN
		RAISE EXCEPTION 'a parallel plan of "$name" did not aggregate in 2 launched workers';
	END IF;
END \$do\$;
SQL
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
SET parallel_setup_cost = 0;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) $1;
SQL
	echo
}

# --- cost_per_outcome and retry_economics ------------------------------------

# One row per attempt: item, team (item % 1000), attempt number, succeeded,
# cost (a price-like numeric with up to 10 decimals), a human fix cost on 5%
# of the rows.
load_outcome_retry() {
	log "loading $ROWS attempt rows"
	psql_run <<SQL
CREATE TABLE bench_attempts (
	item bigint, team int, attempt int, ok bool, cost numeric, fix numeric);
INSERT INTO bench_attempts
SELECT i / 2, (i / 2 % 1000)::int, CASE WHEN i % 10 < 7 THEN 1 WHEN i % 10 < 9 THEN 2 ELSE 3 + i % 40 END,
	   i % 3 <> 0,
	   ((i * 7919) % 100000) * 0.0000012345,
	   CASE WHEN i % 20 = 0 THEN (i % 97) * 0.25 END
FROM generate_series(1::bigint, $ROWS) i;
ALTER TABLE bench_attempts SET (parallel_workers = 2);
VACUUM ANALYZE bench_attempts;
SQL
}

# Attempt rows as tokacct's sources give them (see the header): item,
# team (item % 1000), attempt 1..n, succeeded on the last attempt of 9
# items in 10 and never before, cost and fix as in bench_attempts (from the
# row's number i).  Exactly ROWS rows: the items come in order and the
# last one may lose its last attempts (its rows are still numbered 1..k).
load_item_attempts() {
	log "loading $ROWS attempt rows numbered 1..n per item"
	psql_run <<SQL
CREATE TABLE bench_item_attempts (
	item bigint, team int, attempt int, ok bool, cost numeric, fix numeric);
INSERT INTO bench_item_attempts
SELECT item, (item % 1000)::int, a, a = n AND item % 10 <> 0,
	   ((i * 7919) % 100000) * 0.0000012345,
	   CASE WHEN i % 20 = 0 THEN (i % 97) * 0.25 END
FROM (SELECT item, a, n, row_number() OVER () AS i
	  FROM (SELECT item, CASE WHEN item * 7919 % 100 < 70 THEN 1
							  WHEN item * 7919 % 100 < 90 THEN 2
							  WHEN item * 7919 % 100 < 98 THEN 3
							  ELSE 4 + item % 3 END AS n
			FROM generate_series(1::bigint, ($ROWS / 1.4)::bigint + 100) item) g,
		   generate_series(1, n) a
	  LIMIT $ROWS) r;
VACUUM ANALYZE bench_item_attempts;
SQL
}

# many small groups, serial plans only, as the planner keeps them: two rows
# an item in bench_attempts, 1.44 in bench_item_attempts
bench_by_item() {
	measure "cost_per_outcome by item" serial \
		"SELECT item, tokacct.cost_per_outcome(cost, ok, fix) FROM bench_attempts GROUP BY item" \
		"SELECT item, count(*), count(*) FILTER (WHERE ok), sum(cost), count(*) FILTER (WHERE fix > 0), sum(fix) FROM bench_attempts GROUP BY item" \
		"SELECT item, count(cost), count(ok), count(fix) FROM bench_attempts GROUP BY item"
	measure "retry_economics by item" serial \
		"SELECT item, tokacct.retry_economics(attempt, ok, cost) FROM bench_attempts GROUP BY item" \
		"SELECT item, least(attempt, 32), count(*), count(*) FILTER (WHERE ok), sum(cost), sum(cost) FILTER (WHERE NOT ok), max(attempt) FROM bench_attempts GROUP BY 1, 2" \
		"SELECT item, count(attempt), count(ok), count(cost) FROM bench_attempts GROUP BY item"
	# the same three read within the query (a count of each result column)
	# instead of handed to PL/pgSQL's EXECUTE, which keeps every result row
	# in memory: a gapped item's final state is 592 to 1,552 bytes
	measure "retry_economics by item, read" serial \
		"SELECT count(s) FROM (SELECT item, tokacct.retry_economics(attempt, ok, cost) AS s FROM bench_attempts GROUP BY item) x" \
		"SELECT count(a) + count(b) + count(c) + count(d) + count(e) FROM (SELECT item, least(attempt, 32), count(*) AS a, count(*) FILTER (WHERE ok) AS b, sum(cost) AS c, sum(cost) FILTER (WHERE NOT ok) AS d, max(attempt) AS e FROM bench_attempts GROUP BY 1, 2) x" \
		"SELECT count(a) + count(b) + count(c) FROM (SELECT item, count(attempt) AS a, count(ok) AS b, count(cost) AS c FROM bench_attempts GROUP BY item) x"
	measure "retry_economics by item 1..n" serial \
		"SELECT item, tokacct.retry_economics(attempt, ok, cost) FROM bench_item_attempts GROUP BY item" \
		"SELECT item, least(attempt, 32), count(*), count(*) FILTER (WHERE ok), sum(cost), sum(cost) FILTER (WHERE NOT ok), max(attempt) FROM bench_item_attempts GROUP BY 1, 2" \
		"SELECT item, count(attempt), count(ok), count(cost) FROM bench_item_attempts GROUP BY item"
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
		measure "cost_per_outcome by team" $mode \
			"SELECT team, tokacct.cost_per_outcome(cost, ok, fix) FROM bench_attempts GROUP BY team" \
			"SELECT team, count(*), count(*) FILTER (WHERE ok), sum(cost), count(*) FILTER (WHERE fix > 0), sum(fix) FROM bench_attempts GROUP BY team" \
			"SELECT team, count(cost), count(ok), count(fix) FROM bench_attempts GROUP BY team"
		measure "outcome_report by team" $mode \
			"SELECT team, tokacct.outcome_report(tokacct.cost_per_outcome(cost, ok, fix)) FROM bench_attempts GROUP BY team" \
			"SELECT team, count(*), count(*) FILTER (WHERE ok), sum(cost), count(*) FILTER (WHERE fix > 0), sum(fix) FROM bench_attempts GROUP BY team" \
			"SELECT team, count(cost), count(ok), count(fix) FROM bench_attempts GROUP BY team"
		measure "retry_economics by team" $mode \
			"SELECT team, tokacct.retry_economics(attempt, ok, cost) FROM bench_attempts GROUP BY team" \
			"SELECT team, least(attempt, 32), count(*), count(*) FILTER (WHERE ok), sum(cost), sum(cost) FILTER (WHERE NOT ok), max(attempt) FROM bench_attempts GROUP BY 1, 2" \
			"SELECT team, count(attempt), count(ok), count(cost) FROM bench_attempts GROUP BY team"
	done
	bench_by_item
	echo "plan (parallel): $(plan_of 'SELECT tokacct.retry_economics(attempt, ok, cost) FROM bench_attempts')"
	echo "plan (parallel, by team): $(plan_of 'SELECT team, tokacct.cost_per_outcome(cost, ok, fix) FROM bench_attempts GROUP BY team')"
}

bench_main() {
	case ${BENCH_ONLY:-} in
	'' | by_item) ;;
	*) echo "BENCH_ONLY must be by_item or unset" >&2; exit 2 ;;
	esac
	build_and_stage
	bench_cluster_start "shared_buffers = 2GB" "max_parallel_workers = 2" \
		"max_parallel_workers_per_gather = 2" "work_mem = 64MB" "jit = off"
	psql_run -c 'CREATE EXTENSION tokacct'
	timing_sql | psql_run
	load_outcome_retry
	load_item_attempts
	echo "# tokacct aggregate benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $ROWS rows, median of $REPEAT runs, JIT off${BENCH_ONLY:+, only $BENCH_ONLY}"
	echo "# $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); PostgreSQL $(psql_run -At -c 'SHOW server_version')"
	case ${BENCH_ONLY:-} in
	'') bench_outcome_retry ;;
	by_item) bench_by_item ;;
	esac
	echo "# load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
}

bench_main
