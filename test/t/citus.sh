#!/usr/bin/env bash
# tokacct on a real Citus cluster: a coordinator and two workers
# (test/citus_cluster.sh).  Skipped, with a line saying so, when Citus is
# not installed into the system's PostgreSQL (it is not in Debian's archive).
#
# What it proves:
#   - before the catalog is distributed, cost() in a query pushed to the
#     workers fails with an error naming citus_distribute_catalog(), never
#     NULL; citus_distribute_catalog() refuses to run without Citus, on a
#     worker, or for a role that does not own the extension;
#   - after it, cost() and customer_cost() on the workers (router and
#     multi-shard queries, grouped by the distribution column and not) give
#     exactly what the same query gives on a local copy of the rows, and
#     what the catalog's prices give by hand;
#   - a catalog change made on the coordinator (an UPDATE, a loader run by a
#     role that is not a superuser) reaches a session on a worker that had
#     the old catalog in its cache;
#   - a reader granted before the catalog is distributed, and one granted
#     after, price on the workers (their grants on the pricing functions
#     are given on every worker);
#   - tokacct's aggregates run as worker_partial_agg + coord_combine_agg
#     (grouped by a column other than the distribution column) and give
#     exactly the serial answer of a local copy.
source "$(dirname "$0")/../lib.sh"
source "$TOP/test/citus_cluster.sh"

if ! citus_installed; then
	echo "ok citus # SKIP Citus is not installed in this machine's PostgreSQL $PGVER ($CITUS_SYS_LIB/citus.so not found); README.md, \"Running with Citus\", says how to install it"
	exit 0
fi

build_and_stage
citus_stage
citus_cluster_start "$BUILD/citus.$$"

fail=0
pass() { echo "ok $1"; }
flunk() { echo "not ok $1"; fail=1; }
# c N SQL: run SQL on node N (0: coordinator), unaligned, tuples only
c() { local n=$1; shift; citus_psql "$n" -At "$@" postgres; }
# expect_error NAME NODE SQL PATTERN...: SQL fails on NODE, and its
# verbose error text (SQLSTATE, message, detail, hint) shows every PATTERN
expect_error() {
	local name=$1 node=$2 sql=$3 out p
	shift 3
	if out=$(c "$node" -v VERBOSITY=verbose -c "$sql" 2>&1); then
		flunk "$name (no error; got: $out)"
		return
	fi
	for p in "$@"; do
		if ! grep -qF -- "$p" <<<"$out"; then
			flunk "$name (error lacks \"$p\": $out)"
			return
		fi
	done
	pass "$name"
}
# same NAME SQL: SQL, with {L} replaced by "" (the distributed tables) and
# by "_local" (their local copies on the coordinator), gives the same
# non-empty output on the coordinator
same() {
	local name=$1 sql=$2 dist local
	dist=$(c 0 -c "${sql//\{L\}/}" 2>&1) || { flunk "$name (distributed query failed: $dist)"; return; }
	local=$(c 0 -c "${sql//\{L\}/_local}" 2>&1) || { flunk "$name (local query failed: $local)"; return; }
	if [ -z "$dist" ]; then
		flunk "$name (no rows)"
	elif [ "$dist" != "$local" ]; then
		flunk "$name (distributed and local differ)"
		diff <(echo "$local") <(echo "$dist") | head -20
	else
		pass "$name ($(wc -l <<<"$dist") rows)"
	fi
}
# pushed NAME SQL PATTERN: EXPLAIN VERBOSE of the distributed query shows
# PATTERN in the query sent to the workers
pushed() {
	local out
	out=$(c 0 -c "EXPLAIN (VERBOSE, COSTS OFF) ${2//\{L\}/}" 2>&1) || { flunk "$1 (explain failed: $out)"; return; }
	if grep -E 'Query: ' <<<"$out" | grep -qF -- "$3"; then pass "$1"; else flunk "$1 (no \"$3\" in the workers' query)"; fi
}

# --- the extension, created on the coordinator, reaches the workers --------
c 0 -c 'CREATE EXTENSION tokacct' -c 'CREATE EXTENSION dblink' >/dev/null
for n in 1 2; do
	v=$(c "$n" -c "SELECT extversion FROM pg_extension WHERE extname = 'tokacct'" 2>&1) || true
	if [ -n "$v" ]; then pass "extension on worker $n ($v)"; else flunk "extension on worker $n"; fi
done

# --- a small catalog, loaded on the coordinator ---------------------------
# tp-a: input 1, output 4 per million tokens, a request fee of 2 per 1000
# requests; tp-b: input 1 (2 above 1000 input tokens), output 3; acme/m1
# (custom): input 3, output 15, cache reads 0.3; customer "big" gets 20% off
# everything of acme.
c 0 >/dev/null <<'SQL'
SELECT * FROM tokacct.load_prices_genai('[
  {"id": "tp", "name": "Test Provider", "api_pattern": "x", "model_match": {"starts_with": "tp-"},
   "models": [
     {"id": "tp-a", "match": {"equals": "tp-a"}, "prices": {"input_mtok": 1, "output_mtok": 4, "requests_kcount": 2}},
     {"id": "tp-b", "match": {"starts_with": "tp-b"},
      "prices": {"input_mtok": {"base": 1, "tiers": [{"start": 1000, "price": 2}]}, "output_mtok": 3}}]}]',
  '2026-01-01 00:00+00');
INSERT INTO tokacct.price_provider (catalog, provider, ordinal) VALUES ('custom', 'acme', 0);
INSERT INTO tokacct.price_model (catalog, provider, model, ordinal, match) VALUES ('custom', 'acme', 'm1', 0, '{"equals": "m1"}');
INSERT INTO tokacct.price (catalog, provider, model, input_mtok, output_mtok, cache_read_mtok) VALUES ('custom', 'acme', 'm1', 3, 15, 0.3);
INSERT INTO tokacct.price_discount (customer, provider, multiplier) VALUES ('big', 'acme', 0.8);
SQL

# --- calls, distributed by item id; a local copy on the coordinator -------
# 2000 calls over 97 items, 3 models, three customers, dated 2026-03 (so the
# catalog changed later from 2026-06-01 does not apply to them)
c 0 >/dev/null <<'SQL'
CREATE TABLE calls (item_id int, call_no int, provider text, model text, input_tokens bigint,
	output_tokens bigint, cache_read_tokens bigint, customer text, at timestamptz);
SELECT create_distributed_table('calls', 'item_id');
INSERT INTO calls
SELECT g % 97, g, (ARRAY['tp', 'tp', 'acme'])[1 + g % 3], (ARRAY['tp-a', 'tp-b-7', 'm1'])[1 + g % 3],
       (g * 7919) % 5000, (g * 104729) % 3000, CASE WHEN g % 3 = 2 THEN (g * 7919) % 5000 / 3 ELSE 0 END,
       (ARRAY['big', 'small', NULL])[1 + g % 5 % 3],
       '2026-03-01 00:00+00'::timestamptz + g * interval '1 minute'
  FROM generate_series(1, 2000) g;
CREATE TABLE calls_local AS SELECT * FROM calls;
SQL

# --- before the catalog is distributed: an error, never NULL --------------
q_cost_row="SELECT item_id, call_no, tokacct.cost(provider, model, input_tokens, output_tokens, cache_read_tokens, at => at) FROM calls{L}"
expect_error "router query before distributing: error with hint" 0 \
	"${q_cost_row//\{L\}/} WHERE item_id = 5" \
	"55000" "not distributed to this Citus worker" "citus_distribute_catalog()"
expect_error "multi-shard query before distributing: error with hint" 0 \
	"SELECT sum(tokacct.cost(provider, model, input_tokens, output_tokens, at => at)) FROM calls" \
	"55000" "not distributed to this Citus worker" "citus_distribute_catalog()"
# a worker's own catalog holds only the three catalog names
n=$(c 1 -c "SELECT count(*) FROM tokacct.price" 2>&1) || true
if [ "$n" = 0 ]; then pass "worker's own catalog is empty"; else flunk "worker's own catalog is empty (has $n prices)"; fi

# --- citus_distribute_catalog(): its refusals --------------------------------
expect_error "distribute on a worker: refused" 1 "SELECT tokacct.citus_distribute_catalog()" \
	"55000" "must run on the Citus coordinator"
c 0 -c "CREATE ROLE outsider LOGIN" >/dev/null
expect_error "distribute by a role that does not own the extension: refused" 0 \
	"SET ROLE outsider; SELECT tokacct.citus_distribute_catalog()" "42501" "only the owner of schema tokacct"
c 0 -c "CREATE DATABASE plain" >/dev/null 2>&1
citus_psql 0 -q -c 'CREATE EXTENSION tokacct' plain
if out=$(citus_psql 0 -At -v VERBOSITY=verbose -c 'SELECT tokacct.citus_distribute_catalog()' plain 2>&1); then
	flunk "distribute without Citus: refused (got $out)"
elif grep -qF "55000" <<<"$out" && grep -qF "Citus is not installed" <<<"$out"; then
	pass "distribute without Citus: refused"
else
	flunk "distribute without Citus: refused ($out)"
fi

# a reader, granted before the catalog is distributed
c 0 -c "CREATE ROLE analyst LOGIN" -c "CALL tokacct.grant_reader('analyst')" -c "GRANT SELECT ON calls, calls_local TO analyst" >/dev/null

# --- distribute: the coordinator, not in the metadata, has no copy ----------
out=$(c 0 -c "SELECT tokacct.citus_distribute_catalog()" 2>&1) || true
# the six catalog tables, the provider and model aliases and the catalog choices
if [ "$out" = 9 ]; then pass "citus_distribute_catalog() makes 9 reference tables"; else flunk "citus_distribute_catalog() (got $out)"; fi
out=$(c 0 -c "SELECT count(*) FROM pg_dist_partition WHERE logicalrelid::text LIKE 'tokacct.%' AND partmethod = 'n' AND repmodel = 't'" 2>&1) || true
if [ "$out" = 9 ]; then pass "nine reference tables in the metadata"; else flunk "nine reference tables in the metadata (got $out)"; fi
expect_error "coordinator without a copy of the catalog: error with hint" 0 \
	"SELECT tokacct.cost('tp', 'tp-a', 1000000, 0, at => '2026-03-01')" \
	"55000" "has no copy on this Citus node" "replicate_reference_tables"
citus_add_coordinator
c 0 -c "SELECT replicate_reference_tables('block_writes')" >/dev/null
out=$(c 0 -c "SELECT tokacct.citus_distribute_catalog()" 2>&1) || true
if [ "$out" = 0 ]; then pass "citus_distribute_catalog() again: nothing to do"; else flunk "citus_distribute_catalog() again (got $out)"; fi
# a worker's prices are the coordinator's, read on the worker itself:
# tp-a, 1M input and 1M output: 1 + 4 + 0.002 (one request)
for n in 0 1 2; do
	out=$(c "$n" -c "SELECT tokacct.cost('tp', 'tp-a', 1000000, 1000000, at => '2026-03-01')" 2>&1) || true
	if [ "$out" = 5.002000000000 ] || [ "$out" = 5.002 ]; then pass "node $n prices tp-a at 5.002"; else flunk "node $n prices tp-a (got $out)"; fi
done

# --- cost() on the workers: the same as on one node, and as by hand -------
same "cost per call, multi-shard" "$q_cost_row ORDER BY 1, 2"
same "cost per call, router" "$q_cost_row WHERE item_id = 42 ORDER BY 2"
pushed "cost() runs on the workers" "$q_cost_row" "tokacct.cost("
same "cost grouped by the distribution column" \
	"SELECT item_id, sum(tokacct.cost(provider, model, input_tokens, output_tokens, cache_read_tokens, at => at)) FROM calls{L} GROUP BY item_id ORDER BY 1"
same "cost grouped by model" \
	"SELECT model, count(*), sum(tokacct.cost(provider, model, input_tokens, output_tokens, cache_read_tokens, at => at)) FROM calls{L} GROUP BY model ORDER BY 1"
same "cost per call by a reader granted before distributing" "SET ROLE analyst; $q_cost_row ORDER BY 1, 2"
# a reader granted after: grant_reader() gives the pricing functions on the workers itself
c 0 -c "CREATE ROLE analyst2 LOGIN" -c "CALL tokacct.grant_reader('analyst2')" -c "GRANT SELECT ON calls, calls_local TO analyst2" >/dev/null
out=$(c 1 -c "SELECT has_function_privilege('analyst2', 'tokacct.cost(text,text,bigint,bigint,bigint,bigint,bigint,timestamptz,bigint)', 'EXECUTE')" 2>&1) || true
if [ "$out" = t ]; then pass "a reader granted after distributing may run cost() on a worker"; else flunk "a reader granted after distributing on a worker (got $out)"; fi
same "cost per call by a reader granted after distributing" "SET ROLE analyst2; $q_cost_row ORDER BY 1, 2"
same "customer_cost (discounts) per call" \
	"SELECT item_id, call_no, tokacct.customer_cost(customer, provider, model, input_tokens, output_tokens, cache_read_tokens, at => at) FROM calls{L} WHERE customer IS NOT NULL ORDER BY 1, 2"
# by hand, per model, in numeric: tp-a in*1 + out*4 per 1e6 + 0.002 a call;
# tp-b in*(2 if in > 1000 else 1) + out*3; m1 (in - cache)*3 + cache*0.3 + out*15
out=$(c 0 <<'SQL'
SELECT bool_and(d.cost = h.cost) AND count(*) = 3
  FROM (SELECT model, sum(tokacct.cost(provider, model, input_tokens, output_tokens, cache_read_tokens, at => at)) AS cost
          FROM calls GROUP BY model) d
  JOIN (SELECT model, sum(CASE model
			WHEN 'tp-a' THEN (input_tokens * 1 + output_tokens * 4) / 1e6 + 0.002
			WHEN 'tp-b-7' THEN (input_tokens * CASE WHEN input_tokens > 1000 THEN 2 ELSE 1 END + output_tokens * 3) / 1e6
			ELSE ((input_tokens - cache_read_tokens) * 3 + cache_read_tokens * 0.3 + output_tokens * 15) / 1e6 END) AS cost
          FROM calls_local GROUP BY model) h USING (model);
SQL
) || true
if [ "$out" = t ]; then pass "distributed cost per model equals the prices by hand"; else flunk "distributed cost per model equals the prices by hand (got $out)"; fi
out=$(c 0 -c "SELECT count(*) FROM calls WHERE tokacct.cost(provider, model, input_tokens, output_tokens, at => at) IS NULL" 2>&1) || true
if [ "$out" = 0 ]; then pass "no call priced NULL on the workers"; else flunk "no call priced NULL on the workers ($out)"; fi

# --- a catalog change reaches the workers' caches --------------------------
# Session w, on worker 1 through dblink, holds the catalog in its cache;
# psql's own session prices through Citus's cached worker connections.
# Then acme/m1's input price goes from 3 to 5, and a loader run by a role
# that is not a superuser gives tp-a an input price of 10 from 2026-06-01.
c 0 -c "CREATE ROLE loader LOGIN" -c "CALL tokacct.grant_admin('loader')" -c "GRANT SELECT ON calls TO loader" >/dev/null
out=$(c 0 -v w="host=127.0.0.1 port=${CITUS_PORTS[1]} dbname=postgres user=postgres" 2>&1 <<'SQL'
CREATE FUNCTION pg_temp.cost_on_w(q text, want text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE got text;
BEGIN
	-- a commit becomes visible a moment before its invalidation is sent:
	-- ask again (up to 5 s) until the answer is want
	FOR i IN 1..100 LOOP
		SELECT coalesce(x::text, 'null') INTO got FROM dblink('w', q) AS t(x numeric);
		IF got = want THEN RETURN got; END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
	RETURN got;
END $$;
SELECT dblink_connect('w', :'w');
SELECT 'w_before=' || pg_temp.cost_on_w($$SELECT tokacct.cost('acme', 'm1', 1000000, 0, at => '2026-03-01')$$, '3');
SELECT 'dist_before=' || sum(tokacct.cost(provider, model, 1000000, 0, at => at)) FROM calls WHERE model = 'm1';
UPDATE tokacct.price SET input_mtok = 5 WHERE model = 'm1';
SELECT 'w_after=' || pg_temp.cost_on_w($$SELECT tokacct.cost('acme', 'm1', 1000000, 0, at => '2026-03-01')$$, '5');
SELECT 'dist_after=' || sum(tokacct.cost(provider, model, 1000000, 0, at => at)) FROM calls WHERE model = 'm1';
SET ROLE loader;
SELECT 'loaded=' || price_sets_added FROM tokacct.load_prices_genai('[
  {"id": "tp", "name": "Test Provider", "api_pattern": "x", "model_match": {"starts_with": "tp-"},
   "models": [
     {"id": "tp-a", "match": {"equals": "tp-a"}, "prices": {"input_mtok": 10, "output_mtok": 4, "requests_kcount": 2}},
     {"id": "tp-b", "match": {"starts_with": "tp-b"},
      "prices": {"input_mtok": {"base": 1, "tiers": [{"start": 1000, "price": 2}]}, "output_mtok": 3}}]}]',
  '2026-06-01 00:00+00');
SELECT 'w_loaded=' || pg_temp.cost_on_w($$SELECT tokacct.cost('tp', 'tp-a', 1000000, 0, at => '2026-07-01')$$, '10.002');
SELECT 'dist_history=' || sum(tokacct.cost(provider, model, 1000000, 0, at => at)) FROM calls WHERE model = 'tp-a';
SELECT 'dist_loaded=' || sum(tokacct.cost(provider, model, 1000000, 0, at => '2026-07-01')) FROM calls WHERE model = 'tp-a';
SELECT 'tp_a_calls=' || count(*) FROM calls WHERE model = 'tp-a';
SELECT 'm1_calls=' || count(*) FROM calls WHERE model = 'm1';
SQL
) || true
m1=$(sed -n 's/^m1_calls=//p' <<<"$out")
tpa=$(sed -n 's/^tp_a_calls=//p' <<<"$out")
check_line() {
	local got
	got=$(sed -n "s/^$1=//p" <<<"$out")
	if [ -n "$got" ] && [ "$(c 0 -c "SELECT $got::numeric = ($2)::numeric")" = t ]; then
		pass "$3 ($got)"
	else
		flunk "$3 (got '$got', want $2; output: $(tr '\n' ' ' <<<"$out" | head -c 600))"
	fi
}
check_line w_before 3 "worker session prices m1 at 3 before the change"
check_line dist_before "$m1 * 3" "distributed query prices m1 at 3 before the change"
check_line w_after 5 "worker session prices m1 at 5 after the change on the coordinator"
check_line dist_after "$m1 * 5" "distributed query prices m1 at 5 after the change"
check_line loaded 1 "a non-superuser loader writes through the coordinator"
check_line w_loaded 10.002 "worker session prices tp-a with the loaded price"
check_line dist_history "$tpa * 1.002" "workers price March calls with the old price"
check_line dist_loaded "$tpa * 10.002" "workers price July calls with the loaded price"

# --- aggregates: worker_partial_agg + coord_combine_agg = serial -----------
# items (one row per item: cost, solved, human fix) and attempts by item id;
# spans by span id, so that one trace's spans are on several shards and
# grouping by trace combines states made on different workers.
c 0 >/dev/null <<'SQL'
CREATE TABLE items (item_id int, workflow text, cost numeric, solved bool, human_fix numeric, option text, value numeric);
SELECT create_distributed_table('items', 'item_id');
INSERT INTO items
SELECT g, 'wf' || g % 4, round(g * 0.0137 + (g % 13) * 0.4, 6), g % 3 <> 0,
       CASE WHEN g % 7 = 0 THEN 2.5 END, 'opt' || g % 5, (g % 11) * 0.25
  FROM generate_series(1, 1500) g;
CREATE TABLE attempts (item_id int, workflow text, attempt int, succeeded bool, cost numeric);
SELECT create_distributed_table('attempts', 'item_id');
INSERT INTO attempts
SELECT i, 'wf' || i % 4, a, a = 1 + i % 3 AND i % 5 <> 0, round(0.01 * a + i * 0.0003, 6)
  FROM generate_series(1, 800) i, generate_series(1, 1 + i % 3) a;
CREATE TABLE spans (span_id text, trace_id text, parent_id text, seq int, kind text, name text, args_hash text,
	status text, cost numeric, started_at timestamptz, input_tokens bigint, output_tokens bigint);
SELECT create_distributed_table('spans', 'span_id');
INSERT INTO spans
SELECT 't' || t || '-' || s, 't' || t, CASE WHEN s = 0 THEN NULL ELSE 't' || t || '-0' END, s,
       CASE WHEN s = 0 THEN 'agent' ELSE 'tool' END,
       CASE WHEN s = 0 THEN 'run' ELSE 'search' END, 'h' || (s % 3 + t % 2),
       CASE WHEN s % 4 = 3 THEN 'error' ELSE 'ok' END, round(0.001 * s + 0.0001 * t, 6),
       '2026-03-01'::timestamptz + t * interval '1 hour' + s * interval '1 second',
       1000 + 400 * s + t, 50 + s
  FROM generate_series(1, 60) t, generate_series(0, 9 + t % 5) s;
CREATE TABLE items_local AS SELECT * FROM items;
CREATE TABLE attempts_local AS SELECT * FROM attempts;
CREATE TABLE spans_local AS SELECT * FROM spans;
SQL

q_outcome="SELECT workflow, (tokacct.outcome_report(tokacct.cost_per_outcome(cost, solved, human_fix))).* FROM items{L} GROUP BY workflow ORDER BY 1"
same "cost_per_outcome by workflow" "$q_outcome"
pushed "cost_per_outcome: worker_partial_agg" "$q_outcome" "worker_partial_agg"
same "cost_per_outcome over every item" "SELECT (tokacct.outcome_report(tokacct.cost_per_outcome(cost, solved))).* FROM items{L}"
q_retry="SELECT workflow, (tokacct.retry_report(tokacct.retry_economics(attempt, succeeded, cost))).* FROM attempts{L} GROUP BY workflow ORDER BY 1"
same "retry_economics by workflow" "$q_retry"
pushed "retry_economics: worker_partial_agg" "$q_retry" "worker_partial_agg"
same "retry_economics by item (the distribution column)" \
	"SELECT item_id, (tokacct.retry_report(tokacct.retry_economics(attempt, succeeded, cost))).* FROM attempts{L} GROUP BY item_id ORDER BY 1"
q_sketch="SELECT workflow, tokacct.sketch_count(s), tokacct.cost_quantiles(s, '{0.5,0.9,0.99}'), tokacct.tail_ratio(s) FROM (SELECT workflow, tokacct.cost_sketch(cost) AS s FROM items{L} GROUP BY workflow) x ORDER BY 1"
same "cost_sketch by workflow" "$q_sketch"
pushed "cost_sketch: worker_partial_agg" "SELECT workflow, tokacct.cost_sketch(cost) FROM items{L} GROUP BY workflow" "worker_partial_agg"
same "cost_sketch over every item" "SELECT tokacct.cost_quantiles(tokacct.cost_sketch(cost), '{0.1,0.5,0.9}') FROM items{L}"
q_frontier="SELECT workflow, tokacct.utility_frontier(option, cost, value) AS s FROM items{L} GROUP BY workflow"
same "utility_frontier by workflow" "SELECT x.workflow, f.* FROM ($q_frontier) x, LATERAL tokacct.frontier_options(x.s) f ORDER BY 1, 2"
pushed "utility_frontier: worker_partial_agg" "$q_frontier" "worker_partial_agg"
q_context="SELECT trace_id, (tokacct.context_report(tokacct.context_growth(seq, input_tokens, output_tokens))).* FROM spans{L} GROUP BY trace_id ORDER BY 1"
same "context_growth by trace, spans spread over shards" "$q_context"
pushed "context_growth: worker_partial_agg" "$q_context" "worker_partial_agg"
q_waste="SELECT trace_id, (tokacct.waste_summary(tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at))).* FROM spans{L} GROUP BY trace_id ORDER BY 1"
same "waste_agg by trace, spans spread over shards" "$q_waste"
pushed "waste_agg: worker_partial_agg" "$q_waste" "worker_partial_agg"
# and grouped by the distribution column: each group whole on its worker
c 0 -c "CREATE TABLE spans_by_trace AS SELECT * FROM spans_local" -c "SELECT create_distributed_table('spans_by_trace', 'trace_id')" >/dev/null 2>&1
c 0 -c "CREATE TABLE spans_by_trace_local AS SELECT * FROM spans_local" >/dev/null
same "waste_agg by trace, spans distributed by trace" \
	"SELECT trace_id, (tokacct.waste_summary(tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at))).* FROM spans_by_trace{L} GROUP BY trace_id ORDER BY 1"
# cost() inside an aggregate's argument, grouped by a non-distribution column
same "cost_sketch of cost() by model" \
	"SELECT model, tokacct.cost_quantiles(tokacct.cost_sketch(tokacct.cost(provider, model, input_tokens, output_tokens, cache_read_tokens, at => at)), '{0.5,0.95}') FROM calls{L} GROUP BY model ORDER BY 1"

# --- a catalog table distributed by a column: refused --------------------
# (an extension's table cannot be undistributed, so in a second database:
# created on every node, with Citus, its coordinator adding the workers)
for n in 0 1 2; do
	citus_psql "$n" -c 'CREATE DATABASE second' postgres 2>/dev/null
	citus_psql "$n" -c 'CREATE EXTENSION citus' second
done
citus_psql 0 -At -c "SELECT citus_set_coordinator_host('127.0.0.1', ${CITUS_PORTS[0]})" \
	-c "SELECT citus_add_node('127.0.0.1', ${CITUS_PORTS[1]})" -c "SELECT citus_add_node('127.0.0.1', ${CITUS_PORTS[2]})" \
	-c 'CREATE EXTENSION tokacct' -c 'SET citus.enable_unsafe_triggers = on' \
	-c "SELECT create_distributed_table('tokacct.price_discount', 'customer')" second >/dev/null 2>&1
second_error() {
	local name=$1 sql=$2 out p
	shift 2
	if out=$(citus_psql 0 -At -v VERBOSITY=verbose -c "$sql" second 2>&1); then
		flunk "$name (no error; got $out)"
		return
	fi
	for p in "$@"; do
		grep -qF -- "$p" <<<"$out" || { flunk "$name (error lacks \"$p\": $out)"; return; }
	done
	pass "$name"
}
second_error "distribute with a hash-distributed catalog table: refused" \
	"SELECT tokacct.citus_distribute_catalog()" "55000" "already a Citus table, but not a reference table" "recreate the extension"
second_error "cost() with a hash-distributed catalog table: error with hint" \
	"SELECT tokacct.cost('tp', 'tp-a', 1, 1)" "55000" "price_discount is distributed but not a reference table" "recreate the extension"

citus_cluster_stop
trap - EXIT
exit "$fail"
