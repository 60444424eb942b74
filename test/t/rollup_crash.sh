#!/usr/bin/env bash
# A refresh that dies mid-run loses nothing and counts nothing twice:
# killed by pg_terminate_backend, and in a server crash (immediate
# shutdown), each while it holds its results uncommitted.  A test hook (a
# statement trigger on the rollup table that sleeps, created here, not by
# the extension) holds the refresh after it has written its rows.  After
# each death the rollup and its progress are as before the refresh; a rerun
# counts the new rows once.  The expected sums are worked out by hand:
# calls 1..1000 cost i/1000 (sum 500.5), calls 1001..1500 cost i/1000 (sum
# 625.25).
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
		AND wait_event_type = 'Lock' AND wait_event = 'advisory'")
	[ -n "$wpid" ] && break
	sleep 0.1
done
if [ -n "$wpid" ]; then echo "ok second_refresh_waits"; else echo "not ok second_refresh_waits"; fail=1; fi
grep -q 'another refresh is running; waiting for it' "$CLUSTER/waiting.log" && echo "ok waiting_notice" || { echo "not ok waiting_notice"; fail=1; }
psql_run -At -c "SELECT pg_terminate_backend($wpid), pg_terminate_backend($pid)" >/dev/null
wait "$held" "$waiting" || true
unhook
check both_killed_nothing_counted "$state" "1500 1125.750 3 1500"
exit $fail
