#!/usr/bin/env bash
# A randomized differential test of the incremental rollups of an attached
# OpenTelemetry source: after every round of random operations and a
# refresh, each of the four parts of the rollup (calls, retry economics,
# waste by class, context growth) must equal the same aggregate taken
# directly over the source's views, row for row, money exactly
# (test/t/rollup_source_random.sql holds the comparisons, those of
# sql/rollup_source.sql).
#
#   SEED=n ROUNDS=n bash test/t/rollup_source_random.sh
#
# The source: a span table without a unique key (the views collapse
# repeated span ids), 300 traces to begin with (items of 1 to 3 traces,
# some sharing a conversation, calls of three priced models and one not,
# tool calls).  test/t/rollup_source_random.py writes, from the seed, each
# round's operations: new traces; late calls, error calls and tool calls
# repeating earlier arguments in old traces (some before the trace's start:
# its day moves); children whose root arrives rounds later; updates of a
# span's model, tokens, status, start time, conversation, of a root's
# workflow or item; a span id repeated (same or other content, or given
# to another trace of the item: its run cannot be classified); calls
# without a trace id, with an infinite or NULL start time; spans deleted
# or moved to another trace.  Several in a transaction, some in a savepoint
# rolled back, some transactions rolled back whole, some left open across
# the refresh (a second session, committed or rolled back after the
# comparison).  The source is tracked (rollup_source_track) a third of the
# way through.  A deleted row leaves nothing to see, so after a delete the
# rollup is compared only once a row of each trace concerned was written
# again (which the generator does now and then) or after a rebuild, as
# documented in sql/install/72_rollup_source.sql.
#
# A mismatch prints the round, its operations and the first differing rows.
source "$(dirname "$0")/../lib.sh"
ensure_readable_tree "$@"
SEED=${SEED:-20261201}
ROUNDS=${ROUNDS:-40}
suite_start "autovacuum = off"
fail=0
echo "# seed $SEED, $ROUNDS rounds (SEED=$SEED ROUNDS=$ROUNDS bash $0 reproduces)"

dir=$(scratch_dir random)
python3 "$TOP/test/t/rollup_source_random.py" "$SEED" "$ROUNDS" "$dir"
psql_run -o /dev/null < "$TOP/test/t/rollup_source_random.sql"
psql_run -o /dev/null < "$dir/init.sql"
psql_run -o /dev/null -c "SELECT * FROM tokacct.attach_otel('rs', 'rs_spans', options => '{\"item\": \"attr:app.item_id\"}')" \
	-c "CALL tokacct.rollup_source_create('rs')"

compared=0
deferred=0
prev=""
moved=0
refreshes_recomputing=0
open_rounds=0
open_held=0
declare -A seen_ops=()

# compare ROUND: every part against the direct aggregate; sets $totals
compare() {
	local out part missing extra tot bad=0
	out=$(psql_run -At -F'|' -c "SELECT * FROM rs_check('rs')")
	totals=""
	while IFS='|' read -r part missing extra tot; do
		totals+="$part: $tot; "
		if [ "$missing" != 0 ] || [ "$extra" != 0 ]; then
			bad=1
			echo "# round $1: $part differs: $missing rows missing from the rollup, $extra rows too many"
			if [ "$part" != context_exponents ]; then
				psql_run -At -c "SELECT * FROM rs_diff('rs', '$part')" | sed 's/^/#     /'
			fi
			if [ "$part" = context ]; then
				echo "#   by conversation:"
				psql_run -At -c "SELECT * FROM rs_diff_conversations('rs')" | sed 's/^/#     /'
			fi
		fi
	done <<<"$out"
	if [ $bad = 1 ]; then
		echo "# round $1 operations: $(sed -n 's/^ops=//p' "$dir/r$1.meta" 2>/dev/null)"
		echo "# round $1 batch: $dir/r$1.main.sql (open session: $dir/r$1.open.sql)"
		[ -f "$dir/r$1.main.sql" ] && sed 's/^/#   /' "$dir/r$1.open.sql" "$dir/r$1.main.sql" | head -60
		return 1
	fi
	return 0
}

psql_run -c "CALL tokacct.rollup_source_refresh('rs')"
if compare 0; then echo "ok first_refresh_equals_direct"; else echo "not ok first_refresh_equals_direct"; fail=1; fi
echo "# round 0: $totals"
# not vacuous: rows and money in every part
psql_run -At -c "SELECT (SELECT count(*) FROM tokacct.rollup_source_daily WHERE source = 'rs') > 20
	AND (SELECT sum(cost) FROM tokacct.rollup_source_daily WHERE source = 'rs') > 0
	AND (SELECT sum(calls_left_out) FROM tokacct.rollup_source_daily WHERE source = 'rs') > 0
	AND (SELECT sum(items) FROM tokacct.rollup_source_retry WHERE source = 'rs') > 20
	AND (SELECT sum(items_left_out) FROM tokacct.rollup_source_retry WHERE source = 'rs') > 0
	AND (SELECT sum(total) FROM tokacct.rollup_source_waste_daily WHERE source = 'rs') > 0
	AND (SELECT sum(duplicate_tool_call) + sum(failed_attempt) FROM tokacct.rollup_source_waste_daily WHERE source = 'rs') > 0
	AND (SELECT sum(carried_input) FROM tokacct.rollup_source_context_daily WHERE source = 'rs') > 0" |
	grep -qx t && echo "ok rollups_not_empty" || { echo "not ok rollups_not_empty"; fail=1; }
prev=$totals

round_fail=0
for r in $(seq 1 "$ROUNDS"); do
	action=$(sed -n 's/^action=//p' "$dir/r$r.meta")
	track=$(sed -n 's/^track=//p' "$dir/r$r.meta")
	cmp=$(sed -n 's/^compare=//p' "$dir/r$r.meta")
	for o in $(sed -n 's/^ops=//p' "$dir/r$r.meta"); do seen_ops[${o#open:}]=1; done
	bg=""
	if [ -s "$dir/r$r.open.sql" ]; then
		# a transaction left open across the refresh: a second session
		# reading its statements from a pipe
		rm -f "$dir/fifo"
		mkfifo "$dir/fifo"
		[ "$(id -u)" -eq 0 ] && chown postgres: "$dir/fifo"
		psql_run < "$dir/fifo" > "$dir/open.log" 2>&1 &
		bg=$!
		exec 3>"$dir/fifo"
		cat "$dir/r$r.open.sql" >&3
		open_rounds=$((open_rounds + 1))
		for _ in $(seq 1 200); do
			if [ "$(psql_run -At -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'rs_open'
				AND state = 'idle in transaction' AND backend_xid IS NOT NULL AND query LIKE '%rs-open-ready%'")" = 1 ]; then
				open_held=$((open_held + 1))
				break
			fi
			sleep 0.05
		done
	fi
	# RS_DEBUG_ROUND=n RS_DEBUG_SQL='...': that query's answers printed
	# before round n's batch and after its refresh (to chase a mismatch)
	[ "${RS_DEBUG_ROUND:-}" = "$r" ] && psql_run -c "$RS_DEBUG_SQL" | sed 's/^/# before: /'
	if ! psql_run -o /dev/null < "$dir/r$r.main.sql"; then
		echo "not ok round $r: the batch failed"; fail=1; round_fail=1
	fi
	if [ "$track" = 1 ]; then
		psql_run -c "CALL tokacct.rollup_source_track('rs')"
		echo "# round $r: source tracked"
	fi
	if [ "$action" = rebuild ]; then
		psql_run -c "CALL tokacct.rollup_source_rebuild('rs')"
	else
		psql_run -c "CALL tokacct.rollup_source_refresh('rs')"
	fi
	n=$(psql_run -At -c "SELECT last_traces FROM tokacct.rollup_source WHERE source = 'rs'")
	[ "${RS_DEBUG_ROUND:-}" = "$r" ] && psql_run -c "$RS_DEBUG_SQL" | sed 's/^/# after: /'
	[ "$action" = refresh ] && [ "$n" -gt 0 ] && refreshes_recomputing=$((refreshes_recomputing + 1))
	if [ "$cmp" = 1 ]; then
		compared=$((compared + 1))
		if ! compare "$r"; then fail=1; round_fail=1; fi
		[ "$totals" != "$prev" ] && moved=$((moved + 1))
		prev=$totals
	else
		deferred=$((deferred + 1))
	fi
	if [ -n "$bg" ]; then
		cat "$dir/r$r.openend.sql" >&3
		exec 3>&-
		if ! wait "$bg" || grep -q ERROR "$dir/open.log"; then
			echo "not ok round $r: the open transaction failed"; cat "$dir/open.log"; fail=1; round_fail=1
		fi
	fi
	echo "# round $r: $action ($n traces), $( [ "$cmp" = 1 ] && echo compared || echo 'not compared: deletes not seen yet'); $(sed -n 's/^ops=//p' "$dir/r$r.meta" | wc -w) operations"
done

# last: a refresh and a rebuild, both compared
psql_run -c "CALL tokacct.rollup_source_refresh('rs')"
psql_run -c "CALL tokacct.rollup_source_rebuild('rs')"
if compare final; then echo "ok final_rebuild_equals_direct"; else echo "not ok final_rebuild_equals_direct"; fail=1; fi
echo "# final: $totals"

if [ $round_fail = 0 ]; then
	echo "ok every_compared_round_equals_direct ($compared rounds compared, $deferred deferred)"
else
	echo "not ok every_compared_round_equals_direct"
fi
# the transactions left open were open, with writes, during their refresh
if [ "$open_rounds" -gt 0 ] && [ "$open_held" = "$open_rounds" ]; then
	echo "ok open_transactions_held ($open_held rounds with a transaction open across the refresh)"
else
	echo "not ok open_transactions_held ($open_held of $open_rounds)"; fail=1
fi
# not vacuous: most rounds compared, the totals moved, refreshes recomputed
# traces, the source was tracked
echo "# operations seen: $(printf '%s\n' "${!seen_ops[@]}" | sort | tr '\n' ' ')"
missing_ops=""
for o in new_trace late_call late_duplicate_tool update_item update_workflow update_model span_without_trace_id \
	delete_span children_before_root commit; do
	[ -n "${seen_ops[$o]:-}" ] || missing_ops+=" $o"
done
if [ -z "$missing_ops" ]; then echo "ok operations_mixed"; else echo "not ok operations_mixed (never:$missing_ops)"; fail=1; fi
if [ "$compared" -ge $((ROUNDS * 2 / 3)) ] && [ "$moved" -ge $((compared / 2)) ] && [ "$refreshes_recomputing" -ge $((ROUNDS / 2)) ] \
	&& [ "$(psql_run -At -c "SELECT tracked_xmax IS NOT NULL FROM tokacct.rollup_source WHERE source = 'rs'")" = t ]; then
	echo "ok rounds_not_vacuous ($compared compared, totals moved in $moved, $refreshes_recomputing refreshes recomputed traces)"
else
	echo "not ok rounds_not_vacuous ($compared compared, totals moved in $moved, $refreshes_recomputing refreshes recomputed traces)"
	fail=1
fi
exit $fail
