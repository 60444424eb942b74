#!/usr/bin/env bash
# Waste classification under hostile and huge input: time and memory.
#
#  1. Colliding ids.  120,000 span ids and 60,000 tool argument hashes that
#     all have one value under the first, unkeyed waste_hash (made by
#     inverting it, test/t/waste_collide.py), in a 4-ary tree whose odd
#     spans are tool calls.  That hash made this quadratic: minutes, and no
#     statement_timeout could stop it.  Classified under statement_timeout
#     20s, inside a 60 s harness timeout, it must finish in under 10 s with
#     the values worked out below; a repeated id must be named at its first
#     repeat in row order.  The same again with the tables' probe budget at
#     0 (TOKACCT_WASTE_PROBE_BUDGET, so that they give way to the sorted
#     index at their first collision): the same answers.
#  2. Cancelling.  One statement that classifies a 1,000,000-span trace 12
#     times (12 call sites: loop_min 2 to 13, so none is served from the
#     cache) runs for seconds; statement_timeout 1s must end it with 57014
#     within 1 s of the timeout, pg_cancel_backend from another session with
#     57014 and pg_terminate_backend with 57P01, each within 1 s.
#  3. Memory.  A 300,000-span trace (stored compressed): (waste_summary(s)).*
#     expands to 18 calls; with other call sites (waste_classes,
#     waste_span_classes, waste_spans) beside it, and over 8 traces of 40,000
#     spans, the backend's peak memory (VmHWM) must grow by at most 1.5 times
#     what one waste_summary call on the big trace takes, plus 16 MB, and the
#     18 calls must take at most 3 times one call, plus 0.3 s; so too on the
#     state made in the query (merged), a plain state in memory.  The values
#     must be those of the single call.
#
# WASTE_HOSTILE_PARTS="2 3" runs only the parts named.
source "$(dirname "$0")/../lib.sh"
ensure_build_deps
build_and_stage
PY=/usr/bin/python3
fail=0
ok() { echo "ok $*"; }
notok() { echo "not ok $*"; fail=1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

# psql with a harness timeout (exit status 124 when it fires); stdout and
# stderr as given by the caller
psql_t() {
	local t=$1
	shift
	as_owner env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER=postgres PGAPPNAME="${APPNAME:-psql}" \
		timeout "$t" "$PGBIN/psql" -X -q -v VERBOSITY=verbose "$@"
}

# A backend that ignores cancels only stops with an immediate shutdown.
hard_stop() {
	as_owner "$PGBIN/pg_ctl" -D "$CLUSTER/data" -m immediate -w stop >/dev/null 2>&1 || true
}

PARTS=" ${WASTE_HOSTILE_PARTS:-1 2 3} "
part() { [[ "$PARTS" == *" $1 "* ]]; }

WORK=$(mktemp -d)
chmod 755 "$WORK"
if [ "$(id -u)" -eq 0 ]; then chown postgres: "$WORK"; fi
trap 'rm -rf "$WORK"' EXIT
# a throwaway cluster (cluster_start's trap stops it; this one also removes WORK)
start() {
	suite_start "$@"
	trap 'cluster_stop; rm -rf "$WORK"' EXIT
}

# ---------------------------------------------------------------------------
# 1. Colliding ids
if part 1; then
$PY "$TOP/test/t/waste_collide.py" 180000 20260301 > "$WORK/ids.hex"
[ "$(sort -u "$WORK/ids.hex" | wc -l)" = 180000 ] && ok "180000 distinct ids colliding under the unkeyed hash" ||
	notok "the generator repeated ids"
# k, span id, argument hash (tool calls: odd k)
awk 'NR <= 120000 { id[NR - 1] = $1 } NR > 120000 { arg[NR - 120001] = $1 }
	END { for (k = 0; k < 120000; k++) print k "\t" id[k] "\t" (k % 2 ? arg[(k - 1) / 2] : "\\N") }' \
	"$WORK/ids.hex" > "$WORK/spans.tsv"
chmod 644 "$WORK"/*

# Worked out by hand: spans 0..119999, span k's parent is (k - 1) / 4, so
# one root and no orphan; spans 0..29999 have children (4k + 1 <= 119999),
# so 90,000 are leaves.  Every span costs 1 and succeeds; the tool calls'
# argument hashes all differ and the other spans' are NULL, so there is no
# loop and no duplicate: every span is essential.  Rule leaf: total 90000;
# rule self: 120000.
WANT_LEAF='leaf|120000|1|0|0|90000|90000|0|0|0|0|0|0'
WANT_SELF='self|120000|1|0|0|120000|120000|0|0|0|0|0|0'
WANT_CLASSES='essential|120000'

collide_run() {
	local label=$1
	start
	psql_run <<SQL
CREATE TABLE hostile_rows (k int, id text, args text);
\copy hostile_rows FROM '$WORK/spans.tsv'
CREATE TABLE hostile AS
SELECT tokacct.waste_agg(convert_from(decode(r.id, 'hex'), 'UTF8'),
                         convert_from(decode(p.id, 'hex'), 'UTF8'),
                         CASE WHEN r.k % 2 = 1 THEN 'tool' ELSE 'llm' END,
                         CASE WHEN r.k % 2 = 1 THEN 'lookup' ELSE 'step' END,
                         convert_from(decode(r.args, 'hex'), 'UTF8'), 'ok', 1,
                         '2026-03-01'::timestamptz + r.k * interval '1 ms') AS st
  FROM hostile_rows r LEFT JOIN hostile_rows p ON p.k = (r.k - 1) / 4 AND r.k > 0;
SQL
	local t0 t1 rc out
	t0=$(now)
	out=$(psql_t 60 -At -F'|' -c "SET statement_timeout = '20s'" -c "
		SELECT s.cost_rule, s.spans, s.roots, s.orphans, s.null_costs, s.total, s.essential,
		       s.error_call, s.failed_attempt, s.abandoned_branch, s.stuck_loop,
		       s.duplicate_tool_call, s.waste
		  FROM hostile h, LATERAL (VALUES ('leaf'), ('self')) r(rule),
		       LATERAL tokacct.waste_summary(h.st, r.rule) s ORDER BY 1" \
		-c "SELECT g.class, count(*) FROM hostile h, tokacct.waste_span_classes(h.st) g GROUP BY 1" 2>&1) &&
		rc=0 || rc=$?
	t1=$(now)
	local secs
	secs=$(elapsed "$t0" "$t1")
	if [ $rc -eq 124 ]; then
		notok "$label: colliding ids classified before the harness timeout (still running after 60 s, ignoring statement_timeout 20s)"
		hard_stop
		exit 1
	fi
	if [ "$out" = "$WANT_LEAF"$'\n'"$WANT_SELF"$'\n'"$WANT_CLASSES" ]; then
		ok "$label: 120,000 colliding span ids and 60,000 colliding tool keys classified as worked out"
	else
		notok "$label: colliding ids classified wrongly: $out"
	fi
	if lt "$secs" 10; then
		ok "$label: colliding ids classified twice and listed in ${secs}s (under 10 s)"
	else
		notok "$label: colliding ids took ${secs}s (10 s allowed)"
	fi
	# a repeated id is named as the table names it: the first span, in row
	# order, whose id an earlier span has (row 40000 repeats row 30000,
	# row 45000 row 10)
	out=$(psql_t 60 -At -c "SELECT tokacct.waste_summary(tokacct.waste_agg(id, NULL, 'llm', 'm', NULL, 'ok', 1,
			'2026-03-01'::timestamptz + i * interval '1 ms' ORDER BY i))
		FROM (SELECT i, CASE i WHEN 40000 THEN 'x30000' WHEN 45000 THEN 'x10' ELSE 'x' || i END AS id
		        FROM generate_series(1, 50000) i) d" 2>&1) && rc=0 || rc=$?
	if grep -q 'duplicate span id "x30000" in trace' <<<"$out"; then
		ok "$label: a repeated id is named at its first repeat in row order"
	else
		notok "$label: repeated ids: $out"
	fi
	cluster_stop
}

collide_run "default budget"
TOKACCT_WASTE_PROBE_BUDGET=0 collide_run "probe budget 0"
fi

# ---------------------------------------------------------------------------
# 2. Cancelling a long classification
if part 2; then
start
psql_run <<'SQL'
CREATE TABLE long_trace (st tokacct.waste_state);
-- stored as is (not compressed): fetching it is quick, the time is classifying
ALTER TABLE long_trace ALTER st SET STORAGE EXTERNAL;
INSERT INTO long_trace
SELECT tokacct.waste_agg(lpad(to_hex(s), 16, '0'),
                         CASE WHEN s > 1 THEN lpad(to_hex(s / 4), 16, '0') END,
                         CASE WHEN s % 3 = 0 THEN 'tool' ELSE 'llm' END,
                         CASE WHEN s % 3 = 0 THEN 'tool_' || (s % 5) ELSE 'model_call' END,
                         CASE WHEN s % 3 = 0 THEN 'args_' || (s % 13) ELSE md5(s::text) END,
                         CASE WHEN s % 37 = 0 THEN 'error' ELSE 'ok' END, 0.000013,
                         '2026-03-01'::timestamptz + s * interval '1 ms')
  FROM generate_series(1, 1000000) s;
SQL
# The state is read into a variable once, so that nothing but the
# classifications runs between the timeout and the end of the statement.
LONGQ="DO \$\$ DECLARE s tokacct.waste_state; w numeric; BEGIN
	SELECT st INTO s FROM long_trace;
	w := $(for m in $(seq 2 13); do printf '(tokacct.waste_summary(s, %s, %d)).waste + ' "'leaf'" "$m"; done) 0;
	RAISE NOTICE 'waste %', w;
END \$\$"

# statement_timeout
t0=$(now)
out=$(psql_t 120 -At -c "SET statement_timeout = '1s'" -c "$LONGQ" 2>&1) && rc=0 || rc=$?
t1=$(now)
secs=$(elapsed "$t0" "$t1")
[ $rc -eq 124 ] && { notok "statement_timeout: the statement ran on for 120 s"; hard_stop; exit 1; }
if grep -q '57014: canceling statement due to statement timeout' <<<"$out" && lt "$secs" 2; then
	ok "statement_timeout 1s stops 12 classifications of 1,000,000 spans with 57014 after ${secs}s"
else
	notok "statement_timeout 1s: after ${secs}s (2 s allowed): $out"
fi

# pg_cancel_backend and pg_terminate_backend from another session
signal_test() {
	local fn=$1 want=$2 app=waste_$1
	APPNAME=$app psql_t 120 -At -c "$LONGQ" > "$WORK/$app.out" 2>&1 &
	local bg=$! i active=0
	for i in $(seq 1 100); do
		active=$(psql_run -At -c "SELECT count(*) FROM pg_stat_activity
			WHERE application_name = '$app' AND state = 'active' AND query LIKE '%waste_summary%'")
		[ "$active" = 1 ] && break
		sleep 0.05
	done
	# well into the classifications
	sleep 1
	local t0 t1 secs rc
	t0=$(now)
	psql_run -At -c "SELECT $fn(pid) FROM pg_stat_activity WHERE application_name = '$app'" >/dev/null
	wait $bg && rc=0 || rc=$?
	t1=$(now)
	secs=$(elapsed "$t0" "$t1")
	[ $rc -eq 124 ] && { notok "$fn: the statement ran on for 120 s"; hard_stop; exit 1; }
	if [ "$active" = 1 ] && grep -q "$want" "$WORK/$app.out" && lt "$secs" 1; then
		ok "$fn from another session stops the classification (${want%%:*}) after ${secs}s"
	else
		notok "$fn: after ${secs}s (1 s allowed), active=$active: $(cat "$WORK/$app.out")"
	fi
}
signal_test pg_cancel_backend '57014: canceling statement due to user request'
signal_test pg_terminate_backend '57P01: terminating connection due to administrator command'
cluster_stop
fi

# ---------------------------------------------------------------------------
# 3. Memory and time of many call sites
if part 3; then
start
psql_run <<'SQL'
CREATE FUNCTION span_rows(n int, t int) RETURNS TABLE (span_id text, parent_id text, kind text,
		name text, args_hash text, status text, cost numeric, started_at timestamptz)
	LANGUAGE sql AS $$
	SELECT lpad(to_hex(t * 1000000 + s), 16, '0'),
	       CASE WHEN s > 1 THEN lpad(to_hex(t * 1000000 + s / 4), 16, '0') END,
	       CASE WHEN s % 3 = 0 THEN 'tool' ELSE 'llm' END,
	       CASE WHEN s % 3 = 0 THEN 'tool_' || (s % 5) ELSE 'model_call' END,
	       CASE WHEN s % 3 = 0 THEN 'args_' || (s % 13) ELSE md5(s::text) END,
	       CASE WHEN s % 37 = 0 THEN 'error' ELSE 'ok' END, (s % 97) * 0.000013,
	       '2026-03-01'::timestamptz + s * interval '1 ms'
	  FROM generate_series(1, n) s $$;
CREATE TABLE mem_big AS
SELECT tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at) AS st
  FROM span_rows(300000, 0);
CREATE TABLE mem_many AS
SELECT t, (SELECT tokacct.waste_agg(span_id, parent_id, kind, name, args_hash, status, cost, started_at)
             FROM span_rows(40000, t)) AS st
  FROM generate_series(1, 8) t;
SQL
psql_run -At -c "SELECT 'stored: ' || pg_size_pretty(pg_column_size(st)::bigint) || ' of ' ||
	pg_size_pretty(length(st::text::bytea)::bigint / 2) FROM mem_big" | sed 's/^/# /'

# peak memory growth (kB) and seconds of one query in a fresh session;
# prints "kB seconds" then the query's output
HWM="substring(pg_read_file('/proc/self/status') from 'VmHWM:\\s*(\\d+)')::bigint"
measure() {
	psql_run -At -F'|' <<SQL
SELECT $HWM AS h0, clock_timestamp() AS t0 \gset
\o $WORK/measure.out
$1;
\o
SELECT ($HWM - :h0) || ' ' || round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 3);
SQL
	cat "$WORK/measure.out"
}
one=$(measure "SELECT tokacct.waste_summary(st) FROM mem_big")
all=$(measure "SELECT (tokacct.waste_summary(st)).* FROM mem_big")
mix=$(measure "SELECT (tokacct.waste_summary(st)).*, (tokacct.waste_summary(st, 'self')).total,
	(SELECT count(*) FROM tokacct.waste_classes(st)), (SELECT count(*) FROM tokacct.waste_span_classes(st)),
	(SELECT string_agg(span_id, ',') FROM tokacct.waste_spans(st, 3)) FROM mem_big")
many=$(measure "SELECT t, (tokacct.waste_summary(st)).*, c.* FROM mem_many,
	LATERAL (SELECT count(*) FROM tokacct.waste_span_classes(st)) c ORDER BY t")
# the same state made in the query (merge of the stored one: a plain state in memory)
one_mem=$(measure "SELECT tokacct.waste_summary(st) FROM (SELECT tokacct.merge(st) AS st FROM mem_big) q")
all_mem=$(measure "SELECT (tokacct.waste_summary(st)).* FROM (SELECT tokacct.merge(st) AS st FROM mem_big) q")
read -r g1 s1 <<<"$(head -n 1 <<<"$one")"
read -r g18 s18 <<<"$(head -n 1 <<<"$all")"
read -r gmix smix <<<"$(head -n 1 <<<"$mix")"
read -r gmany smany <<<"$(head -n 1 <<<"$many")"
read -r g1m s1m <<<"$(head -n 1 <<<"$one_mem")"
read -r g18m s18m <<<"$(head -n 1 <<<"$all_mem")"
echo "# peak memory growth: one call ${g1} kB (${s1}s); (waste_summary(s)).* ${g18} kB (${s18}s);" \
	"with other call sites ${gmix} kB (${smix}s); 8 traces of 40,000 spans ${gmany} kB (${smany}s);" \
	"made in the query: one call ${g1m} kB (${s1m}s), 18 calls ${g18m} kB (${s18m}s)"
limit=$((g1 * 3 / 2 + 16384))
for x in "18 calls:$g18" "other call sites:$gmix" "8 traces:$gmany" "18 calls on a state made in the query:$g18m"; do
	if [ "${x#*:}" -le "$limit" ]; then
		ok "peak memory of ${x%%:*} (${x#*:} kB) within 1.5 times one call (${g1} kB) + 16 MB"
	else
		notok "peak memory of ${x%%:*} is ${x#*:} kB, over ${limit} kB (1.5 times one call, ${g1} kB, + 16 MB)"
	fi
done
for x in "stored:$s18:$s1" "made in the query:$s18m:$s1m"; do
	IFS=: read -r what t18 t1 <<<"$x"
	if lt "$t18" "$(awk -v a="$t1" 'BEGIN { print 3 * a + 0.3 }')"; then
		ok "(waste_summary(s)).* ($what) takes ${t18}s, within 3 times one call (${t1}s) + 0.3 s"
	else
		notok "(waste_summary(s)).* ($what) takes ${t18}s, over 3 times one call (${t1}s) + 0.3 s"
	fi
done
# the 18 columns are those of the single call (its record, unpacked)
single=$(sed -n 2p <<<"$one" | tr -d '()' | tr ',' '|')
if [ "$(sed -n 2p <<<"$all")" = "$single" ] && [ "$(sed -n 2p <<<"$mix" | cut -d'|' -f1-18)" = "$single" ] &&
	[ "$(sed -n 2p <<<"$all_mem")" = "$single" ] && [ "$(sed -n 2p <<<"$one_mem")" = "$(sed -n 2p <<<"$one")" ]; then
	ok "the 18 calls answer what the single call does"
else
	notok "the 18 calls differ from the single call: $single vs $(sed -n 2p <<<"$all")"
fi
fi
exit $fail
