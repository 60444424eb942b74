#!/usr/bin/env bash
# A refresh that dies mid-run loses nothing and counts nothing twice:
# killed by pg_terminate_backend, and in a server crash (immediate
# shutdown), each while it holds its results uncommitted.  A test hook (a
# statement trigger on the rollup table that sleeps, created here, not by
# the extension) holds the refresh after it has written its rows.  After
# each death the rollup and its progress are as before the refresh; a rerun
# counts the new rows once.  The expected sums are worked out by hand:
# calls 1..1000 cost i/1000 (sum 500.5), calls 1001..1500 cost i/1000 (sum
# 625.25).  Then the same for the rollup of an attached source.
source "$(dirname "$0")/../lib.sh"
ensure_readable_tree "$@"
suite_start
fail=0

check() { # name, query, expected
	local got
	got=$(psql_run -At -c "$2")
	if [ "$got" = "$3" ]; then echo "ok $1"; else echo "not ok $1: got '$got', expected '$3'"; fail=1; fi
}

insert() { # first, last
	psql_run -c "INSERT INTO tokacct.price_call (at, model, input_tokens, output_tokens, reported_cost, team)
		SELECT '2026-01-01 00:00+00'::timestamptz + i * interval '1 hour', 'crash-1', 10, 1, i / 1000.0, 'a'
		FROM generate_series($1, $2) i"
}

state="SELECT sum(calls) || ' ' || sum(cost) || ' ' || (SELECT runs || ' ' || rows_counted FROM tokacct.rollup_progress) FROM tokacct.rollup_daily"

insert 1 1000
psql_run -c 'CALL tokacct.rollup_refresh()'
check first_refresh "$state" "1000 500.500 1 1000"
insert 1001 1500

hook() {
	psql_run <<'SQL'
CREATE FUNCTION public.rollup_test_hold() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN PERFORM pg_sleep(300); RETURN NULL; END $$;
CREATE TRIGGER rollup_test_hold AFTER INSERT OR UPDATE ON tokacct.rollup_daily
	FOR EACH STATEMENT EXECUTE FUNCTION public.rollup_test_hold();
SQL
}
unhook() {
	psql_run -c 'DROP TRIGGER rollup_test_hold ON tokacct.rollup_daily' -c 'DROP FUNCTION public.rollup_test_hold()'
}

# Start a refresh in the background and wait until it sleeps in the hook,
# its rows written but not committed.
start_held_refresh() {
	psql_run -c 'CALL tokacct.rollup_refresh()' > "$CLUSTER/held.log" 2>&1 &
	held=$!
	for _ in $(seq 1 100); do
		pid=$(psql_run -At -c "SELECT pid FROM pg_stat_activity
			WHERE query LIKE 'CALL tokacct.rollup_refresh%' AND wait_event = 'PgSleep'")
		[ -n "$pid" ] && return 0
		sleep 0.1
	done
	echo "not ok the refresh never reached the hook"; exit 1
}

# 1. Killed by pg_terminate_backend.
hook
start_held_refresh
check held_refresh_wrote_rows "SELECT backend_xid IS NOT NULL
	AND EXISTS (SELECT FROM pg_locks WHERE pid = $pid AND relation = 'tokacct.rollup_daily'::regclass
		AND mode = 'RowExclusiveLock') FROM pg_stat_activity WHERE pid = $pid" "t"
psql_run -At -c "SELECT pg_terminate_backend($pid)" >/dev/null
wait "$held" || true
if grep -q 'terminating connection' "$CLUSTER/held.log"; then echo "ok killed_refresh_failed"; else echo "not ok killed_refresh_failed"; cat "$CLUSTER/held.log"; fail=1; fi
check killed_nothing_counted "$state" "1000 500.500 1 1000"

# 2. The server crashes (immediate shutdown: no clean abort) mid-refresh.
start_held_refresh
as_owner "$PGBIN/pg_ctl" -D "$CLUSTER/data" -m immediate -w stop >/dev/null
wait "$held" || true
as_owner "$PGBIN/pg_ctl" -D "$CLUSTER/data" -l "$CLUSTER/log" -w start >/dev/null
check crashed_nothing_counted "$state" "1000 500.500 1 1000"

# 3. The rerun counts the 500 new rows once; another run adds nothing.
unhook
psql_run -c 'CALL tokacct.rollup_refresh()'
check rerun_counts_once "$state" "1500 1125.750 2 1500"
psql_run -c 'CALL tokacct.rollup_refresh()'
check rerun_again_nothing "$state" "1500 1125.750 3 1500"
check equals_direct "SELECT (SELECT sum(cost) FROM tokacct.rollup_daily) = sum(cost) FROM tokacct.price_call_cost" "t"

# 4. A refresh killed while waiting for the lock of another: no harm.
hook
start_held_refresh
psql_run -c 'CALL tokacct.rollup_refresh()' > "$CLUSTER/waiting.log" 2>&1 &
waiting=$!
for _ in $(seq 1 100); do
	wpid=$(psql_run -At -c "SELECT pid FROM pg_stat_activity WHERE query LIKE 'CALL tokacct.rollup_refresh%'
		AND wait_event_type = 'Lock'")
	[ -n "$wpid" ] && break
	sleep 0.1
done
if [ -n "$wpid" ]; then echo "ok second_refresh_waits"; else echo "not ok second_refresh_waits"; fail=1; fi
grep -q 'another refresh is running; waiting for it' "$CLUSTER/waiting.log" && echo "ok waiting_notice" || { echo "not ok waiting_notice"; fail=1; }
psql_run -At -c "SELECT pg_terminate_backend($wpid), pg_terminate_backend($pid)" >/dev/null
wait "$held" "$waiting" || true
unhook
check both_killed_nothing_counted "$state" "1500 1125.750 3 1500"

# 5. The rollup of an attached source, killed and crashed the same way.
# 100 traces of one call each reporting i/100 USD (50.5 in all), then a
# late call of 1 USD in each of traces 1 to 50 (100.5, 150 calls).
psql_run <<'SQL'
CREATE TABLE public.crash_spans ("Timestamp" timestamptz, "TraceId" text, "SpanId" text, "ParentSpanId" text,
	"SpanAttributes" jsonb, PRIMARY KEY ("TraceId", "SpanId"));
CREATE FUNCTION public.crash_spans(first int, last int, span text, fixed numeric) RETURNS void LANGUAGE sql AS $$
	INSERT INTO public.crash_spans
	SELECT '2026-01-01 00:00+00'::timestamptz + i * interval '1 hour', 't' || i, span || i, '',
		jsonb_build_object('gen_ai.operation.name', 'chat', 'gen_ai.request.model', 'crash-1',
			'gen_ai.usage.cost.amount', coalesce(fixed, i / 100.0)::text, 'gen_ai.usage.cost.currency', 'USD')
	FROM generate_series(first, last) i $$;
SELECT public.crash_spans(1, 100, 's', NULL);
SELECT count(*) FROM tokacct.attach_otel('crash', 'public.crash_spans');
CALL tokacct.rollup_source_create('crash');
CALL tokacct.rollup_source_refresh('crash');
SELECT public.crash_spans(1, 50, 'late', 1);
CREATE FUNCTION public.rollup_test_hold() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN PERFORM pg_sleep(300); RETURN NULL; END $$;
CREATE TRIGGER rollup_test_hold AFTER INSERT ON tokacct.rollup_source_daily
	FOR EACH STATEMENT EXECUTE FUNCTION public.rollup_test_hold();
SQL
sstate="SELECT sum(calls) || ' ' || sum(cost) || ' ' || (SELECT runs FROM tokacct.rollup_source WHERE source = 'crash')
	|| ' ' || (SELECT sum(calls) FROM tokacct.rollup_source_trace WHERE source = 'crash')
	FROM tokacct.rollup_source_daily WHERE source = 'crash'"
check source_first_refresh "$sstate" "100 50.500000000000 1 100"
start_held_source_refresh() {
	psql_run -c "CALL tokacct.rollup_source_refresh('crash')" > "$CLUSTER/held.log" 2>&1 &
	held=$!
	for _ in $(seq 1 100); do
		pid=$(psql_run -At -c "SELECT pid FROM pg_stat_activity
			WHERE query LIKE 'CALL tokacct.rollup_source_refresh%' AND wait_event = 'PgSleep'")
		[ -n "$pid" ] && return 0
		sleep 0.1
	done
	echo "not ok the source refresh never reached the hook"; exit 1
}
start_held_source_refresh
check source_held_refresh_wrote_rows "SELECT count(*) > 0 FROM pg_locks WHERE pid = $pid
	AND relation = 'tokacct.rollup_source_trace'::regclass AND mode = 'RowExclusiveLock'" "t"
psql_run -At -c "SELECT pg_terminate_backend($pid)" >/dev/null
wait "$held" || true
check source_killed_nothing_counted "$sstate" "100 50.500000000000 1 100"
start_held_source_refresh
as_owner "$PGBIN/pg_ctl" -D "$CLUSTER/data" -m immediate -w stop >/dev/null
wait "$held" || true
as_owner "$PGBIN/pg_ctl" -D "$CLUSTER/data" -l "$CLUSTER/log" -w start >/dev/null
check source_crashed_nothing_counted "$sstate" "100 50.500000000000 1 100"
psql_run -c 'DROP TRIGGER rollup_test_hold ON tokacct.rollup_source_daily' -c 'DROP FUNCTION public.rollup_test_hold()'
psql_run -c "CALL tokacct.rollup_source_refresh('crash')"
check source_rerun_counts_once "$sstate" "150 100.500000000000 2 150"
psql_run -c "CALL tokacct.rollup_source_refresh('crash')"
check source_rerun_again_nothing "$sstate" "150 100.500000000000 3 150"
check source_equals_view "SELECT (SELECT sum(cost) FROM tokacct.rollup_source_daily WHERE source = 'crash') = sum(cost)
	FROM crash.calls" "t"
exit $fail
