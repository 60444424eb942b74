#!/usr/bin/env bash
# test/bench_sketch.sh: benchmark context_growth and cost_sketch on 10M rows.
#
#   bash test/bench_sketch.sh [rows]      (default 10000000; not run by CI)
#
# Builds a throwaway cluster, generates `rows` calls (20 per trace, a
# lognormal cost per call), and times, serially (JIT off) and with 2
# parallel workers (JIT off), each query as the median of 5 runs (3 for the
# slow exact and window queries; BENCH_ROUNDS sets the 5), interleaved in
# one session:
#   - each aggregate against the equivalent hand-written SQL (target <= 1.0)
#     and against the read floor count(<its columns>) (target <= 1.2);
#   - the sketch against percentile_cont (target: at least 2x faster).
# The queries:
#   sketch        tokacct.cost_quantiles(tokacct.cost_sketch(cost), '{0.5,0.95,0.99}')
#   sketch SQL    the same buckets by hand: count(*) GROUP BY sign, ceil(35 log2 |cost|)
#   exact         percentile_cont('{0.5,0.95,0.99}') WITHIN GROUP (ORDER BY cost)
#   sketch floor  count(cost)
#   (reference)   sum(cost): what reading every numeric's value costs PostgreSQL itself
#   context       sum(context_carried_input(context_growth(seq, input, output))) per trace
#   context SQL   sum(least(input, lag(input) + lag(output))) over call order per trace
#   context floor count(seq) + count(input_tokens) + count(output_tokens) per
#                 trace, summed (the counts must reach the output: a count
#                 that no outer expression reads is dropped by the planner,
#                 checked with EXPLAIN VERBOSE before timing)
#   (reference)   GROUP BY trace_id alone: the earlier floor query, whose
#                 three counts PostgreSQL never computed
# Then the same calls copied, in the same order, into a table partitioned
# by hash of trace_id (BENCH_PARTITIONS partitions, default 8), where a user
# gets a parallel context_growth grouped by trace with
# enable_partitionwise_aggregate = on: each trace lies in one partition, so
# each partition is aggregated whole (a full aggregate per partition under a
# Parallel Append) and a worker finalises its traces itself instead of
# sending their states to the leader.  context and context floor over it,
# serial and with 2 workers in turn in each round (medians of ROUNDS), with
# the 2-worker plan checked first with EXPLAIN ANALYZE (the script stops
# unless it is a Parallel Append of full aggregates under the Gather, with
# context_carried_input computed below the Gather and 2 workers launched)
# and the answer compared with the serial one on the plain table.
source "$(dirname "$0")/lib.sh"

ROWS=${1:-10000000}
PARTS=${BENCH_PARTITIONS:-8}
ensure_build_deps
build_and_stage
bench_cluster_start "shared_buffers = 2GB" "max_parallel_workers = 4" "work_mem = 1GB" "jit = off"

psql_run -c "CREATE EXTENSION tokacct"
log "generating $ROWS rows"
psql_run <<SQL
SELECT setseed(0.5);
CREATE TABLE bench_calls AS
SELECT g / 20 AS trace_id, (g % 20)::int AS seq,
       (1000 + 300 * (g % 20) + (g * 7919) % 500)::bigint AS input_tokens,
       (50 + (g * 104729) % 300)::bigint AS output_tokens,
       round(exp(-4 + 1.2 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))::numeric, 9) AS cost
FROM generate_series(0::bigint, $ROWS - 1) g;
VACUUM ANALYZE bench_calls;
SELECT count(*) FROM bench_calls;
SQL
log "copying the calls into a table partitioned by hash of trace_id ($PARTS partitions)"
# a sequential scan from the first page (no synchronized scan) gives the
# rows in the order they were generated, so each partition is in trace order
psql_run <<SQL
CREATE TABLE bench_calls_part (LIKE bench_calls) PARTITION BY HASH (trace_id);
SELECT format('CREATE TABLE bench_calls_part_%s PARTITION OF bench_calls_part FOR VALUES WITH (MODULUS %s, REMAINDER %s)',
              r, $PARTS, r)
  FROM generate_series(0, $PARTS - 1) r \gexec
SET synchronize_seqscans = off;
SET max_parallel_workers_per_gather = 0;
INSERT INTO bench_calls_part SELECT * FROM bench_calls;
VACUUM ANALYZE bench_calls_part;
SQL

SERIAL="SET max_parallel_workers_per_gather = 0;"
PARALLEL="SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;"

Q_SKETCH="SELECT tokacct.cost_quantiles(tokacct.cost_sketch(cost), '{0.5,0.95,0.99}') FROM bench_calls"
Q_SKETCH_SQL="SELECT count(*) FROM (SELECT sign(cost) AS s, ceil(35 * ln(abs(cost::float8)) / ln(2.0::float8)) AS k, count(*) FROM bench_calls WHERE cost <> 0 GROUP BY 1, 2) b"
Q_EXACT="SELECT percentile_cont('{0.5,0.95,0.99}'::float8[]) WITHIN GROUP (ORDER BY cost) FROM bench_calls"
Q_SKETCH_FLOOR="SELECT count(cost) FROM bench_calls"
Q_SUM="SELECT sum(cost) FROM bench_calls"
Q_CTX="SELECT sum(tokacct.context_carried_input(s)) FROM (SELECT tokacct.context_growth(seq, input_tokens, output_tokens) AS s FROM bench_calls GROUP BY trace_id) x"
Q_CTX_SQL="SELECT sum(CASE WHEN pi IS NULL THEN 0 ELSE least(input_tokens, pi + po) END) FROM (SELECT input_tokens, lag(input_tokens) OVER w AS pi, lag(output_tokens) OVER w AS po FROM bench_calls WINDOW w AS (PARTITION BY trace_id ORDER BY seq)) x"
Q_CTX_FLOOR="SELECT sum(n) FROM (SELECT count(seq) + count(input_tokens) + count(output_tokens) AS n FROM bench_calls GROUP BY trace_id) x"
Q_CTX_GROUP="SELECT count(*) FROM (SELECT trace_id, count(seq), count(input_tokens), count(output_tokens) FROM bench_calls GROUP BY trace_id) x"
# the same two over the partitioned table
Q_CTX_PART=${Q_CTX/FROM bench_calls /FROM bench_calls_part }
Q_CTX_FLOOR_PART=${Q_CTX_FLOOR/FROM bench_calls /FROM bench_calls_part }
PARTWISE="SET enable_partitionwise_aggregate = on;"

# Time the queries given, interleaved (q1 q2 ... qk, ROUNDS times) in one
# session so that load from other processes hits them alike; prints the
# median time of each, in ms, one per line, in the order given.
ROUNDS=${BENCH_ROUNDS:-5}
median_ms() {
	local settings=$1
	shift
	local args=(-c "$settings" -c '\timing on') r q
	for ((r = 0; r < ROUNDS; r++)); do
		for q in "$@"; do args+=(-c "$q"); done
	done
	psql_run "${args[@]}" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' |
		awk -v k=$# '{ i = (NR - 1) % k; n[i]++; v[i, n[i]] = $1 }
			END { for (i = 0; i < k; i++) {
				# insertion sort of the few times of query i, then the middle one
				for (a = 2; a <= n[i]; a++) for (b = a; b > 1 && v[i, b - 1] > v[i, b]; b--) {
					t = v[i, b]; v[i, b] = v[i, b - 1]; v[i, b - 1] = t }
				m = int((n[i] + 1) / 2); print v[i, m] } }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# the context floor computes its three counts (PostgreSQL drops the
# aggregates of a subquery that the outer query does not read, as it does in
# Q_CTX_GROUP)
if [ "$(psql_run -t -A -c "$SERIAL" -c "EXPLAIN (VERBOSE, COSTS OFF) $Q_CTX_FLOOR" | grep -c 'count(bench_calls.output_tokens)' || true)" -eq 0 ]; then
	echo "bench_sketch: the context floor's plan does not compute its counts" >&2
	exit 1
fi

# the answers agree before anything is timed
psql_run -c "$SERIAL" -c "SELECT ($Q_CTX) = ($Q_CTX_SQL) AS context_same_as_sql" \
	-c "SELECT ($Q_SKETCH) AS sketch, ($Q_EXACT) AS percentile_cont"

echo "bench_sketch: $ROWS rows, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores (shared, load average $(cut -d' ' -f1-3 /proc/loadavg)), PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}'), medians of $ROUNDS runs (3 for percentile_cont and lag())"
for mode in serial parallel; do
	if [ $mode = serial ]; then set_=$SERIAL; label="serial, JIT off"; else set_=$PARALLEL; label="2 parallel workers, JIT off"; fi
	plan=$(psql_run -t -A -c "$set_" -c "EXPLAIN (COSTS OFF) $Q_SKETCH" | grep -c 'Partial Aggregate' || true)
	cplan=$(psql_run -t -A -c "$set_" -c "EXPLAIN (COSTS OFF) $Q_CTX" | grep -c 'Partial HashAggregate\|Partial GroupAggregate' || true)
	if [ $mode = parallel ] && { [ "$plan" -eq 0 ] || [ "$cplan" -eq 0 ]; }; then
		echo "bench_sketch: the parallel settings gave a serial plan (sketch $plan, context $cplan partial aggregates)" >&2
		exit 1
	fi
	# the exact percentile_cont and the SQL lag() are slow: fewer rounds apart
	mapfile -t t < <(median_ms "$set_" "$Q_SKETCH" "$Q_SKETCH_SQL" "$Q_SKETCH_FLOOR" "$Q_SUM" \
		"$Q_CTX" "$Q_CTX_FLOOR" "$Q_CTX_GROUP")
	s=${t[0]} ss=${t[1]} sf=${t[2]} sm=${t[3]} c=${t[4]} cf=${t[5]} cg=${t[6]}
	mapfile -t t < <(ROUNDS=3 median_ms "$set_" "$Q_EXACT" "$Q_CTX_SQL")
	se=${t[0]} cs=${t[1]}
	echo "== $label (partial aggregates in the plans: sketch $plan, context $cplan)"
	printf '  %-13s %9.1f ms | vs SQL buckets %s (<= 1.0) | vs floor count(cost) %s (<= 1.2) | percentile_cont %.1f ms, %sx faster (>= 2)\n' \
		cost_sketch "$s" "$(ratio "$s" "$ss")" "$(ratio "$s" "$sf")" "$se" "$(ratio "$se" "$s")"
	printf '  %-13s %9.1f ms | vs SQL lag()   %s (<= 1.0) | vs floor count(seq, input, output) per trace %s (<= 1.2)\n' \
		context_growth "$c" "$(ratio "$c" "$cs")" "$(ratio "$c" "$cf")"
	printf '  reference: GROUP BY trace_id alone (no count computed) %.1f ms; context_growth = %s x that\n' "$cg" "$(ratio "$c" "$cg")"
	printf '  (SQL buckets %.1f ms, floor %.1f ms; SQL lag() %.1f ms, floor %.1f ms)\n' "$ss" "$sf" "$cs" "$cf"
	printf '  reference: sum(cost) %.1f ms = %s x the floor count(cost)\n' "$sm" "$(ratio "$sm" "$sf")"
done

# the partitioned table: the 2-worker plan first (EXPLAIN ANALYZE), then its
# answer against the plain table's serial answer
pplan=$(psql_run -t -A -c "$PARALLEL $PARTWISE" -c "EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF) $Q_CTX_PART")
echo "== the table partitioned by hash of trace_id ($PARTS partitions), enable_partitionwise_aggregate on: the 2-worker context_growth plan"
echo "$pplan"
if ! grep -q 'Workers Launched: 2' <<<"$pplan" || ! grep -q 'Parallel Append' <<<"$pplan" ||
	! grep -q -- '->  \(Hash\|Group\)Aggregate' <<<"$pplan" ||
	grep -q '\(Partial\|Finalize\) \(Hash\|Group\|Mixed\)Aggregate' <<<"$pplan" ||
	! grep -q 'PARTIAL sum(tokacct.context_carried_input' <<<"$pplan"; then
	echo "bench_sketch: the 2-worker plan over the partitioned table is not a partition-wise aggregate in 2 workers" >&2
	exit 1
fi
pans=$(psql_run -t -A -c "$SERIAL" -c "SELECT ($Q_CTX) AS plain_serial" -c "$PARTWISE" \
	-c "SELECT ($Q_CTX_PART) AS part_serial" -c "$PARALLEL" -c "SELECT ($Q_CTX_PART) AS part_parallel")
echo "context answers (plain serial, partitioned serial, partitioned 2 workers): $(echo $pans)"
if [ "$(sort -u <<<"$pans" | wc -l)" -ne 1 ]; then
	echo "bench_sketch: the answers over the partitioned table differ from the serial one on the plain table" >&2
	exit 1
fi
# serial and 2 workers in turn in each round, so the load of other jobs hits both alike
mapfile -t t < <(median_ms "$PARTWISE" "$SERIAL $Q_CTX_PART" "$PARALLEL $Q_CTX_PART" \
	"$SERIAL $Q_CTX_FLOOR_PART" "$PARALLEL $Q_CTX_FLOOR_PART")
c0=${t[0]} c2=${t[1]} f0=${t[2]} f2=${t[3]}
echo "== partitioned by trace_id, enable_partitionwise_aggregate on (serial and 2 workers in turn, JIT off)"
printf '  %-13s serial %9.1f ms | vs floor count(seq, input, output) per trace %s (<= 1.2) | floor %.1f ms\n' \
	context_growth "$c0" "$(ratio "$c0" "$f0")" "$f0"
printf '  %-13s 2 workers %6.1f ms | vs floor count(seq, input, output) per trace %s (<= 1.2) | floor %.1f ms\n' \
	context_growth "$c2" "$(ratio "$c2" "$f2")" "$f2"
printf '  2 workers against serial: context_growth %s, floor %s\n' "$(ratio "$c2" "$c0")" "$(ratio "$f2" "$f0")"
