#!/usr/bin/env bash
# Benchmark utility_frontier against the hand-written SQL that computes the
# same per-option sums, and against the read floor count(<its columns>),
# serial and with 2 parallel workers.  Not run by CI.
#
#   bash test/bench_allocation.sh [rows]     (default 10,000,000)
#
# Prints the median of 3 runs of each query and the ratios, measured in one run.
source "$(dirname "$0")/lib.sh"
ROWS=${1:-10000000}
build_and_stage
bench_cluster_start "shared_buffers = 1GB" "max_parallel_workers = 4" "work_mem = 256MB" "jit = off"
psql_run -c 'CREATE EXTENSION tokacct'
log "loading $ROWS rows"
psql_run <<SQL
CREATE TABLE bench_items AS
	SELECT 'model-' || (i % 8) AS option,
		   round(((i * 7919) % 100000) / 1000000.0, 6) AS cost,
		   round(((i * 104729) % 400000) / 100000.0, 4) AS value
	  FROM generate_series(1::bigint, $ROWS) i;
ALTER TABLE bench_items SET (parallel_workers = 2);
VACUUM ANALYZE bench_items;
SQL

# One timing in ms of query $2 with $1 parallel workers.
time_once() {
	psql_run -At -c "SET max_parallel_workers_per_gather = $1" -c '\timing on' -c "$2" |
		sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
}
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

AGG="SELECT tokacct.utility_frontier(option, cost, value) FROM bench_items"
SQL_EQ="SELECT option, count(*), sum(cost), sum(value) FROM bench_items GROUP BY option"
FLOOR="SELECT count(option), count(cost), count(value) FROM bench_items"

# The three queries run in turn, 5 rounds, so that load from other work on
# the machine falls on all three alike; each figure is a median.
echo "utility_frontier benchmark, $ROWS rows, $(date -u +%Y-%m-%d)"
for w in 0 2; do
	: > "$CLUSTER/a" ; : > "$CLUSTER/s" ; : > "$CLUSTER/f"
	for _ in 1 2 3 4 5; do
		time_once $w "$AGG" >> "$CLUSTER/a"
		time_once $w "$SQL_EQ" >> "$CLUSTER/s"
		time_once $w "$FLOOR" >> "$CLUSTER/f"
	done
	a=$(median < "$CLUSTER/a")
	s=$(median < "$CLUSTER/s")
	f=$(median < "$CLUSTER/f")
	echo "workers=$w: utility_frontier ${a} ms, hand-written SQL ${s} ms, read floor ${f} ms"
	awk -v a="$a" -v s="$s" -v f="$f" -v w="$w" 'BEGIN {
		printf "workers=%s: ratio to SQL %.2fx (bar <= 1.0x), ratio to read floor %.2fx (bar <= 1.2x)\n", w, a / s, a / f }'
done
